//! A live run (`run --live`): the kit's host page, served on loopback,
//! loads the SDK from the Jodo host as a real page would; the intercepting
//! proxy passes the Jodo hosts' requests to the real backend, or to the
//! staging server `--upstream` names, and records the wire; the probe
//! arrives over WebDriver BiDi, so the build is run exactly as served (or
//! as `--widget` gives it). The kit scripts nothing here: the backend
//! provides no [`Capability`], and the cases that need one are reported
//! not applicable.
//!
//! Before any browser starts, [`preflight`] fetches the SDK script through
//! the same TLS settings, so an unreachable upstream or a certificate the
//! kit does not trust is a clear error, not sixty failed cases.

use std::path::Path;
use std::time::Duration;

use http_body_util::BodyExt;
use hudsucker::hyper::{Request, StatusCode};
use hudsucker::hyper_util::client::legacy::Client;
use hudsucker::hyper_util::rt::TokioExecutor;

use crate::backend::{Backend, BackendError, Stopping};
use crate::case::{Capability, Case};
use crate::page_server::PageServer;
use crate::proxy::{self, InterceptProxy, ProxyError, ProxyRoutes};

/// The host the spec's examples load the SDK from and name as serverpath.
pub const SPEC_JODO_HOST: &str = "myjodo.jodoworld.com";

/// How long the preflight may take.
const PREFLIGHT_LIMIT: Duration = Duration::from_secs(10);

/// What a live run talks to.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// `HOST:PORT` of a staging server that answers for the Jodo hosts;
    /// `None`: the Jodo hosts themselves.
    pub upstream: Option<String>,
    /// DER certificates to trust for it besides the public roots.
    pub trust: Vec<Vec<u8>>,
    /// The Jodo host the page names as serverpath and loads the SDK from.
    pub jodo_host: String,
    /// The page's keys.
    pub akey: String,
    /// The page's keys.
    pub skey: String,
    /// The build to run instead of the one the backend serves.
    pub widget: Option<jodo_mock::WidgetBuild>,
    /// The script the backend served at [`preflight`].
    pub served: Option<Vec<u8>>,
    /// Loopback port for the host page (0: any), so that a staging
    /// server's Origin allowlist can name `http://127.0.0.1:PORT`.
    pub page_port: u16,
}

impl LiveOptions {
    /// The SDK script's URL as the page writes it.
    pub fn widget_url(&self) -> String {
        format!("https://{}{}", self.jodo_host, jodo_mock::WIDGET_PATH)
    }

    /// Where requests really go, for messages.
    pub fn server(&self) -> String {
        match &self.upstream {
            Some(u) => format!("https://{u}"),
            None => format!("https://{}", self.jodo_host),
        }
    }

    /// The build the run tests: `--widget`'s, or the backend's own.
    pub fn build(&self) -> jodo_mock::WidgetBuild {
        match &self.widget {
            Some(w) => w.clone(),
            None => jodo_mock::WidgetBuild {
                name: format!("{} (served by {})", self.widget_url(), self.server()),
                script: self.served.clone().unwrap_or_default(),
            },
        }
    }

    /// The secrets and the names they are shown under in reports.
    pub fn secrets(&self) -> Vec<(String, &'static str)> {
        vec![(self.akey.clone(), "akey"), (self.skey.clone(), "skey")]
    }
}

/// Why a live run cannot start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Nothing answered, or TLS failed.
    #[error("cannot reach {server}: {why}")]
    Unreachable {
        /// The server.
        server: String,
        /// The chain of causes.
        why: String,
    },
    /// It answered, but not with a script.
    #[error("{server} answered HTTP {status} for the SDK script {url}")]
    NoScript {
        /// The server.
        server: String,
        /// The status.
        status: u16,
        /// The script's URL.
        url: String,
    },
    /// No answer in time.
    #[error("{server} did not answer within {} s", PREFLIGHT_LIMIT.as_secs())]
    Slow {
        /// The server.
        server: String,
    },
    /// The proxy or its TLS client.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The page server.
    #[error("cannot serve the host page: {0}")]
    Page(#[from] std::io::Error),
}

