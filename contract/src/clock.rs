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

/// `DD Mon YYYY HH:MM AM` (the conversation-history form, A4).
const HISTORY: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[day] [month repr:short] [year] [hour repr:12]:[minute] [period]"
);

/// An eventdata timestamp as an instant: seconds since the Unix epoch if
/// its wall-clock text were UTC (`local` says whether it is a local time,
/// to be shifted by the page's offset), and the form's resolution in
/// seconds. Any of the three forms of A4; `None` for anything else.
pub fn parse_eventdata(value: &serde_json::Value) -> Option<EventdataInstant> {
    if let Some(n) = value.as_i64() {
        return Some(EventdataInstant {
            secs: n,
            resolution: 1,
            local: false,
        });
    }
    let text = value.as_str()?;
    if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(EventdataInstant {
            secs: text.parse().ok()?,
            resolution: 1,
            local: false,
        });
    }
    if let Ok(t) = time::PrimitiveDateTime::parse(text, EVENTDATA) {
        return Some(EventdataInstant {
            secs: t.assume_utc().unix_timestamp(),
            resolution: 1,
            local: true,
        });
    }
    let t = time::PrimitiveDateTime::parse(text, HISTORY).ok()?;
    Some(EventdataInstant {
        secs: t.assume_utc().unix_timestamp(),
        resolution: 60,
        local: true,
    })
}

/// An eventdata timestamp, read (see [`parse_eventdata`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventdataInstant {
    /// Seconds since the epoch, the wall-clock text taken as UTC.
    pub secs: i64,
    /// What one step of the form is worth, in seconds.
    pub resolution: i64,
    /// Whether the text is a local time.
    pub local: bool,
}

impl EventdataInstant {
    /// Unix milliseconds of the start of the instant's step, given the
    /// page's offset (JavaScript `getTimezoneOffset`: minutes behind UTC).
    pub fn unix_ms(self, tz_offset_min: i64) -> i64 {
        let shift = if self.local { tz_offset_min * 60 } else { 0 };
        (self.secs + shift) * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_eventdata_forms_read_as_instants() {
        use serde_json::json;
        let local = parse_eventdata(&json!("2025-08-21 11:52:49")).unwrap();
        assert_eq!(
            (local.secs, local.resolution, local.local),
            (1_755_777_169, 1, true)
        );
        // A page at UTC+05:30 (offset -330) wrote 11:52:49: 06:22:49 UTC.
        assert_eq!(local.unix_ms(-330), (1_755_777_169 - 330 * 60) * 1000);
        let history = parse_eventdata(&json!("05 Aug 2024 07:35 PM")).unwrap();
        assert_eq!(history.resolution, 60);
        assert_eq!(
            eventdata_form(u64::try_from(history.secs).unwrap()),
            "2024-08-05 19:35:00"
        );
        assert_eq!(
            parse_eventdata(&json!(1_722_880_500))
                .unwrap()
                .unix_ms(-330),
            1_722_880_500_000
        );
        assert_eq!(
            parse_eventdata(&json!("1722880500")).unwrap().secs,
            1_722_880_500
        );
        for bad in [
            json!("2025-13-01 00:00:00"),
            json!("2025-08-21T11:52:49Z"),
            json!(null),
            json!(""),
        ] {
            assert_eq!(parse_eventdata(&bad), None, "{bad}");
        }
    }

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
