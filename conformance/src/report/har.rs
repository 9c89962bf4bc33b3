//! A case's wire record as HAR 1.2, so it opens in the tools people
//! already read traffic with (browser devtools, mitmproxy, Playwright):
//! one entry per HTTP exchange, and each WebSocket's frames in its upgrade
//! entry's `_webSocketMessages`, the field those tools write and read.
//!
//! The record's times are milliseconds since its proxy started, which is
//! at the start of the run; absolute times are the run's start plus those
//! offsets (the HAR's `comment` says so).

use serde_json::{Value, json};

use crate::report::CaseReport;
use crate::wire::WireEntry;

/// The HAR document of one case; `run_started` is the run's start, in
/// seconds since the Unix epoch.
pub fn document(case: &CaseReport, run_started: u64) -> Value {
    let base_ms = run_started.saturating_mul(1000);
    let iso = |at_ms: u64| {
        let ms = base_ms.saturating_add(at_ms);
        let text = jodo_contract::clock::rfc3339(ms / 1000);
        // `…:SSZ` → `…:SS.mmmZ`
        format!("{}.{:03}Z", text.trim_end_matches('Z'), ms % 1000)
    };
    let mut entries: Vec<Value> = Vec::new();
    // Each request's entry and time, by id, for its response.
    let mut by_id = std::collections::HashMap::new();
    for entry in &case.wire {
        match entry {
            WireEntry::Request {
                at_ms,
                id,
                method,
                url,
                headers,
                body,
                ..
            } => {
                let mut request = json!({
                    "method": method,
                    "url": url,
                    "httpVersion": "HTTP/1.1",
                    "cookies": [],
                    "headers": pairs(headers),
                    "queryString": query(url),
                    "headersSize": -1,
                    "bodySize": body.len(),
                });
                if !body.is_empty() {
                    request["postData"] = json!({
                        "mimeType": header(headers, "content-type").unwrap_or("application/octet-stream"),
                        "text": body,
                    });
                }
                by_id.insert(*id, (entries.len(), *at_ms));
                entries.push(json!({
                    "startedDateTime": iso(*at_ms),
                    "time": 0,
                    "request": request,
                    "response": {
                        "status": 0, "statusText": "", "httpVersion": "HTTP/1.1",
                        "cookies": [], "headers": [], "redirectURL": "",
                        "headersSize": -1, "bodySize": -1,
                        "content": {"size": 0, "mimeType": "x-unknown"},
                    },
                    "cache": {},
                    "timings": {"send": 0, "wait": 0, "receive": 0},
                }));
            }
            WireEntry::Response {
                at_ms,
                id,
                status,
                headers,
                html,
                ..
            } => {
                let Some(&(at, sent_ms)) = by_id.get(id) else {
                    continue;
                };
                let e = &mut entries[at];
                let wait = at_ms.saturating_sub(sent_ms);
                let mime = header(headers, "content-type").unwrap_or("x-unknown");
                let mut content =
                    json!({"size": html.as_ref().map_or(0, String::len), "mimeType": mime});
                if let Some(text) = html {
                    content["text"] = json!(text);
                }
                e["time"] = json!(wait);
                e["timings"]["wait"] = json!(wait);
                e["response"] = json!({
                    "status": status,
                    "statusText": "",
                    "httpVersion": "HTTP/1.1",
                    "cookies": [],
                    "headers": pairs(headers),
                    "content": content,
                    "redirectURL": header(headers, "location").unwrap_or(""),
                    "headersSize": -1,
                    "bodySize": -1,
                });
            }
            WireEntry::Frame {
                at_ms,
                dir,
                url,
                text,
            } => {
                // The socket's upgrade request: the same URL over https.
                let https = url
                    .replacen("wss://", "https://", 1)
                    .replacen("ws://", "http://", 1);
                let known = entries
                    .iter()
                    .rposition(|e| e["request"]["url"] == https.as_str());
                let at = match known {
                    Some(at) => at,
                    None => {
                        // Frames a backend recorded itself (the mock's
                        // transcript): their socket's upgrade was not seen.
                        entries.push(socket_entry(&https, iso(*at_ms)));
                        entries.len() - 1
                    }
                };
                let e = &mut entries[at];
                let ms = base_ms.saturating_add(*at_ms);
                let message = json!({
                    "type": if dir == "out" { "send" } else { "receive" },
                    "time": ms as f64 / 1000.0,
                    "opcode": 1,
                    "data": text,
                });
                match e
                    .get_mut("_webSocketMessages")
                    .and_then(Value::as_array_mut)
                {
                    Some(list) => list.push(message),
                    None => e["_webSocketMessages"] = json!([message]),
                }
                e["_resourceType"] = json!("websocket");
                if e["response"]["status"] == 0 {
                    // The proxy relays the upgrade's 101 without logging it.
                    e["response"]["status"] = json!(101);
                    e["response"]["statusText"] = json!("Switching Protocols");
                }
            }
        }
    }
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "jodo-conformance", "version": env!("CARGO_PKG_VERSION")},
            "comment": format!(
                "case {}: what crossed the wire, as the kit's intercepting proxy saw it (keys shown by name); times are the run's start plus the proxy's offsets",
                case.id
            ),
            "pages": [],
            "entries": entries,
        }
    })
}

