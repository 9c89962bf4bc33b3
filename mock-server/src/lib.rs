//! jodo-mock: a scriptable mock of the Jodo widget backend.
//!
//! # Layout
//! - [`scenario`]: per-session state machines loaded from `scenarios/`.
pub mod scenario;
