//! Which origins a mock answers for: its own (known once it listens) and
//! the ones its gateway allows, and the host a request was addressed to.

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

/// The origins under which a mock listening on `addr` is reached.
pub fn own_origins(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut origins = vec![
        format!("https://{addr}"),
        format!("https://localhost:{port}"),
    ];
    if addr.ip().is_unspecified() {
        origins.push(format!("https://127.0.0.1:{port}"));
        origins.push(format!("https://[::1]:{port}"));
    }
    origins
}

/// The host a request was sent to, so answers name the address the page
/// used (the page's serverpath): `X-Forwarded-Host` when a proxy in front
/// of the mock says where the request was addressed (the conformance
/// runner's intercepting proxy does), else `Host`.
pub fn host_of(headers: &HeaderMap) -> String {
    headers
        .get("x-forwarded-host")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(',').next())
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .unwrap_or("127.0.0.1")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_host_names_where_the_request_was_addressed() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:9".parse().unwrap());
        assert_eq!(host_of(&h), "127.0.0.1:9");
        h.insert(
            "x-forwarded-host",
            "myjodo.jodoworld.com, other".parse().unwrap(),
        );
        assert_eq!(host_of(&h), "myjodo.jodoworld.com");
    }

    #[test]
    fn a_mock_on_every_address_answers_for_each_loopback_name() {
        let any: SocketAddr = "0.0.0.0:8443".parse().unwrap();
        let origins = own_origins(any);
        assert!(origins.contains(&"https://127.0.0.1:8443".to_owned()));
        assert!(origins.contains(&"https://[::1]:8443".to_owned()));
        let one: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            own_origins(one),
            ["https://127.0.0.1:9", "https://localhost:9"]
        );
    }
}
