//! Timestamp forms fixed by the contract.
//!
//! eventdata uses local wall-clock time `YYYY-MM-DD HH:MM:SS` (the form of the
//! spec's event examples); wire frames use RFC 3339 UTC. Both are produced
//! here so the mock and tests agree on them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current UTC time as RFC 3339 with seconds precision, for the `ts` field of frames.
pub fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// The same as [`rfc3339_now`], shared: the text changes once a second, so
/// each thread formats it once per second and hands out clones of one
/// allocation (the mock stamps every frame it sends and records).
pub fn rfc3339_now_shared() -> std::sync::Arc<str> {
    use std::cell::RefCell;
    use std::sync::Arc;
    thread_local! {
        static LAST: RefCell<(u64, Arc<str>)> = RefCell::new((u64::MAX, Arc::from("")));
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            *last = (secs, Arc::from(rfc3339(secs)));
        }
        last.1.clone()
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
const RFC3339: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
/// `YYYY-MM-DD HH:MM:SS`.
const EVENTDATA: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// Formats seconds since the Unix epoch in UTC. The calendar is the `time`
/// crate's: the mock formats the time once a second (see
/// [`rfc3339_now_shared`]), so its cost does not matter and a maintained
/// calendar beats hand-written arithmetic.
fn format(secs: u64, form: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    /// 9999-12-31 23:59:59 UTC, the last second both forms can write.
    const LAST: i64 = 253_402_300_799;
    let secs = i64::try_from(secs).unwrap_or(LAST).min(LAST);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(form).ok())
        .unwrap_or_default()
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    format(secs, RFC3339)
}

/// Seconds since the Unix epoch of a `YYYY-MM-DDTHH:MM:SSZ` time (a
/// report's `started_at`), or `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let t = time::PrimitiveDateTime::parse(text, RFC3339).ok()?;
    u64::try_from(t.assume_utc().unix_timestamp()).ok()
}

/// Formats seconds since the Unix epoch in the eventdata form, `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn eventdata_form(secs: u64) -> String {
    format(secs, EVENTDATA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(parse_rfc3339("2024-02-29T12:34:56Z"), Some(1_709_210_096));
        assert_eq!(parse_rfc3339("2024-02-29 12:34:56"), None);
        assert_eq!(eventdata_form(1_755_777_169), "2025-08-21 11:52:49");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
    }
}
