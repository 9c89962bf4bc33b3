//! Every built-in scenario runs its own `selftest` script against the mock
//! over real TLS, reached from the session's init data (`scenario:NAME`),
//! with every frame checked against the wire schemas. A test also checks
//! that the built-ins together send every server-driven event.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use common::{Harness, client_frame, harness};
use futures_util::{SinkExt, StreamExt};
use jodo_contract::catalog::Source;
use jodo_mock::scenario::model::{Action, SelftestStep};
use jodo_mock::scenario::{self, Scenario};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const FRAME_WAIT: Duration = Duration::from_secs(5);

async fn run_selftest(h: &Harness, sc: &Scenario) -> Result<(), String> {
    let request = json!({"akey": "jodo-dev-akey", "skey": "jodo-dev-skey",
                         "init": {"name": format!("scenario:{}", sc.name)}});
    let body = request.to_string();
    let create = h.https(
        "POST",
        "/jodowidgetapi/v2/sessions",
        Some("https://host.test"),
        body.as_bytes(),
    );
    let mut steps = sc.selftest.iter().peekable();
    match steps.peek() {
        Some(SelftestStep::ApiSilentMs(ms)) => {
            return match tokio::time::timeout(Duration::from_millis(*ms), create).await {
                Err(_) => Ok(()),
                Ok((status, _)) => Err(format!("the session API answered {status} within {ms} ms")),
            };
        }
        Some(SelftestStep::ApiStatus(want)) => {
            let (status, text) = create.await;
            let error: Value =
                serde_json::from_str(&text).map_err(|e| format!("error body: {e}"))?;
            let problems = h
                .schemas
                .validate("wire/error-response.schema.json", &error);
            return if status == *want && problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "session API answered {status} {text}, expected {want}"
                ))
            };
        }
        _ => {}
    }
    let (status, text) = create.await;
    if status != 201 {
        return Err(format!("session API answered {status}: {text}"));
    }
    let created: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let url = created["websocket"].as_str().unwrap_or_default();
    let session_id = created["sessionid"].as_str().unwrap_or_default().to_owned();
    if let Some(SelftestStep::UpgradeStatus(want)) = steps.peek() {
        return match h.connect(url, "https://host.test").await {
            Err(WsError::Http(r)) if r.status().as_u16() == *want => Ok(()),
            Err(e) => Err(format!("upgrade failed otherwise: {e}")),
            Ok(_) => Err(format!("upgrade succeeded, expected {want}")),
        };
    }
    let mut ws = h
        .connect(url, "https://host.test")
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    let mut last_seq = 0u64;
    let mut client_seq = 0u64;
    let welcome = next_json(h, &mut ws).await?;
    if welcome["kind"] != "welcome" || welcome["seq"] != 1 {
        return Err(format!("first frame is not welcome #1: {welcome}"));
    }
    seen.insert(welcome["messageid"].to_string());
    last_seq = 1.max(last_seq);
    let mut resume = welcome["data"]["resume"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let resume_url = |secret: &str| {
        let base = url.split('?').next().unwrap_or_default();
        format!("{base}?resume={secret}")
    };
    for (n, step) in steps.enumerate() {
        let at = |e: String| format!("step {n} {step:?}: {e}");
        match step {
            SelftestStep::Send { kind, data } => {
                client_seq += 1;
                let id = format!("t{client_seq}");
                ws.send(client_frame(kind, client_seq, &id, data.clone()))
                    .await
                    .map_err(|e| at(e.to_string()))?;
            }
            SelftestStep::Expect(items) => {
                for item in items {
                    if item == "malformed" {
                        match tokio::time::timeout(FRAME_WAIT, ws.next()).await {
                            Ok(Some(Ok(Message::Text(t))))
                                if serde_json::from_str::<Value>(&t).is_err() =>
                            {
                                continue;
                            }
                            other => {
                                return Err(at(format!(
                                    "expected a malformed frame, got {other:?}"
                                )));
                            }
                        }
                    }
                    let (base, marker) = match item.split_once(" (") {
                        Some((b, m)) => (b, m.trim_end_matches(')')),
                        None => (item.as_str(), ""),
                    };
                    let frame = next_json(h, &mut ws).await.map_err(&at)?;
                    let got = match frame["kind"].as_str() {
                        Some("event") => format!(
                            "{}/{}",
                            frame["data"]["media"].as_str().unwrap_or("?"),
                            frame["data"]["eventtype"].as_str().unwrap_or("?")
                        ),
                        Some(k) => k.to_owned(),
                        None => "?".into(),
                    };
                    if got != base {
                        return Err(at(format!("expected {base}, got {got}: {frame}")));
                    }
                    let seq = frame["seq"].as_u64().unwrap_or(0);
                    let fresh = seen.insert(frame["messageid"].to_string());
                    match marker {
                        "replayed" if fresh => {
                            return Err(at(format!("{item} has a new messageid")));
                        }
                        "replayed" => continue,
                        "gap" if seq <= last_seq + 1 => {
                            return Err(at(format!(
                                "{item}: seq {seq} after {last_seq} is no gap"
                            )));
                        }
                        "" if !fresh => return Err(at(format!("{item} repeats a messageid"))),
                        "" if seq != last_seq + 1 => {
                            return Err(at(format!("{item}: seq {seq} after {last_seq}")));
                        }
                        _ => {}
                    }
                    last_seq = seq;
                }
            }
            SelftestStep::Control(name) => {
                let (status, text) = h
                    .https(
                        "POST",
                        &format!("/control/v1/sessions/{session_id}/triggers/{name}"),
                        None,
                        b"",
                    )
                    .await;
                if status != 202 {
                    return Err(at(format!("control trigger answered {status}: {text}")));
                }
            }
            SelftestStep::Closed(how) => {
                let end = tokio::time::timeout(FRAME_WAIT, ws.next())
                    .await
                    .map_err(|_| at("no close within 5 s".into()))?;
                match (how.as_str(), end) {
                    ("drop", None | Some(Err(_))) => {}
                    (code, Some(Ok(Message::Close(Some(close)))))
                        if code == u16::from(close.code).to_string() => {}
                    (_, other) => return Err(at(format!("expected close {how}, got {other:?}"))),
                }
            }
            SelftestStep::Resume => {
                ws = h
                    .connect(&resume_url(&resume), "https://host.test")
                    .await
                    .map_err(|e| at(format!("resume refused: {e}")))?;
                let welcome = next_json(h, &mut ws).await.map_err(&at)?;
                let seq = welcome["seq"].as_u64().unwrap_or(0);
                if welcome["kind"] != "welcome"
                    || welcome["data"]["resumed"] != true
                    || seq != last_seq + 1
                    || welcome["data"]["systemcallid"] != created["systemcallid"]
                {
                    return Err(at(format!(
                        "expected a resumed welcome #{} of the same session, got {welcome}",
                        last_seq + 1
                    )));
                }
                last_seq = seq;
                seen.insert(welcome["messageid"].to_string());
                resume = welcome["data"]["resume"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
            }
            SelftestStep::ResumeStatus(want) => {
                match h.connect(&resume_url(&resume), "https://host.test").await {
                    Err(WsError::Http(r)) if r.status().as_u16() == *want => {}
                    Err(e) => return Err(at(format!("resume failed otherwise: {e}"))),
                    Ok(_) => return Err(at(format!("resume succeeded, expected {want}"))),
                }
            }
            other => return Err(at(format!("{other:?} must be the first step"))),
        }
    }
    Ok(())
}

async fn next_json(h: &Harness, ws: &mut common::Socket) -> Result<Value, String> {
    match tokio::time::timeout(FRAME_WAIT, ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => {
            let frame: Value =
                serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}: {text}"))?;
            let problems = h.schemas.validate_frame(&frame);
            if problems.is_empty() {
                Ok(frame)
            } else {
                Err(format!(
                    "frame breaks the wire schemas: {problems:?}: {frame}"
                ))
            }
        }
        other => Err(format!("expected a frame, got {other:?}")),
    }
}