/// An entry for a socket whose HTTP upgrade was not recorded.
fn socket_entry(url: &str, started: String) -> Value {
    json!({
        "startedDateTime": started,
        "time": 0,
        "comment": "a WebSocket the backend recorded; its HTTP upgrade was not seen by a proxy",
        "request": {
            "method": "GET", "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": [], "queryString": query(url), "headersSize": -1, "bodySize": 0,
        },
        "response": {
            "status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": [], "redirectURL": "", "headersSize": -1, "bodySize": -1,
            "content": {"size": 0, "mimeType": "x-unknown"},
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
    })
}

fn pairs(headers: &[(String, String)]) -> Value {
    headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn query(url: &str) -> Value {
    url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect()
        })
        .unwrap_or_else(|_| json!([]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_pair_up_and_frames_go_to_their_socket() {
        let mut case: CaseReport = serde_json::from_value(json!({
            "id": "c", "title": "t", "area": "a", "spec": "s", "scenario": "x",
            "outcome": "pass", "status": "passed", "duration_ms": 1, "overhead_ms": 1,
            "checks": [], "steps": [], "probe": {}
        }))
        .unwrap();
        case.wire = vec![
            WireEntry::Request {
                at_ms: 10,
                id: 1,
                method: "POST".into(),
                url: "https://jodo.test/jodowidgetapi/v2/sessions?x=1".into(),
                jodo: true,
                headers: vec![("content-type".into(), "application/json".into())],
                body: "{}".into(),
            },
            WireEntry::Request {
                at_ms: 20,
                id: 2,
                method: "GET".into(),
                url: "https://jodo.test/ws?token=t".into(),
                jodo: true,
                headers: vec![],
                body: String::new(),
            },
            WireEntry::Response {
                at_ms: 25,
                id: 1,
                status: 201,
                headers: vec![],
                html: None,
                sha256: None,
            },
            WireEntry::Frame {
                at_ms: 30,
                dir: "out".into(),
                url: "wss://jodo.test/ws?token=t".into(),
                text: "hello".into(),
            },
        ];
        let har = document(&case, 1_700_000_000);
        let entries = har["log"]["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["response"]["status"], 201);
        assert_eq!(entries[0]["time"], 15);
        assert_eq!(
            entries[0]["request"]["postData"]["mimeType"],
            "application/json"
        );
        assert_eq!(entries[0]["request"]["queryString"][0]["name"], "x");
        assert_eq!(entries[0]["startedDateTime"], "2023-11-14T22:13:20.010Z");
        let frames = entries[1]["_webSocketMessages"].as_array().unwrap();
        assert_eq!(frames[0]["type"], "send");
        assert_eq!(frames[0]["data"], "hello");

        // Frames without a recorded upgrade get an entry of their own.
        case.wire = vec![WireEntry::Frame {
            at_ms: 1500,
            dir: "in".into(),
            url: "wss://127.0.0.1:9/ws?session=s1".into(),
            text: "{}".into(),
        }];
        let har = document(&case, 1_700_000_000);
        let entry = &har["log"]["entries"][0];
        assert_eq!(entry["response"]["status"], 101);
        assert_eq!(entry["request"]["url"], "https://127.0.0.1:9/ws?session=s1");
        assert_eq!(entry["_webSocketMessages"][0]["type"], "receive");
        assert_eq!(entry["startedDateTime"], "2023-11-14T22:13:21.500Z");
    }
}
