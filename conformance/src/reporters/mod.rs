//! Reporters: listeners to a run's [`crate::events::RunEvent`]s that
//! render as it goes. [`console`] draws progress and one line per case for
//! people; [`jsonl`] writes one JSON object per event for tools.

pub mod console;
pub mod jsonl;

pub use console::Console;
pub use jsonl::JsonLines;