#[tokio::test]
async fn every_builtin_scenario_passes_its_selftest() {
    let h = harness().await;
    let scenarios: Vec<_> = scenario::builtin_names()
        .into_iter()
        .map(|name| scenario::load(&name, &h.schemas).unwrap())
        .collect();
    assert!(scenarios.len() >= 30, "{} scenarios", scenarios.len());
    let results = futures_util::future::join_all(scenarios.iter().map(|sc| async {
        if sc.selftest.is_empty() {
            return Err(format!("{} has no selftest", sc.name));
        }
        run_selftest(&h, sc)
            .await
            .map_err(|e| format!("{}: {e}", sc.name))
    }))
    .await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn builtins_send_every_server_driven_event() {
    let schemas = jodo_contract::Contract::embedded().unwrap();
    let mut sent = BTreeSet::new();
    for name in scenario::builtin_names() {
        let sc = scenario::load(&name, &schemas).unwrap();
        for state in sc.states.values() {
            for t in &state.on {
                for a in &t.actions {
                    if let Action::Send(payload) = a {
                        let data = payload.data();
                        sent.insert(format!(
                            "{}/{}",
                            data["media"].as_str().unwrap(),
                            data["eventtype"].as_str().unwrap()
                        ));
                    }
                }
            }
        }
    }
    let missing: Vec<String> = schemas
        .catalog()
        .events
        .iter()
        .filter(|e| e.source.contains(&Source::Server))
        .map(|e| e.key())
        .filter(|k| !sent.contains(k))
        .collect();
    assert!(missing.is_empty(), "no built-in scenario sends {missing:?}");
}

/// The bound on a `skip_seq` fault is written three times: the scenario
/// schema, the control API's description, and the server's check.
#[test]
fn the_skip_seq_bound_is_the_same_in_the_schemas_and_the_server() {
    fn maximum_of(v: &serde_json::Value, key: &str) -> Option<u64> {
        match v {
            serde_json::Value::Object(m) => m
                .get(key)
                .and_then(|s| s.get("maximum"))
                .and_then(serde_json::Value::as_u64)
                .or_else(|| m.values().find_map(|x| maximum_of(x, key))),
            serde_json::Value::Array(a) => a.iter().find_map(|x| maximum_of(x, key)),
            _ => None,
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/scenario.schema.json")).unwrap(),
    )
    .unwrap();
    let bound = jodo_mock::scenario::model::MAX_SKIP_SEQ;
    assert_eq!(maximum_of(&schema, "skip_seq"), Some(bound));
    let openapi = std::fs::read_to_string(root.join("schemas/control-api.openapi.yaml")).unwrap();
    assert!(openapi.contains(&format!(
        "skip_seq: {{type: integer, minimum: 1, maximum: {bound},"
    )));
}
