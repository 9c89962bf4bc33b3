//! The page under certification: an `http(s)://` URL (typically the
//! integrator's dev server), or a local HTML file the kit serves from its
//! folder on loopback.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::page_server::PageServer;

/// Where the page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageTarget {
    /// A URL, loaded as it is.
    Url(String),
    /// A file, served with its folder.
    File(PathBuf),
}

impl FromStr for PageTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("http://") || s.starts_with("https://") {
            url::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
            return Ok(Self::Url(s.to_owned()));
        }
        if s.contains("://") {
            return Err(format!(
                "{s:?}: only http:// and https:// pages (or a local .html file) can be certified"
            ));
        }
        Ok(Self::File(PathBuf::from(s)))
    }
}

/// The page, reachable by the browser.
#[derive(Debug)]
pub struct ServedPage {
    /// The URL to load.
    pub url: String,
    /// Its origin (`scheme://host[:port]`), which the mock admits.
    pub origin: String,
    /// The server of a local file, kept alive while the page is used.
    _server: Option<PageServer>,
}

/// Why a page cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The file does not exist or is not HTML.
    #[error("{0}: no such HTML file (give an http(s):// URL or a local .html file)")]
    NoFile(String),
    /// The folder could not be served.
    #[error("cannot serve {path}: {source}")]
    Serve {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl PageTarget {
    /// Makes the page reachable: a URL as it is, a file through a page
    /// server on loopback.
    ///
    /// # Errors
    /// [`TargetError`] for a missing file or a server that cannot start.
    pub async fn serve(&self) -> Result<ServedPage, TargetError> {
        match self {
            PageTarget::Url(url) => Ok(ServedPage {
                origin: origin_of(url),
                url: url.clone(),
                _server: None,
            }),
            PageTarget::File(path) => {
                let shown = path.display().to_string();
                let is_html = path.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm")
                });
                if !path.is_file() || !is_html {
                    return Err(TargetError::NoFile(shown));
                }
                let folder = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let server =
                    PageServer::start(folder)
                        .await
                        .map_err(|source| TargetError::Serve {
                            path: shown,
                            source,
                        })?;
                Ok(ServedPage {
                    url: server.url(&name),
                    origin: server.origin(),
                    _server: Some(server),
                })
            }
        }
    }
}

/// `scheme://host[:port]` of a URL (the default port left out, as browsers
/// write an Origin header).
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The host of a URL, lower case.
pub fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_files_are_told_apart_and_origins_are_as_browsers_send_them() {
        assert_eq!(
            "https://shop.test/help".parse::<PageTarget>(),
            Ok(PageTarget::Url("https://shop.test/help".into()))
        );
        assert!(matches!(
            "page.html".parse::<PageTarget>(),
            Ok(PageTarget::File(_))
        ));
        assert!("ftp://x/y".parse::<PageTarget>().is_err());
        assert_eq!(origin_of("https://shop.test:443/a"), "https://shop.test");
        assert_eq!(
            origin_of("http://127.0.0.1:8080/a?b"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            host_of("https://MyJodo.JodoWorld.com:4443/x").as_deref(),
            Some("myjodo.jodoworld.com")
        );
    }
}
