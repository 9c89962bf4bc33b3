//! Runs one case in the browser and collects what happened. It never
//! judges: the trace goes to [`crate::checks`].

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use jodo_contract::Catalog;
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::case::{Case, DEFAULT_WAIT_MS, Step};
use crate::page::Target;
use crate::trace::{CaseTrace, ProbeRecord, StepOutcome, StepRecord, TraceError};

/// Why a case could not be run at all (the harness, not the widget).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A WebDriver command failed.
    #[error("WebDriver command failed: {0}")]
    WebDriver(#[from] fantoccini::error::CmdError),
    /// The worker's shell page is not the top-level page and could not be
    /// loaded again.
    #[error("the worker's shell page is gone and did not load again")]
    NoShell,
    /// The page did not come up with its probe.
    #[error("the page at {0} did not load the probe (certificate interstitial or page error)")]
    NoProbe(String),
    /// The probe returned something unexpected.
    #[error("unexpected answer from the page probe: {0}")]
    Probe(String),
    /// The probe's record could not be read.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The backend cannot run the case as written.
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
}

/// Loads the page afresh and runs the case's steps; control steps go to
/// the backend.
///
/// Page steps run inside the page (the probe's `run`): each stretch between
/// control steps is one WebDriver round trip that also brings back the
/// probe's records, because a command costs 7–20 ms in Chromium, which per
/// step would be most of a case's overhead.
///
/// # Errors
/// [`HarnessError`] when the browser or page cannot be driven; a widget that
/// misbehaves is recorded in the trace instead.
pub async fn run_case(
    client: &Client,
    target: &Target,
    case: &Case,
    catalog: &Catalog,
    backend: &dyn Backend,
    stop_after: Duration,
) -> Result<CaseTrace, HarnessError> {
    let started = Instant::now();
    let page_url = target.url.as_str();
    let steps = &case.steps;
    // In a page whose Content-Security-Policy forbids eval, the probe
    // cannot evaluate an expression; WebDriver can, so there the runner
    // evaluates them itself.
    let by_driver =
        |s: &Step| s.is_driver_step() || (!target.evals_in_page && matches!(s, Step::Eval { .. }));
    // In a frame, the first stretch of page steps opens the page in the
    // same round trip; a case that starts with a runner step opens it first.
    let mut to_open = match &target.shell {
        None => {
            client.goto(page_url).await?;
            false
        }
        Some(_) if steps.first().is_some_and(by_driver) => {
            open(client, target, stop_after).await?;
            false
        }
        Some(_) => true,
    };
    let in_frame = target.shell.is_some();
    // A backend that runs no scenario of the kit's decides the allocation.
    let decides = !backend
        .provides()
        .contains(&crate::case::Capability::Scenario);
    let mut trace = CaseTrace::default();
    let mut next_event = 0u64;
    let mut record: Option<Value> = None;
    let mut i = 0;
    while i < steps.len() {
        if by_driver(&steps[i]) {
            let at = Instant::now();
            let outcome = driver_step(client, backend, &steps[i], catalog, in_frame).await?;
            let failed = !matches!(
                outcome,
                StepOutcome::Triggered | StepOutcome::Acted | StepOutcome::Returned { .. }
            );
            let elapsed = duration_ms(at.elapsed());
            trace.steps.push(StepRecord {
                step: steps[i].clone(),
                outcome,
                elapsed_ms: elapsed,
            });
            record = None;
            i += 1;
            if failed {
                break;
            }
            continue;
        }
        let end = steps[i..]
            .iter()
            .position(by_driver)
            .map_or(steps.len(), |p| i + p);
        let batch: Vec<Value> = steps[i..end]
            .iter()
            .map(|s| page_step(s, catalog, decides))
            .collect();
        let left = stop_after.saturating_sub(started.elapsed());
        let mut args = vec![
            Value::Array(batch),
            json!(next_event),
            json!(duration_ms(left)),
        ];
        let script = if to_open {
            to_open = false;
            args.extend([json!(page_url), json!(duration_ms(left))]);
            // Opens the page in a new frame, then runs the stretch in it.
            "var done = arguments[arguments.length - 1];\
             var a = arguments;\
             var s = window.__jodoShell;\
             if (!s) { done({noshell: true}); return; }\
             s.open(a[3], a[4], function (why) {\
               var p = s.probe();\
               if (why || !p || !p.run) { done({noprobe: true, why: why}); return; }\
               p.run(a[0], a[1], a[2], done);\
             });"
            .to_owned()
        } else {
            format!(
                "var done = arguments[arguments.length - 1];\
                 var p = {PROBE};\
                 if (!p || !p.run) {{ done({{noprobe: true}}); return; }}\
                 p.run(arguments[0], arguments[1], arguments[2], done);"
            )
        };
        let answer = client.execute_async(&script, args).await?;
        if answer.get("noshell").is_some() {
            // The top-level page is not the shell: load it, open the page,
            // and run the stretch again.
            open(client, target, stop_after.saturating_sub(started.elapsed())).await?;
            continue;
        }
        if answer.get("noprobe").is_some() {
            return Err(HarnessError::NoProbe(page_url.to_owned()));
        }
        let outcomes = answer
            .get("outcomes")
            .and_then(Value::as_array)
            .ok_or_else(|| HarnessError::Probe(format!("{answer:.200}")))?;
        let ran = outcomes.len().min(end - i);
        for (step, outcome) in steps[i..].iter().zip(&outcomes[..ran]) {
            trace.steps.push(StepRecord {
                step: step.clone(),
                outcome: step_outcome(step, outcome, record_events(&answer))?,
                elapsed_ms: page_ms(outcome.get("ms")),
            });
        }
        next_event = answer
            .get("next")
            .and_then(Value::as_u64)
            .unwrap_or(next_event);
        record = answer.get("record").cloned();
        if answer.get("stopped") == Some(&Value::Bool(true)) {
            trace.stopped = true;
            trace.steps.push(StepRecord {
                step: steps[i + ran].clone(),
                outcome: StepOutcome::Unfinished,
                elapsed_ms: page_ms(answer.get("unfinishedMs")),
            });
            break;
        }
        if ran < end - i
            || trace
                .steps
                .last()
                .is_some_and(|s| matches!(s.outcome, StepOutcome::Decided { .. }))
        {
            break; // a wait timed out, or the backend decided otherwise: the rest is skipped
        }
        i = end;
    }
    for step in &steps[trace.steps.len()..] {
        trace.steps.push(StepRecord {
            step: step.clone(),
            outcome: StepOutcome::Skipped,
            elapsed_ms: 0,
        });
    }
    trace.probe = match record {
        Some(record) => ProbeRecord::from_value(record)?,
        // The case ended on a control step: read what followed it.
        None => read_probe(client).await?,
    };
    Ok(trace)
}

