//! The trace of one case: what its steps did and what the page probe
//! recorded. It sits at the bottom of the crate so that the checks, the
//! report and any later source of traces (a recorded console log, a
//! report.json) share one model without importing the browser stage.
//!
//! # Order
//! Page times can tie (Firefox clamps `performance.now()` to whole
//! milliseconds), so the probe numbers every event, SDK call and media
//! capture from one counter (`seq`). A record without a number — written
//! by an older probe, or by a tool that does not number — sorts after every
//! numbered record, and two such records are never ordered against each
//! other: see [`order`]. That is the one rule; every check uses it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Step;

/// Version of the probe record format this runner reads; a record from a
/// newer probe is refused instead of being misread.
pub const TRACE_VERSION: u32 = 1;

/// Where a record stands in the probe's one order of events, calls and
/// captures: its number, or after everything numbered when it has none.
pub fn order(seq: Option<u64>) -> u64 {
    seq.unwrap_or(u64::MAX)
}

/// What one step did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step, as written in the case.
    pub step: Step,
    /// What happened.
    pub outcome: StepOutcome,
    /// Time taken, milliseconds.
    pub elapsed_ms: u64,
}

/// Outcome of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StepOutcome {
    /// The call returned a value (`undefined` becomes null).
    Returned {
        /// The value.
        value: Value,
        /// Its JavaScript `typeof`.
        js_type: String,
    },
    /// The call threw.
    Threw {
        /// The exception's message.
        message: String,
    },
    /// The page has no such function.
    Missing {
        /// Explanation.
        message: String,
    },
    /// The awaited event arrived at this trace index.
    Found {
        /// Index into the event trace.
        index: usize,
    },
    /// A live backend decided another allocation outcome than the one
    /// awaited (every agent busy, say): a documented answer, not a fault.
    /// The case stops here; what ran is checked.
    Decided {
        /// Index into the event trace.
        index: usize,
        /// `media/eventtype` of the outcome it decided.
        event: String,
    },
    /// The awaited event did not arrive in time.
    WaitTimedOut {
        /// The limit.
        timeout_ms: u64,
    },
    /// Not run, because an earlier wait failed or the case stopped.
    Skipped,
    /// Started but never finished: the case ran out of time here.
    Unfinished,
    /// The control trigger was fired on the backend.
    Triggered,
    /// The control trigger could not be fired.
    ControlFailed {
        /// Why.
        message: String,
    },
    /// The page action (click, typing, an element shown) was done.
    Acted,
    /// The page action could not be done (no such element, not clickable).
    ActionFailed {
        /// Why.
        message: String,
    },
}

impl StepOutcome {
    /// What the step did, as people read it in reports.
    pub fn describe(&self) -> String {
        match self {
            StepOutcome::Returned { value, js_type } => format!("returned {value} ({js_type})"),
            StepOutcome::Threw { message } => format!("threw: {message}"),
            StepOutcome::Missing { message } => format!("missing: {message}"),
            StepOutcome::Found { index } => format!("event #{index}"),
            StepOutcome::WaitTimedOut { timeout_ms } => format!("not within {timeout_ms} ms"),
            StepOutcome::Decided { index, event } => {
                format!("the backend decided {event} (event {index}); the case stops here")
            }
            StepOutcome::Skipped => "skipped".into(),
            StepOutcome::Unfinished => "never finished".into(),
            StepOutcome::Triggered => "fired".into(),
            StepOutcome::ControlFailed { message } => format!("not fired: {message}"),
            StepOutcome::Acted => "done".into(),
            StepOutcome::ActionFailed { message } => format!("could not: {message}"),
        }
    }
}

/// Everything the probe recorded during a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// Format version the probe wrote ([`TRACE_VERSION`] today).
    #[serde(default = "current_version")]
    pub version: u32,
    /// Every eventdata the callback received, in order.
    #[serde(default)]
    pub events: Vec<ProbeEvent>,
    /// WebSockets the page opened.
    #[serde(default)]
    pub sockets: Vec<SocketOpened>,
    /// fetch/XHR requests.
    #[serde(default)]
    pub requests: Vec<RequestMade>,
    /// getUserMedia/getDisplayMedia calls.
    #[serde(default)]
    pub media: Vec<MediaCapture>,
    /// Uncaught errors in the page.
    #[serde(default)]
    pub errors: Vec<PageError>,
    /// SDK calls the runner made, with page times and order numbers (for
    /// consent checks and for telling where a new session begins).
    #[serde(default)]
    pub calls: Vec<SdkCall>,
    /// Text frames the widget sent on its sockets.
    #[serde(default)]
    pub sent: Vec<SentFrame>,
    /// Exceptions the page's own callback threw, with the event it was given.
    #[serde(default, alias = "callbackErrors")]
    pub callback_errors: Vec<CallbackError>,
    /// What the probe saw of the page itself (its extdata, keys masked).
    #[serde(default)]
    pub page: PageFacts,
}