fn causes(err: &dyn std::error::Error) -> String {
    let mut why = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !why.contains(&text) {
            why = format!("{why}: {text}");
        }
        source = s.source();
    }
    why
}

/// Fetches the SDK script from the backend as the proxy will: its bytes.
///
/// # Errors
/// [`LiveError`] naming the server and why (refused, TLS, a non-200).
pub async fn preflight(options: &LiveOptions) -> Result<Vec<u8>, LiveError> {
    let server = options.server();
    let tls = proxy::client_config(&options.trust)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client: Client<_, http_body_util::Empty<hudsucker::hyper::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build(https);
    let url = format!("{server}{}", jodo_mock::WIDGET_PATH);
    let request = Request::get(&url)
        .header("host", options.jodo_host.as_str())
        .header("x-forwarded-host", options.jodo_host.as_str())
        .body(http_body_util::Empty::new())
        .map_err(|e| LiveError::Unreachable {
            server: server.clone(),
            why: e.to_string(),
        })?;
    let fetch = async {
        let response = client.request(request).await.map_err(|e| {
            let mut why = causes(&e);
            if why.contains("certificate") {
                why.push_str(
                    " (if the server's certificate is its own, trust it with --upstream-ca FILE)",
                );
            }
            LiveError::Unreachable {
                server: server.clone(),
                why,
            }
        })?;
        if response.status() != StatusCode::OK {
            return Err(LiveError::NoScript {
                server: server.clone(),
                status: response.status().as_u16(),
                url: options.widget_url(),
            });
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| LiveError::Unreachable {
                server: server.clone(),
                why: causes(&e),
            })?;
        Ok(body.to_bytes().to_vec())
    };
    tokio::time::timeout(PREFLIGHT_LIMIT, fetch)
        .await
        .map_err(|_| LiveError::Slow {
            server: server.clone(),
        })?
}

/// The kit's host page for a live run: the SDK from the Jodo host, the
/// page's keys, no preload (the probe comes over BiDi).
fn host_page(options: &LiveOptions) -> String {
    jodo_mock::site::host_page_loading(
        &format!("https://{}", options.jodo_host),
        &options.akey,
        &options.skey,
        &options.widget_url(),
    )
}

/// A backend the kit does not script, reached through the proxy.
#[derive(Debug)]
pub struct LiveBackend {
    proxy: InterceptProxy,
    page: PageServer,
    _dir: tempfile::TempDir,
}

impl LiveBackend {
    /// Serves the host page and starts the proxy.
    ///
    /// # Errors
    /// [`LiveError`] when either cannot start.
    pub async fn start(options: &LiveOptions) -> Result<Self, LiveError> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("index.html"), host_page(options))?;
        let page = PageServer::start_on(dir.path(), options.page_port).await?;
        let proxy = InterceptProxy::start_with(ProxyRoutes {
            jodo_hosts: vec![options.jodo_host.clone()],
            target: options.upstream.clone(),
            trust: options.trust.clone(),
            widget: options.widget.as_ref().map(|w| w.script.clone()),
        })
        .await?;
        Ok(Self {
            proxy,
            page,
            _dir: dir,
        })
    }
}

impl Backend for LiveBackend {
    fn provides(&self) -> &[Capability] {
        &[]
    }

    fn origin(&self) -> String {
        self.page.origin()
    }

    fn prepare(&self, _case: &Case) -> Result<(), BackendError> {
        Ok(())
    }

    fn trigger(&self, name: &str) -> Result<(), BackendError> {
        Err(BackendError::NotScripted(name.to_owned()))
    }

    fn proxy(&self) -> Option<&InterceptProxy> {
        Some(&self.proxy)
    }

    fn shutdown(self: Box<Self>) -> Stopping {
        Box::pin(async move {
            self.proxy.shutdown().await;
        })
    }
}

/// Reads a certificate file for `--upstream-ca`: PEM (one or more
/// certificates) or DER.
///
/// # Errors
/// A message naming the file.
pub fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(vec![bytes]);
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE block in it", path.display()));
    }
    Ok(certs)
}
