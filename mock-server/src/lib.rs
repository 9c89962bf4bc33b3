//! jodo-mock: a scriptable mock of the Jodo widget backend over HTTPS/WSS.
//!
//! The public surface is small: [`MockConfig`] and [`MockServer`] to run
//! one, [`scenario`] to load and read scenarios, [`gateway`] for keys and
//! limits, [`tls`] for certificates; everything else is internal, so it can
//! change without breaking a user.
//!
//! # Layout, from the bottom up
//! - [`scenario`]: per-session state machines loaded from `scenarios/`; no I/O.
//! - [`gateway`]: API keys, the Origin allowlist and rate limits.
//! - `session` and `transcript`: sessions, channel tokens, resume
//!   secrets, and what a session keeps of its frames.
//! - `conversation`: a session's protocol, frames in and frames out,
//!   without a socket; `parking` keeps it while a dropped session waits.
//! - `site`: the widget build, host page and preload script served to browsers.
//! - `state`: the configuration and the state every route shares.
//! - `api_error` and `origin`: how the routes say no, and for whom they answer;
//!   `control_access`: who may use the control API.
//! - `routes`: the HTTP and WebSocket routes; the only code that knows HTTP;
//!   the agent console (`console/`, built in) is served there and uses only
//!   the control API.
//! - [`tls`]: the certificate the mock presents.
//! - `server`: start, stop, and the little a caller may ask of a running mock.

mod api_error;
mod control_access;
mod conversation;
mod first_byte;
mod frame_meter;
pub mod gateway;
mod ids;
mod origin;
mod parking;
pub mod recording;
mod routes;
pub mod scenario;
mod server;
mod session;
pub mod site;
mod state;
pub mod tls;
mod transcript;

pub use control_access::ControlAccess;
pub use routes::console::CONSOLE_PATH;
pub use routes::session_api::SCENARIO_HINT;
pub use server::{MockServer, StartError, TriggerError};
pub use session::SessionSummary;
pub use site::{PRELOAD_PATH, Preload, SHELL_PATH, WIDGET_PATH, WidgetBuild};
pub use state::{
    ChannelLimits, ConfigError, DEFAULT_CONTROL_BODY_BYTES, DEFAULT_OPEN_SESSIONS,
    DEFAULT_SESSIONS_KEPT, MockConfig, OpenSessions,
};