/// An exception the page's callback threw for one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackError {
    /// Page time (ms since load).
    pub at: f64,
    /// Place in the probe's one order (see [`order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// `media/eventtype` of the event it was handling.
    pub event: String,
    /// The exception's message.
    pub message: String,
}

/// What the probe saw of the page: how it configured the SDK. Keys are
/// masked as the record is read, so no trace holds them in full.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageFacts {
    /// The page's extdata as first seen, `akey` and `skey` masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extdata: Option<Value>,
    /// Place in the probe's order where extdata was assigned.
    #[serde(default, alias = "extdataAt", skip_serializing_if = "Option::is_none")]
    pub extdata_at: Option<u64>,
    /// Place in the probe's order where the SDK defined `jodosessioninit`.
    #[serde(default, alias = "sdkAt", skip_serializing_if = "Option::is_none")]
    pub sdk_at: Option<u64>,
    /// Whether extdata existed when the SDK defined itself.
    #[serde(
        default,
        alias = "extdataBeforeSdk",
        skip_serializing_if = "Option::is_none"
    )]
    pub extdata_before_sdk: Option<bool>,
    /// Whether `jodosessioninit` was a function once the document was parsed.
    #[serde(default, alias = "sdkPresent", skip_serializing_if = "Option::is_none")]
    pub sdk_present: Option<bool>,
}

/// A secret shown the only way the kit shows one: its first and last two
/// characters and its length (`jo…ey (13 chars)`), or just its length when
/// it is too short to show any of it.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n < 8 {
        return format!("… ({n} chars)");
    }
    let head: String = secret.chars().take(2).collect();
    let tail: String = secret.chars().skip(n - 2).collect();
    format!("{head}…{tail} ({n} chars)")
}

impl PageFacts {
    /// Masks the keys of the extdata the probe copied.
    fn mask_keys(&mut self) {
        if let Some(Value::Object(ext)) = &mut self.extdata {
            for key in ["akey", "skey"] {
                if let Some(Value::String(s)) = ext.get_mut(key) {
                    *s = mask(s);
                }
            }
        }
    }
}

fn current_version() -> u32 {
    TRACE_VERSION
}

impl Default for ProbeRecord {
    fn default() -> Self {
        Self {
            version: TRACE_VERSION,
            events: Vec::new(),
            sockets: Vec::new(),
            requests: Vec::new(),
            media: Vec::new(),
            errors: Vec::new(),
            calls: Vec::new(),
            sent: Vec::new(),
            callback_errors: Vec::new(),
            page: PageFacts::default(),
        }
    }
}

/// Why a probe record cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Not the record format.
    #[error("the probe's record is not in the expected format: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by a newer probe than this runner knows.
    #[error(
        "the probe's record has format version {0}, newer than the {TRACE_VERSION} this runner reads"
    )]
    Newer(u32),
}

impl ProbeRecord {
    /// Reads a record as the probe hands it over.
    ///
    /// # Errors
    /// [`TraceError`] for a malformed record or one from a newer probe.
    pub fn from_value(value: Value) -> Result<Self, TraceError> {
        let mut record: Self = serde_json::from_value(value)?;
        if record.version > TRACE_VERSION {
            return Err(TraceError::Newer(record.version));
        }
        record.page.mask_keys();
        Ok(record)
    }
}

/// One eventdata as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeEvent {
    /// Page time (ms since load).
    pub at: f64,
    /// Place in the probe's one order (see [`order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// JavaScript `typeof` of what the callback received.
    #[serde(rename = "type")]
    pub js_type: String,
    /// The page's wall clock at arrival (Unix ms): what the event's
    /// timestamp must agree with. Absent in records of older probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<f64>,
    /// The page's time-zone offset at arrival (minutes behind UTC), since
    /// timestamps are written in the page's local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<i32>,
    /// A JSON copy of it.
    pub event: Value,
}

/// An SDK call made through the probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdkCall {
    /// Page time (ms since load).
    pub at: f64,
    /// Place in the probe's one order (see [`order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Dotted path called, e.g. `jodoInitBOT.SendChatMessage`.
    pub path: String,
}

