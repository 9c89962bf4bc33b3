//! The Jodo widget contract, as data the mock and the runner share.
//!
//! # Layout
//! - [`bundle`]: the `schemas/` folder, embedded at build time so installed
//!   binaries carry the contract they were built against.
//! - [`catalog`]: the catalogue of methods, events, status codes and
//!   external-data fields; the only list of them in the project.
//! - [`schema`]: the [`Contract`]: the catalogue and every JSON Schema,
//!   compiled once, with errors that name the JSON pointer and the
//!   catalogue entry.
//! - [`wire`]: frame types of the widget ↔ server protocol, and
//!   [`dialect`]: how a build's own protocol carries them.
//! - [`yaml`]: YAML with line numbers, for errors people can act on, and
//!   [`checked`]: a data file read through its schema into its type.
//! - [`generate`]: per-event schemas derived from the catalogue.
//! - [`profile`]: strict and compat readings of the contract.
//! - [`clock`]: the timestamp forms the contract fixes.

pub mod bundle;
pub mod catalog;
pub mod checked;
pub mod clock;
pub mod dialect;
pub mod field_values;
pub mod generate;
pub mod profile;
pub mod schema;
pub mod wire;
pub mod yaml;

pub use catalog::{Catalog, EventEntry, MethodEntry};
pub use profile::Profile;
pub use schema::{Contract, ContractError, Direction, SchemaError, UnknownKind};
