//! One certification, in order: serve the page, start the mock, the proxy
//! and a browser with the probe preloaded; load the page once to read it;
//! admit its origin and keys; run the trials, the built-in cases and the
//! journeys on it, watching wire and console; judge the page checks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jodo_contract::{Contract, ContractError, Profile, clock};
use jodo_mock::gateway::{KeyPair, Limits};
use jodo_mock::{StartError, WidgetBuild};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::discovery::{self, DiscoveryError};
use super::page_checks::{self, Evidence};
use super::report::{CERTIFY_REPORT_VERSION, CertifyReport, PageInfo, certification};
use super::target::{PageTarget, TargetError, host_of};
use super::trials::{self, SensitiveInput};
use crate::backend::MockBackend;
use crate::browser::{Bidi, BidiError, Browser, BrowserError, BrowserOptions};
use crate::case::{self, Case, CaseError};
use crate::checks::CheckContext;
use crate::events::{Clock, Reporter, RunEventKind};
use crate::page::Page;
use crate::proxy::{InterceptProxy, ProxyError};
use crate::report::{BrowserInfo, CaseReport, Summary, WidgetInfo};
use crate::verdict;
use crate::worker::{CaseSetting, Watch, run_one};

/// The host the spec's example loads the SDK from; always a Jodo host.
pub const DEFAULT_JODO_HOST: &str = "myjodo.jodoworld.com";

/// What to certify and how.
#[derive(Debug, Clone)]
pub struct CertifyOptions {
    /// The page.
    pub page: PageTarget,
    /// The SDK build the kit serves for the Jodo script host; the reference
    /// build when absent.
    pub widget: Option<PathBuf>,
    /// The browser.
    pub browser: BrowserOptions,
    /// More hosts to answer from the mock (besides the spec's script host,
    /// the page's serverpath host, and any host asking for a Jodo path).
    pub jodo_hosts: Vec<String>,
    /// Only built-in cases whose id contains one of these (all when empty).
    pub filter: Vec<String>,
    /// Case files of the integrator's own journeys.
    pub journeys: Vec<PathBuf>,
    /// The contract profile.
    pub profile: Profile,
    /// Known results of the build in this browser (cases that end so are
    /// not held against the page).
    pub known: crate::known_results::KnownResults,
}

