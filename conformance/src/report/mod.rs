//! The report: the typed model every run ends in ([`model`], with the
//! self-test's [`kill_matrix`]) and its renderings, which read the model
//! and decide nothing: [`junit`], [`html`], [`har`] (a case's wire), and
//! [`files`], which writes them all.

pub mod files;
pub mod har;
pub mod html;
pub mod junit;
pub mod kill_matrix;
pub mod model;

pub use files::write_all;
pub use kill_matrix::{KillMatrix, KillVerdict, MutantResult};
pub use model::{
    BrowserInfo, CaseReport, CheckResult, Failure, Interrupted, Outcome, REPORT_VERSION, RunReport,
    Status, Summary, Timing, Tone, WidgetInfo,
};
