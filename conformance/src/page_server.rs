//! Serves a folder of pages over plain HTTP on loopback: an integrator's
//! local `FILE.html` (`certify --page FILE.html`), and the test pages of
//! the kit. A file `NAME.headers` beside `NAME` adds response headers to
//! it, one `Header: value` per line, so a page can come with its own
//! Content-Security-Policy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A running page server.
#[derive(Debug)]
pub struct PageServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl PageServer {
    /// Serves `root` on a free loopback port.
    ///
    /// # Errors
    /// The I/O error when no port can be bound.
    pub async fn start(root: &Path) -> std::io::Result<Self> {
        Self::start_on(root, 0).await
    }

    /// Serves `root` on loopback port `port` (0: a free one).
    ///
    /// # Errors
    /// The I/O error when the port cannot be bound.
    pub async fn start_on(root: &Path, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(
                "/",
                get(|s: State<PathBuf>| serve(s, UrlPath("index.html".into()))),
            )
            .route("/{*path}", get(serve))
            .with_state(root.to_path_buf());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of a file under the root.
    pub fn url(&self, file: &str) -> String {
        format!("{}/{}", self.origin(), file.trim_start_matches('/'))
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(root): State<PathBuf>, UrlPath(path): UrlPath<String>) -> Response {
    // Only plain names below the root: no `..`, no absolute paths.
    let clean = Path::new(&path)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !clean {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = root.join(&path);
    let Ok(body) = tokio::fs::read(&file).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut headers = HeaderMap::new();
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let sidecar = PathBuf::from(format!("{}.headers", file.display()));
    if let Ok(text) = tokio::fs::read_to_string(&sidecar).await {
        for line in text.lines() {
            if let Some((name, value)) = line.split_once(':') {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.trim().as_bytes()),
                    HeaderValue::from_str(value.trim()),
                ) {
                    headers.insert(n, v);
                }
            }
        }
    }
    (headers, body).into_response()
}
