//! Cases load, and a broken one names the line and field of each problem.

use super::*;

#[test]
fn builtin_cases_load() {
    let schemas = Contract::embedded().unwrap();
    let cases = builtin(&schemas).unwrap_or_else(|e| panic!("{e}"));
    assert!(cases.len() >= 3);
    let codes = cases.iter().find(|c| c.id == "chat-length-codes").unwrap();
    let long = codes.steps.iter().find_map(|s| match s {
        Step::Call {
            args,
            returns: Some(r),
            ..
        } if r == 3 => args[0].as_str().map(str::len),
        _ => None,
    });
    assert_eq!(long, Some(256));
}

#[test]
fn broken_cases_name_the_field() {
    let schemas = Contract::embedded().unwrap();
    let bad = "id: x\ntitle: t\narea: a\nscenario: allocated\nsteps:\n  - call: SendChatMesage\n  - call: SendChatMessage\n    returns: 7\n  - wait: chat/nothing\n";
    let err = parse(bad, "x.yaml", Some("x"), &schemas)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 6, at /steps/0/call"), "{err}");
    assert!(err.contains("/steps/1/returns"), "{err}");
    assert!(err.contains("/steps/2/wait"), "{err}");
    let err = parse(
        "id: y\ntitle: t\narea: a\nscenario: s\nsteps: []\n",
        "y.yaml",
        Some("y"),
        &schemas,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/steps"), "{err}");
}
