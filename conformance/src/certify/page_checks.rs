//! The page checks: one pure function per entry of the catalogue's
//! `page_checks`, from everything the certification gathered to a state
//! and its evidence. A test ties the table to the catalogue both ways.

use std::collections::BTreeSet;

use jodo_contract::Contract;
use serde_json::Value;

use super::discovery::Discovery;
use super::report::{CheckState, Grade, PageCheckResult};
use super::trials::SensitiveInput;
use crate::case::Case;
use crate::checks::event_key;
use crate::report::CaseReport;
use crate::wire::WireEntry;

/// What the checks read.
#[derive(Debug)]
pub struct Evidence<'a> {
    /// The compiled contract.
    pub contract: &'a Contract,
    /// The first load.
    pub discovery: &'a Discovery,
    /// The cases run on the page, with what each was written to expect.
    pub cases: Vec<(&'a Case, &'a CaseReport)>,
    /// Which container fields had their element when the session started.
    pub containers: Option<Value>,
    /// The sensitive inputs found, and those whose sentinel left the page
    /// in a cobrowse snapshot (`None`: the trial did not get a snapshot).
    pub masking: (Vec<SensitiveInput>, Option<Vec<SensitiveInput>>),
    /// Raw failure details the page showed after a failure event (`None`:
    /// no failure event came).
    pub raw_details: Option<Vec<String>>,
    /// The Jodo hosts.
    pub jodo_hosts: &'a [String],
    /// The page's URL and origin, to tell its requests from the browser's own.
    pub page: (&'a str, &'a str),
}

/// What a check says.
type Found = (CheckState, Vec<String>);

