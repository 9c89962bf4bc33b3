//! How the mock says no: error answers in the shape of
//! `schemas/wire/error-response.schema.json`, so handlers just use `?`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::gateway::Refusal;

/// An error answer with a stable code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error answer with a stable code and a message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A JSON body that could not be taken: 413 `too_large` past `limit`
    /// (the body is read no further), 400 `bad_request` otherwise.
    pub fn json_rejection(e: &axum::extract::rejection::JsonRejection, limit: usize) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("request body over {limit} bytes"),
            )
        } else {
            Self::bad_request(e.body_text())
        }
    }

    /// The same answer with another stable code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        Self::new(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::FORBIDDEN),
            r.code(),
            r.message(),
        )
    }
}

/// The body of an error answer.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Why a WebSocket upgrade is refused: a status and a plain-text reason,
/// which is all a browser's WebSocket shows of a failed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRefusal {
    /// HTTP status of the refused handshake.
    pub status: StatusCode,
    /// Why (some reasons name the dialect's query parameters).
    pub reason: std::borrow::Cow<'static, str>,
}

impl UpgradeRefusal {
    /// A refusal.
    pub fn new(status: StatusCode, reason: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

impl IntoResponse for UpgradeRefusal {
    fn into_response(self) -> Response {
        (self.status, self.reason).into_response()
    }
}
