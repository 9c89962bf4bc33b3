//! Contract rules over the whole trace, written once for every case and
//! every recorded trace. Each rule is a small state machine fed the trace's
//! records one at a time, in the probe's one order ([`Seen`]): a case's
//! trace is fed from memory, a recorded console log of any size straight
//! from the file (`check-trace`), so both share every rule and a long log
//! needs no more memory than its longest session.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{CheckContext, event_key};
use crate::report::Failure;
use crate::trace::{CaseTrace, MediaCapture, order};

/// Failures one rule reports at most; beyond it, one more says how many.
pub const FAILURES_KEPT: usize = 100;

/// One record of a trace, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// An eventdata the callback received: its place among the events,
    /// and its line when it came from a file.
    Event {
        /// Index among the trace's events.
        index: usize,
        /// Line of the file it was read from.
        line: Option<u64>,
        /// The eventdata.
        event: &'a Value,
    },
    /// An SDK call the runner made (by method name).
    Call(&'a str),
    /// Said first of a trace that holds no SDK calls (a recorded console
    /// log): the rules that need calls judge what the events alone show
    /// (a session/initialized begins a new session; consent is unknown,
    /// so it is not held against a start).
    CallsNotRecorded,
    /// A getUserMedia or getDisplayMedia call.
    Capture(&'a MediaCapture),
    /// A WebSocket the page opened (its URL).
    Socket(&'a str),
    /// A request the page made (its URL).
    Request(&'a str),
}

/// How a message names an event: its index, and its line when known.
pub fn name(index: usize, line: Option<u64>) -> String {
    match line {
        Some(l) => format!("line {l}: event {index}"),
        None => format!("event {index}"),
    }
}

/// One rule's state as the trace goes by.
trait RuleState {
    /// Looks at one record; problems go to `out`.
    fn see(&mut self, seen: &Seen<'_>, ctx: &CheckContext<'_>, out: &mut Vec<String>);
}

/// One rule: a stable id and a fresh state for a trace.
struct Rule {
    id: &'static str,
    new: fn() -> Box<dyn RuleState>,
}

fn boxed<S: RuleState + Default + 'static>() -> Box<dyn RuleState> {
    Box::<S>::default()
}

const RULES: &[Rule] = &[
    Rule {
        id: "unique-messageid",
        new: boxed::<UniqueMessageid>,
    },
    Rule {
        id: "nothing-after-ended",
        new: boxed::<NothingAfterEnded>,
    },
    Rule {
        id: "no-keys-in-eventdata",
        new: boxed::<NoKeys>,
    },
    Rule {
        id: "secure-transport",
        new: boxed::<SecureTransport>,
    },
    Rule {
        id: "lifecycle",
        new: boxed::<Lifecycle>,
    },
    Rule {
        id: "ack-order",
        new: boxed::<AckOrder>,
    },
    Rule {
        id: "media-lifecycle",
        new: boxed::<MediaLifecycle>,
    },
    Rule {
        id: "no-media-before-consent",
        new: boxed::<NoMediaBeforeConsent>,
    },
    Rule {
        id: "session-ids",
        new: boxed::<SessionIds>,
    },
];

/// One rule going through a trace: its state and what it found.
struct Running {
    id: &'static str,
    state: Box<dyn RuleState>,
    kept: Vec<String>,
    more: usize,
}

/// Every rule, fed one trace.
pub struct RuleStream {
    rules: Vec<Running>,
}

impl Default for RuleStream {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleStream {
    /// Every rule at the start of a trace.
    pub fn new() -> Self {
        Self {
            rules: RULES
                .iter()
                .map(|r| Running {
                    id: r.id,
                    state: (r.new)(),
                    kept: Vec::new(),
                    more: 0,
                })
                .collect(),
        }
    }

    /// Feeds one record to every rule.
    pub fn see(&mut self, seen: &Seen<'_>, ctx: &CheckContext<'_>) {
        let mut out = Vec::new();
        for rule in &mut self.rules {
            rule.state.see(seen, ctx, &mut out);
            for message in out.drain(..) {
                if rule.kept.len() < FAILURES_KEPT {
                    rule.kept.push(message);
                } else {
                    rule.more += 1;
                }
            }
        }
    }

    /// The failures, each naming its rule.
    pub fn finish(self) -> Vec<Failure> {
        self.rules
            .into_iter()
            .flat_map(|rule| {
                let more = rule.more;
                let tail = (more > 0).then(|| format!("… and {more} more like these"));
                let id = rule.id;
                rule.kept
                    .into_iter()
                    .chain(tail)
                    .map(move |m| Failure::new(id, m))
            })
            .collect()
    }
}

/// Failures of every rule on a case's trace.
pub fn check(trace: &CaseTrace, ctx: &CheckContext<'_>) -> Vec<Failure> {
    let probe = &trace.probe;
    // The probe's one order; at a tie (records without numbers) calls come
    // last, so a call never consents to what it cannot be shown to precede.
    let mut ordered: Vec<(u64, u8, Seen<'_>)> = Vec::new();
    for (index, e) in probe.events.iter().enumerate() {
        ordered.push((
            order(e.seq),
            0,
            Seen::Event {
                index,
                line: None,
                event: &e.event,
            },
        ));
    }
    for c in &probe.media {
        ordered.push((order(c.seq), 0, Seen::Capture(c)));
    }
    for c in &probe.calls {
        ordered.push((order(c.seq), 1, Seen::Call(c.method())));
    }
    ordered.sort_by_key(|(n, rank, _)| (*n, *rank));
    let mut stream = RuleStream::new();
    for (_, _, seen) in &ordered {
        stream.see(seen, ctx);
    }
    for s in &probe.sockets {
        stream.see(&Seen::Socket(&s.url), ctx);
    }
    for r in &probe.requests {
        stream.see(&Seen::Request(&r.url), ctx);
    }
    stream.finish()
}

fn str_field<'a>(e: &'a Value, k: &str) -> Option<&'a str> {
    e.get(k).and_then(Value::as_str)
}

/// Whether an eventdata is `media/eventtype` (without building the key:
/// every rule asks this of every event of a long log).
fn is_event(e: &Value, media: &str, eventtype: &str) -> bool {
    str_field(e, "media") == Some(media) && str_field(e, "eventtype") == Some(eventtype)
}

/// Whether `secret` occurs in any string or key of `value`.
fn contains_text(value: &Value, secret: &str) -> bool {
    match value {
        Value::String(s) => s.contains(secret),
        Value::Array(items) => items.iter().any(|v| contains_text(v, secret)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(secret) || contains_text(v, secret)),
        _ => false,
    }
}

/// Within a session (from one session/initialized to the next) every
/// systemcallid is the one session/initialized gave: a build that hands
/// the page another session's id, or a stale one, has the right type.
#[derive(Default)]
struct SessionIds {
    current: Option<(String, usize)>,
}

impl RuleState for SessionIds {
    fn see(&mut self, seen: &Seen<'_>, _: &CheckContext<'_>, out: &mut Vec<String>) {
        let Seen::Event { index, line, event } = *seen else {
            return;
        };
        let Some(id) = str_field(event, "systemcallid") else {
            return;
        };
        if is_event(event, "session", "initialized") {
            self.current = Some((id.to_owned(), index));
            return;
        }
        if let Some((given, at)) = &self.current {
            if id != given {
                out.push(format!(
                    "{} ({}/{}): systemcallid is {id:?}, but the session's session/initialized (event {at}) gave {given:?}",
                    name(index, line),
                    str_field(event, "media").unwrap_or("?"),
                    str_field(event, "eventtype").unwrap_or("?"),
                ));
            }
        }
    }
}

/// Every messageid appears once within a session (a session/initialized
/// begins the next one).
#[derive(Default)]
struct UniqueMessageid {
    first_seen: HashMap<String, usize>,
}

impl RuleState for UniqueMessageid {
    fn see(&mut self, seen: &Seen<'_>, _: &CheckContext<'_>, out: &mut Vec<String>) {
        let Seen::Event { index, line, event } = *seen else {
            return;
        };
        if is_event(event, "session", "initialized") {
            self.first_seen.clear();
        }
        if let Some(id) = str_field(event, "messageid") {
            if let Some(first) = self.first_seen.insert(id.to_owned(), index) {
                out.push(format!(
                    "{} ({}) reuses messageid {id:?} of event {first}",
                    name(index, line),
                    event_key(event)
                ));
            }
        }
    }
}

/// After session/ended only sessionEnd events may reach the page, until
/// the page starts a new session with jodosessioninit.
#[derive(Default)]
struct NothingAfterEnded {
    ended: bool,
    calls_unknown: bool,
}

impl RuleState for NothingAfterEnded {
    fn see(&mut self, seen: &Seen<'_>, _: &CheckContext<'_>, out: &mut Vec<String>) {
        match *seen {
            Seen::Call("jodosessioninit") => self.ended = false,
            Seen::CallsNotRecorded => self.calls_unknown = true,
            Seen::Event { event, .. }
                if self.calls_unknown && is_event(event, "session", "initialized") =>
            {
                self.ended = false;
            }
            Seen::Event { index, line, event } => {
                if self.ended && str_field(event, "media") != Some("sessionEnd") {
                    out.push(format!(
                        "{} ({}) came after session/ended",
                        name(index, line),
                        event_key(event)
                    ));
                } else if is_event(event, "session", "ended") {
                    self.ended = true;
                }
            }
            _ => {}
        }
    }
}

/// Neither key appears in any string of any eventdata.
#[derive(Default)]
struct NoKeys;

impl RuleState for NoKeys {
    fn see(&mut self, seen: &Seen<'_>, ctx: &CheckContext<'_>, out: &mut Vec<String>) {
        let Seen::Event { index, line, event } = *seen else {
            return;
        };
        for (n, secret) in ctx.secrets.iter().enumerate() {
            if !secret.is_empty() && contains_text(event, secret) {
                let which = if n == 0 { "akey" } else { "skey" };
                out.push(format!(
                    "{} ({}) contains the {which}",
                    name(index, line),
                    event_key(event)
                ));
            }
        }
    }
}

/// Sockets are wss:// and requests https:// (a relative URL inherits the
/// page's https origin).
#[derive(Default)]
struct SecureTransport;

impl RuleState for SecureTransport {
    fn see(&mut self, seen: &Seen<'_>, _: &CheckContext<'_>, out: &mut Vec<String>) {
        let insecure = |url: &str, secure: &str| {
            url.split_once("://")
                .is_some_and(|(scheme, _)| !scheme.eq_ignore_ascii_case(secure))
        };
        match *seen {
            Seen::Socket(url) if insecure(url, "wss") => {
                out.push(format!(
                    "the widget opened a WebSocket to {url}, not wss://"
                ));
            }
            Seen::Request(url) if insecure(url, "https") => {
                out.push(format!("the widget requested {url}, not https://"));
            }
            _ => {}
        }
    }
}

/// Nothing but session events before session/initialized.
#[derive(Default)]
struct Lifecycle {
    initialized: bool,
}

impl RuleState for Lifecycle {
    fn see(&mut self, seen: &Seen<'_>, _: &CheckContext<'_>, out: &mut Vec<String>) {
        let Seen::Event { index, line, event } = *seen else {
            return;
        };
        if self.initialized {
            return;
        }
        if is_event(event, "session", "initialized") {
            self.initialized = true;
        } else if str_field(event, "media") != Some("session") {
            out.push(format!(
                "{} ({}) came before session/initialized",
                name(index, line),
                event_key(event)
            ));
        }
    }
}

/// Per visitor message: sent, then delivered, then read, matched by the
/// acks' refmessageid to the messagesent's messageid, within a session.
#[derive(Default)]
struct AckOrder {
    sent: HashSet<String>,
    delivered: HashSet<String>,
}

impl RuleState for AckOrder {
    fn see(&mut self, seen: &Seen<'_>, _: &CheckContext<'_>, out: &mut Vec<String>) {
        let Seen::Event { index, line, event } = *seen else {
            return;
        };
        let pair = (str_field(event, "media"), str_field(event, "eventtype"));
        match pair {
            (Some("session"), Some("initialized")) => {
                self.sent.clear();
                self.delivered.clear();
            }
            (Some("chat"), Some("messagesent")) => {
                if let Some(id) = str_field(event, "messageid") {
                    self.sent.insert(id.to_owned());
                }
            }
            (Some("chat"), Some(ack @ ("messagedeliveredack" | "messagereadack"))) => {
                let problem = match str_field(event, "refmessageid") {
                    None => Some("names no refmessageid".to_owned()),
                    Some(r) if !self.sent.contains(r) => Some(format!(
                        "acknowledges {r:?} before any messagesent with that messageid"
                    )),
                    Some(r) if ack == "messagedeliveredack" => {
                        self.delivered.insert(r.to_owned());
                        None
                    }
                    Some(r) if !self.delivered.contains(r) => Some(format!(
                        "reports {r:?} read before it was reported delivered"
                    )),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    out.push(format!("{} (chat/{ack}) {problem}", name(index, line)));
                }
            }
            _ => {}
        }
    }
}

/// The devices the visitor has consented to so far: a call to a method
/// whose catalogue consent covers them.
#[derive(Default)]
struct Consent {
    devices: HashSet<String>,
    unknown: bool,
}

impl Consent {
    fn see(&mut self, seen: &Seen<'_>, ctx: &CheckContext<'_>) {
        match *seen {
            Seen::Call(method) => {
                if let Some(m) = ctx.schemas.catalog().method(method) {
                    self.devices.extend(m.consent.iter().cloned());
                }
            }
            Seen::CallsNotRecorded => self.unknown = true,
            _ => {}
        }
    }

    fn covers(&self, device: &str) -> bool {
        self.unknown || self.devices.contains(device)
    }
}

/// Per media (voice, video, screenshare): answers follow a request, start
/// follows an acceptance or the visitor's own consenting call, mute and
/// unmute happen only while started.
#[derive(Default)]
struct MediaLifecycle {
    consent: Consent,
    /// Per media: requested, may start, started.
    state: [(bool, bool, bool); 3],
}

/// The media the rule follows: name, device, and the type of a
/// livekit/audioRequest that asks for it (201 voice, 206 audio and video).
const MEDIA: [(&str, &str, Option<i64>); 3] = [
    ("voice", "microphone", Some(201)),
    ("video", "camera", Some(206)),
    ("screenshare", "screen", None),
];

impl RuleState for MediaLifecycle {
    fn see(&mut self, seen: &Seen<'_>, ctx: &CheckContext<'_>, out: &mut Vec<String>) {
        self.consent.see(seen, ctx);
        let Seen::Event { index, line, event } = *seen else {
            return;
        };
        let what = || name(index, line);
        for (slot, (media, device, livekit_type)) in MEDIA.iter().enumerate() {
            let (requested, may_start, started) = &mut self.state[slot];
            let is_livekit_request = str_field(event, "media") == Some("livekit")
                && str_field(event, "eventtype") == Some("audioRequest")
                && livekit_type.is_some()
                && event.get("type").and_then(Value::as_i64) == *livekit_type;
            if is_livekit_request {
                *requested = true;
                continue;
            }
            if str_field(event, "media") != Some(media) {
                continue;
            }
            let eventtype = str_field(event, "eventtype").unwrap_or("");
            match eventtype {
                "requestReceived" => *requested = true,
                "accepted" | "rejected" => {
                    if !*requested {
                        out.push(format!(
                            "{} ({media}/{eventtype}) answers no requestReceived",
                            what()
                        ));
                    }
                    *requested = false;
                    *may_start = eventtype == "accepted";
                }
                "initiated" | "answered" | "connecting" => *may_start = true,
                "start" => {
                    if !(*may_start || self.consent.covers(device)) {
                        out.push(format!(
                            "{} ({media}/start) without an acceptance or a consenting call before it",
                            what()
                        ));
                    }
                    *started = true;
                }
                "mute" | "unmute" if !*started => {
                    out.push(format!(
                        "{} ({media}/{eventtype}) outside a started {media}",
                        what()
                    ));
                }
                "End" | "terminate" => {
                    *started = false;
                    *may_start = false;
                }
                _ => {}
            }
        }
    }
}

/// Every capture (getUserMedia, getDisplayMedia) needs, earlier in the
/// probe's order, a call to a method whose catalogue consent covers each
/// device it asks for.
#[derive(Default)]
struct NoMediaBeforeConsent {
    consent: Consent,
}

impl RuleState for NoMediaBeforeConsent {
    fn see(&mut self, seen: &Seen<'_>, ctx: &CheckContext<'_>, out: &mut Vec<String>) {
        self.consent.see(seen, ctx);
        let Seen::Capture(capture) = *seen else {
            return;
        };
        for device in capture.devices() {
            if !self.consent.covers(device) {
                out.push(format!(
                    "{} asked for the {device} at {:.0} ms before any call consenting to it",
                    capture.api, capture.at
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