/// One check: its catalogue id and its function.
struct PageCheck {
    id: &'static str,
    check: fn(&Evidence<'_>) -> Found,
}

const CHECKS: &[PageCheck] = &[
    PageCheck {
        id: "extdata-before-sdk",
        check: extdata_before_sdk,
    },
    PageCheck {
        id: "extdata-fields",
        check: extdata_fields,
    },
    PageCheck {
        id: "serverpath-https",
        check: serverpath_https,
    },
    PageCheck {
        id: "containers-exist",
        check: containers_exist,
    },
    PageCheck {
        id: "callback-global",
        check: callback_global,
    },
    PageCheck {
        id: "callback-receives-every-event",
        check: callback_receives_every_event,
    },
    PageCheck {
        id: "callback-never-throws",
        check: callback_never_throws,
    },
    PageCheck {
        id: "no-mixed-content",
        check: no_mixed_content,
    },
    PageCheck {
        id: "sensitive-inputs-masked",
        check: sensitive_inputs_masked,
    },
    PageCheck {
        id: "no-secrets-leaked",
        check: no_secrets_leaked,
    },
    PageCheck {
        id: "keys-in-page-source",
        check: keys_in_page_source,
    },
    PageCheck {
        id: "generic-error-messages",
        check: generic_error_messages,
    },
    PageCheck {
        id: "csp-connect-src",
        check: csp_connect_src,
    },
    PageCheck {
        id: "send-throttling",
        check: send_throttling,
    },
];

/// Runs every check, in catalogue order.
pub fn run_all(e: &Evidence<'_>) -> Vec<PageCheckResult> {
    e.contract
        .catalog()
        .page_checks
        .iter()
        .map(|entry| {
            let (state, evidence) = CHECKS
                .iter()
                .find(|c| c.id == entry.id)
                .map(|c| (c.check)(e))
                .unwrap_or((
                    CheckState::Manual,
                    vec!["no automatic check for this entry".into()],
                ));
            PageCheckResult {
                id: entry.id.clone(),
                grade: if entry.grade == "advisory" {
                    Grade::Advisory
                } else {
                    Grade::Required
                },
                state,
                summary: entry.summary.clone(),
                section: entry.section.clone(),
                evidence,
            }
        })
        .collect()
}

fn pass(why: impl Into<String>) -> Found {
    (CheckState::Pass, vec![why.into()])
}

fn fail(evidence: Vec<String>) -> Found {
    (CheckState::Fail, evidence)
}

fn not_applicable(why: impl Into<String>) -> Found {
    (CheckState::NotApplicable, vec![why.into()])
}

fn extdata<'a>(e: &'a Evidence<'_>) -> Option<&'a serde_json::Map<String, Value>> {
    e.discovery.extdata.as_ref().and_then(Value::as_object)
}

fn extdata_before_sdk(e: &Evidence<'_>) -> Found {
    match e.discovery.facts.extdata_before_sdk {
        Some(true) => pass("extdata was there when the SDK defined jodosessioninit"),
        Some(false) => fail(vec![
            "the SDK defined jodosessioninit before the page assigned extdata".into(),
        ]),
        None => not_applicable(
            "the SDK did not define jodosessioninit by assignment, so the probe could not time it",
        ),
    }
}

fn extdata_fields(e: &Evidence<'_>) -> Found {
    let Some(ext) = extdata(e) else {
        return fail(vec!["extdata is not an object".into()]);
    };
    let problems: Vec<String> = e
        .contract
        .catalog()
        .host_config
        .iter()
        .filter_map(|f| match ext.get(&f.name) {
            None => Some(format!("{} is missing ({})", f.name, f.summary)),
            Some(Value::String(s)) if f.ty == "string" && s.is_empty() => {
                Some(format!("{} is empty", f.name))
            }
            Some(Value::String(_)) if f.ty == "string" => None,
            Some(other) => Some(format!(
                "{} is {}, not a {}",
                f.name,
                json_type(other),
                f.ty
            )),
        })
        .collect();
    if problems.is_empty() {
        pass(format!(
            "all {} configuration fields are there, each a string",
            e.contract.catalog().host_config.len()
        ))
    } else {
        fail(problems)
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn serverpath_https(e: &Evidence<'_>) -> Found {
    match extdata(e)
        .and_then(|x| x.get("serverpath"))
        .and_then(Value::as_str)
    {
        Some(s) if s.starts_with("https://") => pass(format!("serverpath is {s}")),
        Some(s) => fail(vec![format!("serverpath is {s:?}, not an https:// URL")]),
        None => fail(vec!["extdata has no serverpath".into()]),
    }
}

fn containers_exist(e: &Evidence<'_>) -> Found {
    let Some(Value::Object(found)) = &e.containers else {
        return not_applicable(
            "no session started on the page, so its containers were not looked at",
        );
    };
    let ext = extdata(e);
    // A field that is not a string names no element; extdata-fields says so.
    let named = |field: &str| ext.and_then(|x| x.get(field)).is_some_and(Value::is_string);
    let missing: Vec<String> = found
        .iter()
        .filter(|(field, present)| named(field) && **present != Value::Bool(true))
        .map(|(field, _)| {
            let id = ext
                .and_then(|x| x.get(field))
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(not set)".into());
            format!("{field} names {id}, which is not an element of the page")
        })
        .collect();
    if missing.is_empty() {
        pass(format!(
            "all {} container elements exist when the session starts",
            found.len()
        ))
    } else {
        fail(missing)
    }
}

fn callback_global(e: &Evidence<'_>) -> Found {
    let name = extdata(e)
        .and_then(|x| x.get("callbackfn"))
        .map(|v| v.to_string())
        .unwrap_or_else(|| "(not set)".into());
    if e.discovery.callback_type == "function" {
        pass(format!("callbackfn {name} is a global function"))
    } else {
        fail(vec![format!(
            "callbackfn {name} names no global function (it is {})",
            e.discovery.callback_type
        )])
    }
}

/// The `media/eventtype` of every event frame the backend sent the page
/// during a case (the kit's wire protocol: `{"kind": "event", "data": …}`).
fn events_sent(report: &CaseReport) -> Vec<String> {
    report
        .wire
        .iter()
        .filter_map(|w| match w {
            WireEntry::Frame { dir, text, .. } if dir == "in" => {
                let frame: Value = serde_json::from_str(text).ok()?;
                (frame["kind"] == "event").then(|| event_key(&frame["data"]))
            }
            _ => None,
        })
        .collect()
}

/// The events a case was written to see: what it waits for and expects.
fn expected_events(case: &Case) -> BTreeSet<&str> {
    let waits = case.steps.iter().filter_map(|s| match s {
        crate::case::Step::Wait { wait, .. } => Some(wait.as_str()),
        _ => None,
    });
    waits
        .chain(case.expect.in_order.iter().map(|e| e.event.as_str()))
        .collect()
}

/// Every event a case expects that the backend sent (so the SDK had it to
/// deliver) must have reached the page's callback. Events the SDK emits by
/// itself, and those a case expects it to drop, are not counted.
fn callback_receives_every_event(e: &Evidence<'_>) -> Found {
    if e.discovery.callback_type != "function" {
        return not_applicable(
            "without a global callback nothing can be received (see callback-global)",
        );
    }
    let mut sent = 0;
    let mut missing = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for (case, report) in &e.cases {
        let received: Vec<String> = report
            .probe
            .events
            .iter()
            .map(|r| event_key(&r.event))
            .collect();
        let expected = expected_events(case);
        let sent_here: BTreeSet<String> = events_sent(report)
            .into_iter()
            .filter(|k| expected.contains(k.as_str()))
            .collect();
        for key in sent_here {
            sent += 1;
            if !received.contains(&key) {
                missing.insert(format!(
                    "{}: {key} was sent but never reached the page's callback",
                    report.id
                ));
            }
            kinds.insert(key);
        }
    }
    if sent == 0 {
        return not_applicable("the backend sent the page none of the events the cases expect");
    }
    if missing.is_empty() {
        pass(format!(
            "all {sent} events the cases expect that the backend sent ({} kinds) reached the page's callback",
            kinds.len()
        ))
    } else {
        fail(missing.into_iter().collect())
    }
}

fn callback_never_throws(e: &Evidence<'_>) -> Found {
    let thrown: Vec<String> = e
        .cases
        .iter()
        .flat_map(|(_, r)| {
            r.probe.callback_errors.iter().map(move |c| {
                format!(
                    "{}: the callback threw {:?} for {}",
                    r.id, c.message, c.event
                )
            })
        })
        .collect();
    if thrown.is_empty() {
        let events: usize = e.cases.iter().map(|(_, r)| r.probe.events.len()).sum();
        pass(format!(
            "the callback handled {events} events without throwing"
        ))
    } else {
        fail(thrown)
    }
}

/// Every request the page made, first load included. The browser's own
/// traffic (update checks, sign-in, autofill) goes through the proxy too;
/// a request is the page's when it is the page itself, names the page as
/// its referrer, or carries the page's origin.
fn page_requests<'a>(e: &'a Evidence<'_>) -> impl Iterator<Item = &'a WireEntry> {
    let (page_url, page_origin) = e.page;
    e.discovery
        .wire
        .iter()
        .chain(e.cases.iter().flat_map(|(_, r)| r.wire.iter()))
        .filter(move |entry| match entry {
            WireEntry::Request { url, headers, .. } => {
                url.split('#').next() == Some(page_url)
                    || headers.iter().any(|(k, v)| {
                        (k.eq_ignore_ascii_case("referer") && !v.is_empty())
                            || (k.eq_ignore_ascii_case("origin") && v == page_origin)
                    })
            }
            _ => false,
        })
}

fn is_loopback(url: &str) -> bool {
    match super::target::host_of(url).as_deref() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn no_mixed_content(e: &Evidence<'_>) -> Found {
    let mut insecure = BTreeSet::new();
    let mut loopback = BTreeSet::new();
    for entry in page_requests(e) {
        let WireEntry::Request { url, .. } = entry else {
            continue;
        };
        if url.starts_with("http://") || url.starts_with("ws://") {
            if is_loopback(url) {
                loopback.insert(url.split('?').next().unwrap_or(url).to_owned());
            } else {
                insecure.insert(url.split('?').next().unwrap_or(url).to_owned());
            }
        }
    }
    if !insecure.is_empty() {
        return fail(
            insecure
                .into_iter()
                .map(|u| format!("the page requested {u} without TLS"))
                .collect(),
        );
    }
    let mut evidence = vec!["every request and socket off loopback is https or wss".to_owned()];
    evidence.extend(
        loopback
            .into_iter()
            .map(|u| format!("noted: {u} (a loopback dev server)")),
    );
    (CheckState::Pass, evidence)
}

fn sensitive_inputs_masked(e: &Evidence<'_>) -> Found {
    let (inputs, leaked) = &e.masking;
    if inputs.is_empty() {
        return not_applicable("the page has no password, one-time-code or similar input");
    }
    match leaked {
        None => {
            not_applicable("cobrowsing sent no snapshot of the page, so nothing could be compared")
        }
        Some(leaked) if leaked.is_empty() => pass(format!(
            "none of the {} sensitive input(s) appeared in a cobrowse snapshot",
            inputs.len()
        )),
        Some(leaked) => fail(
            leaked
                .iter()
                .map(|i| {
                    format!(
                        "the value typed into {} ({}) was in a cobrowse snapshot",
                        i.what, i.selector
                    )
                })
                .collect(),
        ),
    }
}

fn no_secrets_leaked(e: &Evidence<'_>) -> Found {
    let secret = |text: &str| {
        ["[akey]", "[skey]", super::trials::SENTINEL]
            .into_iter()
            .find(|s| text.contains(s))
    };
    let mut found = Vec::new();
    for (_, r) in &e.cases {
        for line in &r.console {
            let args = line
                .args
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(s) = secret(&line.text).or_else(|| secret(&args)) {
                found.push(format!(
                    "{}: the console printed {s}: {:.120}",
                    r.id, line.text
                ));
            }
        }
    }
    for entry in page_requests(e) {
        if let WireEntry::Request {
            jodo: false,
            url,
            headers,
            body,
            ..
        } = entry
        {
            let headers = headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n");
            if let Some(s) = secret(url)
                .or_else(|| secret(&headers))
                .or_else(|| secret(body))
            {
                let url = url.split('?').next().unwrap_or(url);
                found.push(format!("{s} was sent to {url}, which is not a Jodo host"));
            }
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() {
        pass(format!(
            "no key or sensitive value in the console or in a request to a host other than {}",
            e.jodo_hosts.join(", ")
        ))
    } else {
        fail(found)
    }
}

fn keys_in_page_source(e: &Evidence<'_>) -> Found {
    let (Some(doc), Some((akey, skey))) = (&e.discovery.document, &e.discovery.keys) else {
        return not_applicable("the page's source was not seen");
    };
    let named: Vec<String> = [("akey", akey), ("skey", skey)]
        .into_iter()
        .filter(|(_, k)| !k.is_empty() && doc.html.contains(k.as_str()))
        .map(|(n, k)| {
            format!(
                "the {n} ({}) is written in the page's HTML",
                crate::trace::mask(k)
            )
        })
        .collect();
    if named.is_empty() {
        pass("neither key is written in the page's HTML")
    } else {
        fail(named)
    }
}

fn generic_error_messages(e: &Evidence<'_>) -> Found {
    match &e.raw_details {
        None => not_applicable("no failure event reached the page"),
        Some(shown) if shown.is_empty() => {
            pass("after session/APINotConnected the page showed no raw failure detail")
        }
        Some(shown) => fail(
            shown
                .iter()
                .map(|s| format!("after session/APINotConnected the page shows {s}"))
                .collect(),
        ),
    }
}

fn csp_connect_src(e: &Evidence<'_>) -> Found {
    let Some(doc) = &e.discovery.document else {
        return not_applicable("the page's response headers were not seen");
    };
    let policy = doc
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-security-policy"))
        .map(|(_, v)| v.as_str());
    let Some(policy) = policy else {
        return fail(vec![
            "the page has no Content-Security-Policy header".into(),
        ]);
    };
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(|d| d.split_whitespace().skip(1).collect::<Vec<_>>())
    };
    let Some(sources) = directive("connect-src").or_else(|| directive("default-src")) else {
        return fail(vec![
            "the Content-Security-Policy does not limit connect-src".into(),
        ]);
    };
    let broad: Vec<&&str> = sources
        .iter()
        .filter(|s| {
            matches!(
                **s,
                "*" | "https:" | "wss:" | "http:" | "ws:" | "data:" | "blob:"
            )
        })
        .collect();
    if broad.is_empty() {
        pass(format!("connect-src allows only {}", sources.join(" ")))
    } else {
        fail(vec![format!(
            "connect-src allows {} (any host of that kind)",
            broad.iter().map(|s| **s).collect::<Vec<_>>().join(" ")
        )])
    }
}

fn send_throttling(_: &Evidence<'_>) -> Found {
    (
        CheckState::Manual,
        vec!["send several messages quickly from the page's own chat input: the page should slow them down or refuse them before the backend's rate limit does".into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_check_of_the_catalogue_has_its_function_and_back() {
        let contract = Contract::embedded().unwrap();
        let table: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        let listed: Vec<&str> = contract
            .catalog()
            .page_checks
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(table, listed);
        for c in &contract.catalog().page_checks {
            assert!(
                matches!(c.grade.as_str(), "required" | "advisory"),
                "{}",
                c.id
            );
        }
    }

    #[test]
    fn loopback_hosts_are_told_from_the_rest() {
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(is_loopback("http://[::1]:3000/"));
        assert!(is_loopback("http://localhost/"));
        assert!(!is_loopback("http://images.example.test/a.png"));
    }
}
