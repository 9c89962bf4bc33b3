//! Who may use the control API. It steers every session, so a web page the
//! developer happens to visit must not be able to drive it: without a token
//! it answers only requests addressed to the mock by a loopback name (a
//! DNS-rebound name is refused), and a state-changing request must carry
//! `Content-Type: application/json` (which a cross-site page cannot send
//! without a preflight the mock never grants) and, when a browser sent it,
//! the mock's own Origin. A mock listening beyond loopback needs a token on
//! every control request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;

/// The rules one mock applies to its control requests.
#[derive(Debug, Clone)]
pub struct ControlAccess {
    /// Required as `Authorization: Bearer …` on every request when set.
    token: Option<String>,
    /// `host:port` names a request without a token may be addressed to.
    hosts: Vec<String>,
    /// Origins a browser's state-changing request may come from.
    origins: Vec<String>,
}

impl ControlAccess {
    /// The rules for a mock listening on `addr`. A token given is always
    /// required; a mock on an address other than loopback gets a random one
    /// when none is given, since anyone who can reach it could steer it.
    pub fn new(addr: SocketAddr, token: Option<String>) -> Self {
        let token =
            token.or_else(|| (!addr.ip().is_loopback()).then(|| crate::ids::random_hex(24)));
        let origins = crate::origin::own_origins(addr);
        let hosts = origins
            .iter()
            .filter_map(|o| o.strip_prefix("https://"))
            .map(str::to_owned)
            .collect();
        Self {
            token,
            hosts,
            origins,
        }
    }

    /// The token control requests need, if any (printed at start).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Why a request may not use the control API, if it may not.
    fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<ApiError> {
        match &self.token {
            Some(token) => {
                let given = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim);
                if !given.is_some_and(|g| same_secret(g, token)) {
                    return Some(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "this mock's control API needs its token: Authorization: Bearer <token printed at start>",
                    ));
                }
            }
            None => {
                if let Some(refusal) = self.foreign_host(headers) {
                    return Some(refusal);
                }
            }
        }
        if matches!(*method, Method::GET | Method::HEAD) {
            return None;
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !self.origins.iter().any(|own| own == origin) {
                return Some(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "foreign_origin",
                    format!("a page on {origin:?} may not steer the mock"),
                ));
            }
        }
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Some(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a control request that changes something must be sent with Content-Type: application/json",
            ));
        }
        None
    }
}

impl ControlAccess {
    /// A request addressed to a name that is not the mock's own (a
    /// DNS-rebound name) is refused.
    fn foreign_host(&self, headers: &HeaderMap) -> Option<ApiError> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if host.is_some_and(|h| self.hosts.iter().any(|own| own.eq_ignore_ascii_case(h))) {
            return None;
        }
        Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "foreign_host",
            format!(
                "the control API answers only requests addressed to the mock ({}), not {:?}",
                self.hosts.join(", "),
                host.unwrap_or("")
            ),
        ))
    }

    /// Why the console's page may not be served: on loopback, a name that
    /// is not the mock's. With a token the page is served to anyone (it
    /// holds no data; each request it makes needs the token).
    fn page_refusal(&self, headers: &HeaderMap) -> Option<ApiError> {
        match self.token {
            Some(_) => None,
            None => self.foreign_host(headers),
        }
    }
}

/// Compares a secret without stopping at the first differing byte, so the
/// answer's time says nothing about how much of a guess was right.
fn same_secret(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The layer on every control route: refuses what [`ControlAccess`] does
/// not allow, before the handler reads the body.
pub(crate) async fn check(
    State(access): State<Arc<ControlAccess>>,
    request: Request,
    next: Next,
) -> Response {
    match access.refusal(request.method(), request.headers()) {
        Some(refusal) => {
            let mut answer = refusal.into_response();
            if answer.status() == StatusCode::UNAUTHORIZED {
                answer.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"jodo-mock control\""),
                );
            }
            answer
        }
        None => next.run(request).await,
    }
}

/// The layer on the console's files: [`ControlAccess::page_refusal`].
pub(crate) async fn check_page(
    State(access): State<Arc<ControlAccess>>,
    request: Request,
    next: Next,
) -> Response {
    match access.page_refusal(request.headers()) {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn code(access: &ControlAccess, method: Method, pairs: &[(&str, &str)]) -> Option<StatusCode> {
        access
            .refusal(&method, &headers(pairs))
            .map(|e| e.into_response().status())
    }

    #[test]
    fn on_loopback_a_script_needs_no_token_but_a_rebound_name_is_refused() {
        let a = ControlAccess::new("127.0.0.1:8443".parse().unwrap(), None);
        assert_eq!(a.token(), None);
        assert_eq!(code(&a, Method::GET, &[("host", "127.0.0.1:8443")]), None);
        assert_eq!(code(&a, Method::GET, &[("host", "localhost:8443")]), None);
        assert_eq!(
            code(&a, Method::GET, &[("host", "evil.example:8443")]),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(code(&a, Method::GET, &[]), Some(StatusCode::FORBIDDEN));
    }

    #[test]
    fn a_change_needs_json_and_the_mocks_own_origin() {
        let a = ControlAccess::new("127.0.0.1:8443".parse().unwrap(), None);
        let host = ("host", "127.0.0.1:8443");
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(code(&a, Method::POST, &[host, json]), None);
        assert_eq!(
            code(
                &a,
                Method::POST,
                &[host, json, ("origin", "https://127.0.0.1:8443")]
            ),
            None
        );
        assert_eq!(
            code(&a, Method::POST, &[host, ("content-type", "text/plain")]),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            code(
                &a,
                Method::PUT,
                &[host, json, ("origin", "https://evil.example")]
            ),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            code(&a, Method::POST, &[host]),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    #[test]
    fn beyond_loopback_every_request_needs_the_token() {
        let a = ControlAccess::new("0.0.0.0:8443".parse().unwrap(), None);
        let token = a.token().expect("a token is made").to_owned();
        assert_eq!(token.len(), 48);
        let host = ("host", "192.0.2.7:8443");
        assert_eq!(
            code(&a, Method::GET, &[host]),
            Some(StatusCode::UNAUTHORIZED)
        );
        let bearer = format!("Bearer {token}");
        assert_eq!(
            code(&a, Method::GET, &[host, ("authorization", &bearer)]),
            None
        );
        let wrong = format!("Bearer {}x", &token[..47]);
        assert_eq!(
            code(&a, Method::GET, &[host, ("authorization", &wrong)]),
            Some(StatusCode::UNAUTHORIZED)
        );
        let given = ControlAccess::new("127.0.0.1:1".parse().unwrap(), Some("s3cret".into()));
        assert_eq!(given.token(), Some("s3cret"));
        assert_eq!(
            code(&given, Method::GET, &[("host", "127.0.0.1:1")]),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
}
