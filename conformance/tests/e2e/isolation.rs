//! Each case gets a fresh page: what one case leaves in the page (a live
//! session, a timer that calls the page back, globals, elements) never
//! reaches the next, in the default frame mode as with a navigation.

use crate::common::*;

/// The first case (ids run in order on one worker) leaves everything it
/// can behind; the second fails on any of it.
const LEAVES: &str = r#"
id: a-leaves-everything
title: "Leaves a live session, a pending agent reply, a late callback, a global and an element"
area: isolation
scenario: allocated
steps:
  - call: jodosessioninit
    returns: 1
  - wait: session/allocated
  # The agent answers 60 ms later: the case is over by then.
  - call: SendChatMessage
    args: ["answer me after I am gone"]
    returns: 1
  - eval: "(window.__leftover = 'a', setTimeout(function () { eventcallback({media: 'chat', eventtype: 'messagereceived', msg: 'late'}); }, 100), document.body.appendChild(Object.assign(document.createElement('p'), {id: 'leftover'})), true)"
    returns: true
"#;

const SEES_NONE: &str = r#"
id: b-sees-nothing-of-it
title: "Starts in a page with nothing of the case before"
area: isolation
scenario: allocated
steps:
  - eval: "typeof window.__leftover"
    returns: "undefined"
  - eval: "document.querySelectorAll('#leftover').length"
    returns: 0
  # A session still running in the page would make this a 2.
  - call: jodosessioninit
    returns: 1
  - wait: session/allocated
  # Long enough for the reply and the timer of the case before.
  - eval: "new Promise(function (done) { setTimeout(function () { done(__jodoProbe.events.length); }, 300); })"
    returns: 3
expect:
  absent: [chat/messagereceived, chat/messagesent]
  counts: {session/initialized: 1, session/allocated: 1}
"#;

#[test]
fn a_case_sees_nothing_the_case_before_left_in_either_mode() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    std::fs::write(cases.join("a-leaves-everything.yaml"), LEAVES).unwrap();
    std::fs::write(cases.join("b-sees-nothing-of-it.yaml"), SEES_NONE).unwrap();
    for mode in ["frame", "navigate"] {
        let reports = dir.path().join(format!("reports-{mode}"));
        let marker = unique(mode);
        let out = run_cli(
            &marker,
            &[
                "run",
                "--cases",
                cases.to_str().unwrap(),
                "--fresh-page",
                mode,
                "--report-dir",
                reports.to_str().unwrap(),
            ],
        );
        assert_eq!(out.code, Some(0), "{mode}: {}", out.stderr);
        let report = read_report(&reports);
        let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["a-leaves-everything", "b-sees-nothing-of-it"],
            "{mode}"
        );
        // The second case's page had the three events of its own session
        // (initialized, widgetInit, allocated) and nothing else.
        let second = &report.cases[1];
        let keys: Vec<String> = second
            .probe
            .events
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e.event["media"].as_str().unwrap_or("?"),
                    e.event["eventtype"].as_str().unwrap_or("?")
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                "session/initialized",
                "session/widgetInit",
                "session/allocated"
            ],
            "{mode}"
        );
        assert_eq!(leftovers(&marker), Vec::<String>::new(), "{mode}");
    }
}
