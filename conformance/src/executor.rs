//! Runs one case in the browser and collects what happened. It never
//! judges: the trace goes to [`crate::checks`].

use std::time::{Duration, Instant};

use fantoccini::Client;
use jodo_contract::Catalog;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::case::{Case, DEFAULT_WAIT_MS, Step};

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
    /// The awaited event did not arrive in time.
    WaitTimedOut {
        /// The limit.
        timeout_ms: u64,
    },
    /// Not run, because an earlier wait failed.
    Skipped,
}

/// Everything the probe recorded during a case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// Every eventdata the callback received, in order.
    #[serde(default)]
    pub events: Vec<ProbeEvent>,
    /// WebSocket URLs opened.
    #[serde(default)]
    pub sockets: Vec<Value>,
    /// fetch/XHR requests.
    #[serde(default)]
    pub requests: Vec<Value>,
    /// getUserMedia/getDisplayMedia calls.
    #[serde(default)]
    pub media: Vec<Value>,
    /// Uncaught errors in the page.
    #[serde(default)]
    pub errors: Vec<Value>,
    /// SDK calls the runner made, with page times (for consent checks).
    #[serde(default)]
    pub calls: Vec<Value>,
}

/// One eventdata as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeEvent {
    /// Page time (ms since load).
    pub at: f64,
    /// JavaScript `typeof` of what the callback received.
    #[serde(rename = "type")]
    pub js_type: String,
    /// A JSON copy of it.
    pub event: Value,
}

/// The trace of one case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseTrace {
    /// Steps with outcomes.
    pub steps: Vec<StepRecord>,
    /// What the probe saw.
    pub probe: ProbeRecord,
}

/// Why a case could not be run at all (the harness, not the widget).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A WebDriver command failed.
    #[error("WebDriver command failed: {0}")]
    WebDriver(#[from] fantoccini::error::CmdError),
    /// The host page did not come up with its probe.
    #[error("the host page at {0} did not load its probe (certificate interstitial or page error)")]
    NoProbe(String),
    /// The probe returned something unexpected.
    #[error("unexpected answer from the page probe: {0}")]
    Probe(String),
    /// The scenario could not be loaded.
    #[error("scenario: {0}")]
    Scenario(String),
}

/// Loads the host page afresh and runs the case's steps.
///
/// # Errors
/// [`HarnessError`] when the browser or page cannot be driven; a widget that
/// misbehaves is recorded in the trace instead.
pub async fn run_case(
    client: &Client,
    page_url: &str,
    case: &Case,
    catalog: &Catalog,
) -> Result<CaseTrace, HarnessError> {
    client.goto(page_url).await?;
    let has_probe = client
        .execute(
            "return !!(window.__jodoProbe && window.__jodoProbe.record);",
            vec![],
        )
        .await?;
    if has_probe != Value::Bool(true) {
        return Err(HarnessError::NoProbe(page_url.to_owned()));
    }
    let mut trace = CaseTrace::default();
    let mut next_index = 0usize;
    let mut failed_wait = false;
    for step in &case.steps {
        let started = Instant::now();
        let outcome = if failed_wait {
            StepOutcome::Skipped
        } else {
            match step {
                Step::Call { call, args, .. } => {
                    let path = catalog
                        .method(call)
                        .map(|m| m.js_path())
                        .unwrap_or_else(|| format!("window.{call}"));
                    let answer = client
                        .execute(
                            "return window.__jodoProbe.call(arguments[0], arguments[1]);",
                            vec![json!(path.trim_start_matches("window.")), json!(args)],
                        )
                        .await?;
                    call_outcome(&answer)?
                }
                Step::Wait { wait, timeout_ms } => {
                    let (media, eventtype) = wait.split_once('/').unwrap_or((wait, ""));
                    let limit = timeout_ms.unwrap_or(DEFAULT_WAIT_MS);
                    let answer = client
                        .execute_async(
                            "var done = arguments[arguments.length - 1];\
                             window.__jodoProbe.waitFor(arguments[0], arguments[1], arguments[2], arguments[3], done);",
                            vec![json!(media), json!(eventtype), json!(next_index), json!(limit)],
                        )
                        .await?;
                    match answer.get("found").and_then(Value::as_u64) {
                        Some(i) => {
                            next_index = usize::try_from(i).unwrap_or(usize::MAX).saturating_add(1);
                            StepOutcome::Found {
                                index: next_index - 1,
                            }
                        }
                        None => {
                            failed_wait = true;
                            StepOutcome::WaitTimedOut { timeout_ms: limit }
                        }
                    }
                }
            }
        };
        trace.steps.push(StepRecord {
            step: step.clone(),
            outcome,
            elapsed_ms: duration_ms(started.elapsed()),
        });
    }
    trace.probe = read_probe(client).await?;
    Ok(trace)
}

/// Reads the probe's records from the current page.
///
/// # Errors
/// [`HarnessError`] when the page does not answer or the answer is malformed.
pub async fn read_probe(client: &Client) -> Result<ProbeRecord, HarnessError> {
    let raw = client
        .execute(
            "var p = window.__jodoProbe; return p ? {events: p.events, sockets: p.sockets, \
             requests: p.requests, media: p.media, errors: p.errors, calls: p.calls} : null;",
            vec![],
        )
        .await?;
    if raw.is_null() {
        return Err(HarnessError::Probe(
            "the probe is gone (did the widget navigate away?)".into(),
        ));
    }
    serde_json::from_value(raw).map_err(|e| HarnessError::Probe(e.to_string()))
}

fn call_outcome(answer: &Value) -> Result<StepOutcome, HarnessError> {
    if let Some(message) = answer.get("threw").and_then(Value::as_str) {
        return Ok(StepOutcome::Threw {
            message: message.to_owned(),
        });
    }
    if let Some(message) = answer.get("missing").and_then(Value::as_str) {
        return Ok(StepOutcome::Missing {
            message: message.to_owned(),
        });
    }
    match (
        answer.get("returned"),
        answer.get("type").and_then(Value::as_str),
    ) {
        (Some(value), Some(js_type)) => Ok(StepOutcome::Returned {
            value: value.clone(),
            js_type: js_type.to_owned(),
        }),
        _ => Err(HarnessError::Probe(answer.to_string())),
    }
}

/// Milliseconds, saturating.
pub fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
