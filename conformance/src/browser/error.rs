//! Why no browser could be driven; each error says what to install or fix.

/// Why no browser could be driven. Each says what to install or fix.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// A program is not installed.
    #[error(
        "{what} is not installed; scripts/install-deps installs it (chromium and chromium-driver, firefox-esr, webkit2gtk-driver and xvfb from apt; geckodriver with `cargo install geckodriver --locked`)"
    )]
    Missing {
        /// The missing program.
        what: &'static str,
    },
    /// The driver did not start.
    #[error("the WebDriver server did not start: {0}")]
    DriverStart(String),
    /// The driver refused or failed to create a session.
    #[error("the browser did not start through WebDriver at {url}: {message}")]
    Session {
        /// Endpoint used.
        url: String,
        /// The driver's explanation.
        message: String,
    },
    /// The temporary profile folder could not be made.
    #[error("cannot create a temporary browser profile: {0}")]
    Profile(std::io::Error),
    /// The session's BiDi socket could not be used.
    #[error(transparent)]
    Bidi(#[from] super::bidi::BidiError),
}