impl SdkCall {
    /// The method's catalogue name: the last part of the path.
    pub fn method(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }
}

/// A getUserMedia or getDisplayMedia call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaCapture {
    /// Page time (ms since load).
    pub at: f64,
    /// Place in the probe's one order (see [`order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// `getUserMedia` or `getDisplayMedia`.
    pub api: String,
    /// The constraints asked for, as given.
    #[serde(default)]
    pub constraints: Value,
    /// How many events had reached the callback before it.
    #[serde(default, rename = "eventsBefore")]
    pub events_before: usize,
}

impl MediaCapture {
    /// The devices asked for: `screen`, or `camera` and/or `microphone`.
    pub fn devices(&self) -> Vec<&'static str> {
        if self.api == "getDisplayMedia" {
            return vec!["screen"];
        }
        let wants = |k: &str| {
            self.constraints
                .get(k)
                .is_some_and(|v| v != &Value::Bool(false) && !v.is_null())
        };
        [("camera", "video"), ("microphone", "audio")]
            .into_iter()
            .filter(|(_, k)| wants(k))
            .map(|(d, _)| d)
            .collect()
    }
}

/// A WebSocket the page opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketOpened {
    /// Page time (ms since load).
    pub at: f64,
    /// The URL as given to the constructor.
    pub url: String,
}

/// A fetch or XMLHttpRequest the page made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMade {
    /// Page time (ms since load).
    pub at: f64,
    /// `fetch` or `xhr`.
    #[serde(default)]
    pub api: String,
    /// HTTP method.
    #[serde(default)]
    pub method: String,
    /// The URL as given (may be relative).
    pub url: String,
}

/// An uncaught error or unhandled rejection in the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageError {
    /// Page time (ms since load).
    pub at: f64,
    /// The message.
    pub message: String,
    /// Script it came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Line in that script, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// A text frame the widget sent on a WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentFrame {
    /// Page time (ms since load).
    pub at: f64,
    /// The frame's text.
    pub data: String,
}

/// The trace of one case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseTrace {
    /// Steps with outcomes.
    pub steps: Vec<StepRecord>,
    /// What the probe saw.
    pub probe: ProbeRecord,
    /// The case ran out of time in the page (a step never finished).
    #[serde(default)]
    pub stopped: bool,
}

impl CaseTrace {
    /// The allocation outcome a live backend decided instead of the one a
    /// step awaited, if it did.
    pub fn decided(&self) -> Option<&str> {
        self.steps.iter().find_map(|s| match &s.outcome {
            StepOutcome::Decided { event, .. } => Some(event.as_str()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_without_numbers_sorts_after_numbered_ones_and_a_newer_one_is_refused() {
        let record = ProbeRecord::from_value(json!({
            "events": [{"at": 1.0, "type": "object", "event": {}}],
            "calls": [{"at": 0.5, "seq": 3, "path": "jodoInitBOT.AcceptVoice"}],
        }))
        .unwrap();
        assert_eq!(record.version, TRACE_VERSION);
        assert!(order(record.calls[0].seq) < order(record.events[0].seq));
        assert_eq!(record.calls[0].method(), "AcceptVoice");
        let masked = ProbeRecord::from_value(json!({
            "page": {"extdata": {"akey": "live-akey-0123456789", "skey": "short", "serverpath": "https://h"}, "extdataAt": 2}
        }))
        .unwrap();
        let ext = masked.page.extdata.unwrap();
        assert_eq!(ext["akey"], "li…89 (20 chars)");
        assert_eq!(ext["skey"], "… (5 chars)");
        assert_eq!(ext["serverpath"], "https://h");
        assert_eq!(masked.page.extdata_at, Some(2));
        let err = ProbeRecord::from_value(json!({"version": TRACE_VERSION + 1})).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
        assert!(ProbeRecord::from_value(json!({"events": 3})).is_err());
    }

    #[test]
    fn a_capture_names_the_devices_it_asks_for() {
        let capture = |api: &str, constraints: Value| MediaCapture {
            at: 0.0,
            seq: Some(1),
            api: api.into(),
            constraints,
            events_before: 0,
        };
        assert_eq!(
            capture("getUserMedia", json!({"audio": true, "video": false})).devices(),
            ["microphone"]
        );
        assert_eq!(
            capture("getUserMedia", json!({"audio": {}, "video": {}})).devices(),
            ["camera", "microphone"]
        );
        assert_eq!(capture("getDisplayMedia", json!({})).devices(), ["screen"]);
    }
}
