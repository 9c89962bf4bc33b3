//! Where the SDK under test runs: the kit's own host page, served by the
//! backend, or a page at a URL of the user's; and how each case gets it
//! afresh.

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

/// How each case gets a fresh page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Fresh {
    /// A new frame in a page the worker keeps open (the mock serves it):
    /// the previous frame's document, with everything the widget left in
    /// it, is removed, and the top-level navigation WebDriver would wait
    /// for (most of a case's harness time) is not paid. The kit's host
    /// page only; any other page is navigated to.
    #[default]
    Frame,
    /// A top-level navigation per case, for a build that behaves otherwise
    /// inside a frame.
    Navigate,
}

/// Where a case's page is loaded, as the executor needs it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The page's URL.
    pub url: String,
    /// The worker's shell page when the case's page is opened in a frame
    /// of it; `None`: navigated to.
    pub shell: Option<String>,
    /// Whether the probe may evaluate expressions (see [`Page::evals_in_page`]).
    pub evals_in_page: bool,
}

impl Page {
    /// Where a case (or, with `None`, the version probe) is loaded.
    pub fn target(&self, backend: &dyn Backend, case: Option<&str>, fresh: Fresh) -> Target {
        Target {
            url: self.url(backend, case),
            shell: match (self, fresh) {
                (Page::KitHost, Fresh::Frame) => backend.shell_url(),
                _ => None,
            },
            evals_in_page: self.evals_in_page(),
        }
    }
}
