//! Real browsers through WebDriver: the driver process and the session.
//!
//! [`driver`] owns the chromedriver or geckodriver process and guarantees it and every
//! browser it started are gone when it is dropped; [`session`] opens a
//! WebDriver session with the capabilities measured to work here.

pub mod bidi;
pub mod display;
pub mod driver;
pub mod error;
pub mod group;
pub mod session;

pub use bidi::{Bidi, BidiError};
pub use error::BrowserError;
pub use session::{Browser, BrowserKind, BrowserOptions};
