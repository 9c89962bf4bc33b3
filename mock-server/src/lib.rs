//! jodo-mock: a scriptable mock of the Jodo widget backend over HTTPS/WSS.
//!
//! # Layout
//! - [`scenario`]: per-session state machines loaded from `scenarios/`.
//! - [`gateway`]: API keys and the Origin allowlist.
//! - [`session`]: sessions, channel tokens and resume secrets.
//! - [`transcript`]: what a session keeps of its frames, in memory and on disk.
//! - [`conversation`]: a session's protocol state, carried across channels.
//! - [`pages`]: the widget build, host page and probe served to browsers.
//! - [`http`], [`ws`] and [`control`]: the routes; the only modules that know HTTP.
//! - [`tls`]: the certificate the mock presents.
//! - [`server`]: configuration, start and shutdown.
//! - [`bench`]: load on loopback against a baseline measured in the same run.

pub mod bench;
pub mod control;
pub mod conversation;
pub mod gateway;
pub mod http;
pub mod pages;
pub mod scenario;
pub mod server;
pub mod session;
pub mod tls;
pub mod transcript;
pub mod ws;

pub use server::{MockConfig, MockServer};