/// The probe of the case's page, in a frame of the shell or at the top.
pub(crate) const PROBE: &str =
    "(window.__jodoShell ? window.__jodoShell.probe() : window.__jodoProbe)";

/// Opens the case's page in a new frame of the worker's shell, loading
/// the shell first when the top-level page is not it (the first case, or
/// a build that navigated the top-level page away).
///
/// # Errors
/// [`HarnessError::NoProbe`] when the page does not come up with its probe.
pub async fn open(client: &Client, target: &Target, limit: Duration) -> Result<(), HarnessError> {
    let Some(shell) = &target.shell else {
        client.goto(&target.url).await?;
        return Ok(());
    };
    let script = "var done = arguments[arguments.length - 1];\
                  var s = window.__jodoShell;\
                  if (!s) { done({noshell: true}); return; }\
                  s.open(arguments[0], arguments[1], function (why) { done(why ? {noprobe: why} : {}); });";
    let args = || vec![json!(target.url), json!(duration_ms(limit))];
    let mut answer = client.execute_async(script, args()).await?;
    if answer.get("noshell").is_some() {
        client.goto(shell).await?;
        answer = client.execute_async(script, args()).await?;
    }
    if answer.get("noshell").is_some() {
        return Err(HarnessError::NoShell);
    }
    if answer.get("noprobe").is_some() {
        return Err(HarnessError::NoProbe(target.url.clone()));
    }
    Ok(())
}

