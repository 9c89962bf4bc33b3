//! Where the SDK under test runs: the kit's own host page, served by the
//! backend, or a page at a URL of the user's.

use crate::backend::Backend;

/// The page cases run in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Page {
    /// The kit's host page (`fixtures/host/index.html`), served by the
    /// backend with the probe preloaded.
    #[default]
    KitHost,
    /// A page of the user's, loaded as it is.
    Url(String),
}

impl Page {
    /// Whether the probe may evaluate a case's expressions in the page:
    /// the kit's host page allows it; a page of the user's may forbid eval
    /// in its Content-Security-Policy, so there the runner does it through
    /// WebDriver.
    pub fn evals_in_page(&self) -> bool {
        matches!(self, Page::KitHost)
    }

    /// The URL to load for a case (`None`: for the build's version, before
    /// any case runs).
    pub fn url(&self, backend: &dyn Backend, case: Option<&str>) -> String {
        match self {
            Page::KitHost => match case {
                Some(id) => format!("{}/?case={id}", backend.origin()),
                None => format!("{}/?probe=version", backend.origin()),
            },
            Page::Url(url) => url.clone(),
        }
    }
}
