//! Cases made for the page under certification, run like any case (same
//! executor, same probe, same trace), for what only a page can get wrong:
//! the session start (its containers, its screenshot), whether its
//! sensitive inputs stay out of cobrowse snapshots, and what it shows a
//! visitor after a failure. What each found is read from its trace.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::case::{Case, Expect, Step, Typing};
use crate::report::CaseReport;

/// The beginning of every value typed into a sensitive input: a text no
/// page holds by itself, so finding it anywhere means it leaked.
pub const SENTINEL: &str = "jodoSentinel";

/// A sensitive input of the page, as the trial finds it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveInput {
    /// A CSS selector that finds it after a reload.
    pub selector: String,
    /// What it is, for people (`input type=password name=pwd`).
    pub what: String,
}

impl SensitiveInput {
    /// The value the trial types into input number `i`.
    pub fn sentinel(i: usize) -> String {
        format!("{SENTINEL}{i}x")
    }
}

/// Lists the page's sensitive inputs: passwords, one-time codes and the
/// like, as a visitor would recognise them (type, autocomplete, name or id,
/// or a field drawn masked with CSS). Run by WebDriver.
pub const FIND_SENSITIVE: &str = r#"
var found = [];
var inputs = document.querySelectorAll('input, textarea');
for (var i = 0; i < inputs.length; i++) {
  var el = inputs[i];
  var type = String(el.getAttribute('type') || '').toLowerCase();
  var auto = String(el.getAttribute('autocomplete') || '').toLowerCase();
  var hint = [el.getAttribute('name'), el.id].join(' ').toLowerCase();
  var style = window.getComputedStyle(el);
  var drawnMasked = (style.webkitTextSecurity || style.getPropertyValue('-webkit-text-security') || 'none') !== 'none';
  var sensitive = type === 'password' || /current-password|new-password|one-time-code/.test(auto) ||
    /pass|pwd|otp|one-time|pin|cvv/.test(hint) || drawnMasked;
  if (!sensitive || el.id === '__jodo_probe_gesture') continue;
  var selector = el.id ? '#' + CSS.escape(el.id)
    : (el.getAttribute('name') ? el.tagName.toLowerCase() + '[name="' + el.getAttribute('name').replace(/"/g, '\\"') + '"]'
    : null);
  if (!selector) {
    var all = document.querySelectorAll(el.tagName);
    for (var j = 0; j < all.length; j++) { if (all[j] === el) { selector = el.tagName.toLowerCase() + ':nth-of-type(' + (j + 1) + ')'; break; } }
  }
  found.push({ selector: selector, what: el.tagName.toLowerCase() + (type ? ' type=' + type : '') +
    (auto ? ' autocomplete=' + auto : '') + (el.getAttribute('name') ? ' name=' + el.getAttribute('name') : '') +
    (el.id ? ' id=' + el.id : '') + (drawnMasked ? ' (drawn masked)' : '') });
}
return found;
"#;

/// Reports which container ids extdata names exist. Run by WebDriver.
pub const FIND_CONTAINERS: &str = r#"
var ext; try { ext = typeof extdata !== 'undefined' ? extdata : window.extdata; } catch (e) { ext = window.extdata; }
var out = {};
var names = arguments[0];
for (var i = 0; i < names.length; i++) {
  var id = ext && ext[names[i]];
  out[names[i]] = typeof id === 'string' && !!document.getElementById(id);
}
return out;
"#;

/// The page's visible text. Run by WebDriver.
pub const VISIBLE_TEXT: &str = "return document.body ? document.body.innerText : '';";

fn trial(id: &str, title: &str, scenario: &str, steps: Vec<Step>) -> Case {
    Case {
        id: id.into(),
        title: title.into(),
        area: "page".into(),
        spec: String::new(),
        rules: Vec::new(),
        scenario: scenario.into(),
        needs: None,
        timeout_ms: Some(12_000),
        steps,
        expect: Expect::default(),
        golden: false,
        golden_snapshot: None,
    }
}

fn call(method: &str, args: Vec<Value>) -> Step {
    Step::Call {
        call: method.into(),
        args,
        returns: None,
        gesture: false,
    }
}

fn wait(event: &str) -> Step {
    Step::Wait {
        wait: event.into(),
        timeout_ms: Some(6_000),
    }
}

/// A session started on the page and allocated: the moment its containers
/// must exist and its screenshot is taken.
pub fn session_start() -> Case {
    trial(
        "page-session-start",
        "The page starts a session",
        "allocated",
        vec![call("jodosessioninit", vec![]), wait("session/allocated")],
    )
}

/// Sentinels typed into the sensitive inputs, then cobrowsing, whose
/// snapshots must not carry them.
pub fn masking(inputs: &[SensitiveInput]) -> Case {
    let mut steps: Vec<Step> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| Step::Type {
            typing: Typing {
                into: input.selector.clone(),
                text: SensitiveInput::sentinel(i),
            },
        })
        .collect();
    steps.extend([
        call("jodosessioninit", vec![]),
        wait("session/allocated"),
        call("StartBrowsing", vec![]),
        wait("cobrowse/start"),
    ]);
    trial(
        "page-cobrowse-masking",
        "The page's sensitive inputs stay out of cobrowse snapshots",
        "cobrowse",
        steps,
    )
}

/// A session the backend cannot start: what the page shows after it.
pub fn failure() -> Case {
    trial(
        "page-failure-message",
        "The page tells the visitor about a failure in general words",
        "apinotconnected",
        vec![
            call("jodosessioninit", vec![]),
            wait("session/APINotConnected"),
        ],
    )
}

/// What the masking trial found: each sentinel that left the page in a
/// cobrowse snapshot, with the input it was typed into.
pub fn leaked_inputs<'a>(
    report: &CaseReport,
    inputs: &'a [SensitiveInput],
) -> Vec<&'a SensitiveInput> {
    let snapshots: Vec<&str> = report
        .probe
        .sent
        .iter()
        .map(|f| f.data.as_str())
        .filter(|d| d.contains("cobrowse.snapshot"))
        .collect();
    inputs
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let sentinel = SensitiveInput::sentinel(*i);
            snapshots.iter().any(|s| s.contains(&sentinel))
        })
        .map(|(_, input)| input)
        .collect()
}

/// Whether any cobrowse snapshot was sent at all (without one the trial
/// proves nothing).
pub fn snapshot_sent(report: &CaseReport) -> bool {
    report
        .probe
        .sent
        .iter()
        .any(|f| f.data.contains("cobrowse.snapshot"))
}

/// What the failure trial found: the raw details of the failure event
/// that the page shows its visitor (its message, its event name).
pub fn raw_details_shown(report: &CaseReport, visible: &str) -> Vec<String> {
    let Some(event) = report
        .probe
        .events
        .iter()
        .map(|e| &e.event)
        .find(|e| e["eventtype"] == "APINotConnected")
    else {
        return Vec::new();
    };
    let mut shown = Vec::new();
    if let Some(msg) = event.get("msg").and_then(Value::as_str) {
        if msg.len() >= 6 && visible.contains(msg) {
            shown.push(format!("the event's message {msg:?}"));
        }
    }
    for word in ["APINotConnected", "503"] {
        if visible.contains(word) {
            shown.push(format!("{word:?}"));
        }
    }
    shown
}

/// The container ids the catalogue's host configuration names.
pub fn container_fields(contract: &jodo_contract::Contract) -> Value {
    json!(
        contract
            .catalog()
            .host_config
            .iter()
            .filter(|f| f.container)
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
    )
}
