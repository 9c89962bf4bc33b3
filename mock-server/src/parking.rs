//! Conversations whose channel dropped, kept for a grace period so the
//! widget can resume its session over a new channel. Kept apart from the
//! sessions: a session does not need to know what a conversation is.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::conversation::Conversation;

/// How long a dropped session waits for the widget to resume it.
pub const RESUME_GRACE: Duration = Duration::from_secs(30);

/// Parked conversations by session id.
#[derive(Debug, Default)]
pub struct Parking {
    parked: Mutex<HashMap<String, (Conversation, Instant)>>,
}

impl Parking {
    /// Keeps a dropped channel's conversation for [`RESUME_GRACE`].
    pub fn park(&self, session: &str, conversation: Conversation) {
        if let Ok(mut p) = self.parked.lock() {
            p.insert(
                session.to_owned(),
                (conversation, Instant::now() + RESUME_GRACE),
            );
        }
    }

    /// Forgets a session's parked conversation once its grace period is
    /// over, so a session nobody resumes does not keep its state for the
    /// server's life.
    pub fn expire(&self, session: &str) {
        if let Ok(mut p) = self.parked.lock() {
            if p.get(session)
                .is_some_and(|(_, until)| Instant::now() >= *until)
            {
                p.remove(session);
            }
        }
    }

    /// Takes a session's parked conversation back, unless its grace period is over.
    pub fn unpark(&self, session: &str) -> Option<Conversation> {
        let (conversation, until) = self.parked.lock().ok()?.remove(session)?;
        (Instant::now() < until).then_some(conversation)
    }
}