/// Runs `act` on the case's page: inside its frame when it is in one.
async fn in_page<T>(
    client: &Client,
    in_frame: bool,
    act: impl std::future::Future<Output = T>,
) -> Result<T, HarnessError> {
    if in_frame {
        client.enter_frame(0).await?;
    }
    let out = act.await;
    if in_frame {
        client.enter_parent_frame().await?;
    }
    Ok(out)
}

/// A step the runner does itself: a control trigger on the backend, or a
/// real WebDriver action on the page (which carries user activation).
async fn driver_step(
    client: &Client,
    backend: &dyn Backend,
    step: &Step,
    catalog: &Catalog,
    in_frame: bool,
) -> Result<StepOutcome, HarnessError> {
    let failed = |e: &dyn std::fmt::Display| StepOutcome::ActionFailed {
        message: e.to_string(),
    };
    let acted = |r: Result<(), fantoccini::error::CmdError>| match r {
        Ok(()) => StepOutcome::Acted,
        Err(e) => failed(&e),
    };
    Ok(match step {
        Step::Control { control } => match backend.trigger(control) {
            Ok(()) => StepOutcome::Triggered,
            Err(e) => StepOutcome::ControlFailed {
                message: e.to_string(),
            },
        },
        Step::Click { click } => {
            in_page(client, in_frame, async {
                match client.find(Locator::Css(click)).await {
                    Ok(el) => acted(el.click().await),
                    Err(e) => failed(&e),
                }
            })
            .await?
        }
        Step::Type { typing } => {
            in_page(client, in_frame, async {
                match client.find(Locator::Css(&typing.into)).await {
                    Ok(el) => acted(el.send_keys(&typing.text).await),
                    Err(e) => failed(&e),
                }
            })
            .await?
        }
        Step::WaitVisible {
            wait_visible,
            timeout_ms,
        } => {
            let limit = Duration::from_millis(timeout_ms.unwrap_or(DEFAULT_WAIT_MS));
            let started = Instant::now();
            in_page(client, in_frame, async {
                loop {
                    let shown = match client.find(Locator::Css(wait_visible)).await {
                        Ok(el) => el.is_displayed().await.unwrap_or(false),
                        Err(_) => false,
                    };
                    if shown {
                        break StepOutcome::Acted;
                    }
                    if started.elapsed() >= limit {
                        break StepOutcome::ActionFailed {
                            message: format!(
                                "{wait_visible} was not shown within {} ms",
                                duration_ms(limit)
                            ),
                        };
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await?
        }
        Step::Call { call, args, .. } => {
            // The probe puts a button in the page whose click makes the
            // call (recorded like any other), and a real click presses it.
            let path = catalog
                .method(call)
                .map(|m| m.js_path())
                .unwrap_or_else(|| format!("window.{call}"));
            let armed = client
                .execute(
                    &format!(
                        "var p = {PROBE}; return p ? p.arm(arguments[0], arguments[1]) : null;"
                    ),
                    vec![json!(path.trim_start_matches("window.")), json!(args)],
                )
                .await?;
            let Some(id) = armed.as_str() else {
                return Err(HarnessError::NoProbe(
                    "the page (no probe to arm a gesture)".into(),
                ));
            };
            let clicked = in_page(client, in_frame, async {
                match client.find(Locator::Id(id)).await {
                    Ok(el) => el.click().await,
                    Err(e) => Err(e),
                }
            })
            .await?;
            if let Err(e) = clicked {
                return Ok(failed(&e));
            }
            let answer = client
                .execute(&format!("return {PROBE}.disarm();"), vec![])
                .await?;
            call_outcome(&answer)?
        }
        Step::Eval { eval, .. } => {
            let script = format!(
                "try {{ var v = ({eval}); }} catch (e) {{ return {{threw: String((e && e.message) || e)}}; }}\n\
                 return Promise.resolve(v).then(function (x) {{ return {{returned: x === undefined ? null : x, type: typeof x}}; }},\n\
                 function (e) {{ return {{threw: String((e && e.message) || e)}}; }});"
            );
            let answer = in_page(client, in_frame, client.execute(&script, vec![])).await??;
            call_outcome(&answer)?
        }
        Step::Wait { .. } => {
            return Err(HarnessError::Probe("a wait was sent to the runner".into()));
        }
    })
}

/// The events of a probe answer's record, for naming a decided outcome.
fn record_events(answer: &Value) -> &[Value] {
    answer
        .pointer("/record/events")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A step as the probe's `run` takes it. When the backend `decides` the
/// allocation (a live one), a wait for one allocation outcome of the
/// catalogue is answered by any of them.
fn page_step(step: &Step, catalog: &Catalog, decides: bool) -> Value {
    match step {
        Step::Call { call, args, .. } => {
            let path = catalog
                .method(call)
                .map(|m| m.js_path())
                .unwrap_or_else(|| format!("window.{call}"));
            json!({"call": path.trim_start_matches("window."), "args": args})
        }
        Step::Wait { wait, timeout_ms } => {
            let (media, eventtype) = wait.split_once('/').unwrap_or((wait, ""));
            let mut page = json!({"wait": [media, eventtype], "timeoutMs": timeout_ms.unwrap_or(DEFAULT_WAIT_MS)});
            let allocation = |e: &&jodo_contract::catalog::EventEntry| e.allocation;
            if decides
                && catalog
                    .event(media, eventtype)
                    .as_ref()
                    .is_some_and(allocation)
            {
                let others: Vec<Value> = catalog
                    .events
                    .iter()
                    .filter(allocation)
                    .map(|e| json!([e.media, e.eventtype]))
                    .collect();
                page["orElse"] = Value::Array(others);
            }
            page
        }
        Step::Eval { eval, .. } => json!({"eval": eval}),
        // Never sent to the page: the runner does them between batches.
        Step::Control { .. }
        | Step::Click { .. }
        | Step::Type { .. }
        | Step::WaitVisible { .. } => Value::Null,
    }
}

/// What the probe reported for one step.
fn step_outcome(
    step: &Step,
    answer: &Value,
    events: &[Value],
) -> Result<StepOutcome, HarnessError> {
    match step {
        Step::Call { .. }
        | Step::Eval { .. }
        | Step::Control { .. }
        | Step::Click { .. }
        | Step::Type { .. }
        | Step::WaitVisible { .. } => call_outcome(answer),
        Step::Wait { wait, timeout_ms } => Ok(match answer.get("found").and_then(Value::as_u64) {
            Some(i) => {
                let index = usize::try_from(i).unwrap_or(usize::MAX);
                let got = events
                    .get(index)
                    .map(|r| crate::checks::event_key(r.get("event").unwrap_or(r)))
                    .unwrap_or_default();
                if got.is_empty() || got == *wait {
                    StepOutcome::Found { index }
                } else {
                    StepOutcome::Decided { index, event: got }
                }
            }
            None => StepOutcome::WaitTimedOut {
                timeout_ms: timeout_ms.unwrap_or(DEFAULT_WAIT_MS),
            },
        }),
    }
}

/// A duration measured in the page, whole milliseconds.
fn page_ms(ms: Option<&Value>) -> u64 {
    let ms = ms.and_then(Value::as_f64).unwrap_or(0.0);
    // In range by construction: page times are small and non-negative.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = ms.max(0.0).round() as u64;
    whole
}

/// Reads the probe's records from the current page.
///
/// # Errors
/// [`HarnessError`] when the page does not answer or the answer is malformed.
pub async fn read_probe(client: &Client) -> Result<ProbeRecord, HarnessError> {
    let raw = client
        .execute(
            &format!("var p = {PROBE}; return p ? p.snapshot() : null;"),
            vec![],
        )
        .await?;
    if raw.is_null() {
        return Err(HarnessError::Probe(
            "the probe is gone (did the widget navigate away?)".into(),
        ));
    }
    Ok(ProbeRecord::from_value(raw)?)
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