/// Why a certification could not be made (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    /// The contract did not load (a broken build).
    #[error("the contract does not load: {0}")]
    Contract(#[from] ContractError),
    /// The page cannot be reached or served.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The page is not one the kit can certify.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The build could not be read.
    #[error("cannot read widget build {path}: {source}")]
    Widget {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The mock did not start.
    #[error("the mock server did not start: {0}")]
    Mock(#[from] StartError),
    /// The proxy did not start.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// No browser.
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// BiDi failed.
    #[error(transparent)]
    Bidi(#[from] BidiError),
    /// Cases or journeys could not be read.
    #[error(transparent)]
    Cases(#[from] CaseError),
}

/// A PNG of the page, base64.
async fn screenshot(bidi: &Bidi) -> Option<String> {
    let tree = bidi
        .command("browsingContext.getTree", json!({}))
        .await
        .ok()?;
    let context = tree["contexts"][0]["context"].as_str()?.to_owned();
    let shot = bidi
        .command(
            "browsingContext.captureScreenshot",
            json!({"context": context}),
        )
        .await
        .ok()?;
    shot["data"].as_str().map(str::to_owned)
}

/// Certifies the page, telling `reporter` about each case as it finishes.
///
/// # Errors
/// [`CertifyError`] when the certification cannot be made; a page that
/// fails checks is a report, not an error.
pub async fn certify(
    options: &CertifyOptions,
    reporter: &mut dyn Reporter,
) -> Result<CertifyReport, CertifyError> {
    let started = Instant::now();
    let started_at = clock::rfc3339_now();
    let events = Clock::start();
    let contract = Arc::new(Contract::embedded()?);
    let served = options.page.serve().await?;
    let widget = match &options.widget {
        Some(path) => WidgetBuild::from_file(path).map_err(|source| CertifyError::Widget {
            path: path.display().to_string(),
            source,
        })?,
        None => WidgetBuild::reference(),
    };
    let mut built_in = case::builtin(&contract)?;
    if !options.filter.is_empty() {
        built_in.retain(|c| options.filter.iter().any(|f| c.id.contains(f.as_str())));
    }
    let journeys = options
        .journeys
        .iter()
        .map(|p| case::from_file(p, &contract))
        .collect::<Result<Vec<_>, _>>()?;
    let backend = MockBackend::start(
        contract.clone(),
        widget.clone(),
        crate::probe::preload(),
        None,
    )
    .await?;
    let (target, cert) = backend.intercept_target();
    let hosts =
        std::iter::once(DEFAULT_JODO_HOST.to_owned()).chain(options.jodo_hosts.iter().cloned());
    let proxy = InterceptProxy::start(hosts, target, cert).await?;
    let mut browser: Browser =
        crate::probe::browser_with_probe::<CertifyError>(&options.browser, proxy.address()).await?;

    // The first load: what the page is.
    browser
        .client()
        .goto(&served.url)
        .await
        .map_err(|e| DiscoveryError::NotLoaded {
            url: served.url.clone(),
            message: e.to_string(),
        })?;
    let first_load = proxy.log().entries();
    let document = discovery::document_of(&first_load, &served.url);
    match &document {
        Some(d) if d.proxy_error().is_some() => {
            return Err(DiscoveryError::NotLoaded {
                url: served.url.clone(),
                message: format!("nothing answered: {}", d.proxy_error().unwrap_or_default()),
            }
            .into());
        }
        Some(d) if d.status >= 400 => {
            return Err(DiscoveryError::NotLoaded {
                url: served.url.clone(),
                message: format!("it answered HTTP {}", d.status),
            }
            .into());
        }
        None => {
            return Err(DiscoveryError::NotLoaded {
                url: served.url.clone(),
                message: "the browser never fetched it (a port or address it refuses?)".into(),
            }
            .into());
        }
        _ => {}
    }
    let mut found = discovery::discover(browser.client(), &served.url).await?;
    found.document = document;
    let (akey, skey) = found.keys.clone().unwrap_or_default();
    let secrets: Vec<(String, &'static str)> = vec![(akey.clone(), "akey"), (skey.clone(), "skey")];
    let hide = |text: &str| {
        let mut text = text.to_owned();
        for (s, name) in &secrets {
            if !s.is_empty() {
                text = text.replace(s.as_str(), &format!("[{name}]"));
            }
        }
        text
    };
    found.wire = first_load.into_iter().map(|e| e.map_text(&hide)).collect();
    backend.admit(
        served.origin.clone(),
        (!akey.is_empty()).then(|| KeyPair {
            akey: akey.clone(),
            skey: skey.clone(),
            limits: Limits::default(),
        }),
    );
    if let Some(host) = found
        .extdata
        .as_ref()
        .and_then(|e| e.get("serverpath"))
        .and_then(Value::as_str)
        .and_then(host_of)
    {
        proxy.add_jodo_host(&host);
    }
    let browser_info = BrowserInfo {
        name: browser.name.clone(),
        version: browser.version.clone(),
    };
    let widget_info = WidgetInfo {
        file: widget.name.clone(),
        sha256: hex::encode(Sha256::digest(&widget.script)),
        sdk_version: None,
    };
    reporter.report(&events.event(RunEventKind::RunStarted {
        cases: 3 + built_in.len() + journeys.len(),
        jobs: 1,
        profile: options.profile.name().into(),
        widget: &widget_info,
        browser: &browser_info,
    }));

    let ctx = CheckContext {
        schemas: &contract,
        profile: options.profile,
        secrets: vec![akey.clone(), skey.clone()],
    };
    let page = Page::Url(served.url.clone());
    let mut reports: Vec<(Case, CaseReport)> = Vec::new();
    let mut containers = None;
    let mut screenshot_png = None;
    let mut masking = (Vec::new(), None);
    let mut raw_details = None;
    let mut sensitive: Vec<SensitiveInput> = Vec::new();
    let plan: Vec<(Case, bool)> = [trials::session_start()]
        .into_iter()
        .map(|c| (c, false))
        .chain(built_in.into_iter().map(|c| (c, false)))
        .chain(journeys.into_iter().map(|c| (c, true)))
        .collect();
    let mut queue: std::collections::VecDeque<(Case, bool)> = plan.into();
    let mut index = 0;
    while let Some((case, journey)) = queue.pop_front() {
        let watch = Watch {
            proxy: Some(&proxy),
            bidi: browser.bidi(),
            secrets: &secrets,
        };
        let setting = CaseSetting {
            ctx: &ctx,
            page: &page,
            // The integrator's page, as it is: navigated to, never framed.
            fresh: crate::page::Fresh::Navigate,
            timeout: None,
            watch: Some(&watch),
        };
        reporter.report(&events.event(RunEventKind::CaseStarted {
            index,
            id: &case.id,
        }));
        let (mut report, unresponsive) = run_one(&browser, &backend, &case, &setting).await;
        verdict::settle(&mut report, &options.known, options.profile);
        if journey {
            report.area = "journey".into();
        }
        let client = browser.client();
        match case.id.as_str() {
            "page-session-start" => {
                containers = client
                    .execute(
                        trials::FIND_CONTAINERS,
                        vec![trials::container_fields(&contract)],
                    )
                    .await
                    .ok();
                if let Some(b) = browser.bidi() {
                    screenshot_png = screenshot(b).await;
                }
                sensitive = client
                    .execute(trials::FIND_SENSITIVE, vec![])
                    .await
                    .ok()
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default();
                if !sensitive.is_empty() {
                    queue.push_front((trials::masking(&sensitive), false));
                }
                queue.push_front((trials::failure(), false));
            }
            "page-cobrowse-masking" => {
                let leaked = trials::snapshot_sent(&report).then(|| {
                    trials::leaked_inputs(&report, &sensitive)
                        .into_iter()
                        .cloned()
                        .collect()
                });
                masking = (sensitive.clone(), leaked);
            }
            "page-failure-message" => {
                let got = report
                    .probe
                    .events
                    .iter()
                    .any(|e| e.event["eventtype"] == "APINotConnected");
                if got {
                    let visible = client
                        .execute(trials::VISIBLE_TEXT, vec![])
                        .await
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    raw_details = Some(trials::raw_details_shown(&report, &visible));
                }
            }
            _ => {}
        }
        reporter.report(&events.event(RunEventKind::CaseFinished {
            index,
            case: &report,
        }));
        index += 1;
        reports.push((case, report));
        if unresponsive {
            browser.kill().await;
            browser =
                crate::probe::browser_with_probe::<CertifyError>(&options.browser, proxy.address())
                    .await?;
        }
    }
    if masking.0.is_empty() {
        masking.0 = sensitive.clone();
    }
    let jodo_hosts = proxy.jodo_hosts();
    let evidence = Evidence {
        contract: &contract,
        discovery: &found,
        cases: reports.iter().map(|(c, r)| (c, r)).collect(),
        containers,
        masking,
        raw_details,
        jodo_hosts: &jodo_hosts,
        page: (&served.url, &served.origin),
    };
    let checks = page_checks::run_all(&evidence);
    browser.shutdown().await;
    proxy.shutdown().await;
    crate::backend::Backend::shutdown(Box::new(backend)).await;
    let (journeys, cases): (Vec<_>, Vec<_>) = reports
        .into_iter()
        .map(|(_, r)| r)
        .partition(|r| r.area == "journey");
    Ok(CertifyReport {
        report_version: CERTIFY_REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        spec: contract.catalog().spec.clone(),
        started_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        verdict: certification(&checks),
        page: PageInfo {
            url: served.url.clone(),
            origin: served.origin.clone(),
            sha256: found.document.as_ref().map(|d| d.sha256.clone()),
            extdata: found.extdata.clone(),
        },
        widget: widget_info,
        browser: browser_info,
        jodo_hosts,
        checks,
        summary: Summary::of(&cases),
        cases,
        journeys,
        screenshot_png,
    })
}
