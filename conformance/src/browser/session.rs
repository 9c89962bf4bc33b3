//! A WebDriver session in a real browser, local or remote.

use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use super::bidi::{Bidi, BidiError};
use super::display::VirtualDisplay;
use super::driver::{Driver, find_on_path};
use super::error::BrowserError;

/// Which browser to drive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BrowserKind {
    /// Debian's chromium through chromedriver.
    #[default]
    Chromium,
    /// Debian's firefox-esr through geckodriver.
    Firefox,
    /// WebKitGTK's MiniBrowser through WebKitWebDriver (Debian's
    /// webkit2gtk-driver), on a virtual display: it has no headless mode.
    /// The engine of Safari, which many of a chat widget's visitors use.
    Webkit,
}

impl BrowserKind {
    /// Its name in reports and messages.
    pub fn label(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
            BrowserKind::Webkit => "webkit",
        }
    }
}

/// How to get a browser.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// Which browser.
    pub kind: BrowserKind,
    /// A remote WebDriver endpoint instead of a local driver.
    pub webdriver_url: Option<String>,
    /// Open the session's WebDriver BiDi socket too (preload scripts,
    /// pushed records, the console, screenshots).
    pub bidi: bool,
    /// Send all traffic, loopback included, through this HTTP(S) proxy
    /// (`host:port`), as an intercepting proxy needs.
    pub proxy: Option<String>,
}

/// Where Debian puts Firefox ESR's real binary (`/usr/bin/firefox-esr` is
/// a wrapper script geckodriver cannot always manage).
const FIREFOX_BINARY: &str = "/usr/lib/firefox-esr/firefox-esr";

/// WebKitGTK's small browser, which WebKitWebDriver drives.
const MINIBROWSER_BINARY: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// A browser session plus the processes and files it needs; [`Browser::shutdown`]
/// (or drop) leaves nothing behind.
#[derive(Debug)]
pub struct Browser {
    client: Option<Client>,
    driver: Option<Driver>,
    tmp: tempfile::TempDir,
    /// Browser name the driver reported.
    pub name: String,
    /// Browser version the driver reported.
    pub version: String,
    /// The BiDi connection, when asked for.
    bidi: Option<Bidi>,
    /// The virtual display the browser draws on, when it has one.
    display: Option<VirtualDisplay>,
}

impl Browser {
    /// Starts the headless browser with fake media devices and a fresh profile.
    ///
    /// # Errors
    /// [`BrowserError`] saying what is missing or failed.
    pub async fn launch(options: &BrowserOptions) -> Result<Self, BrowserError> {
        let tmp = tempfile::Builder::new()
            .prefix("jodo-browser-")
            .tempdir()
            .map_err(BrowserError::Profile)?;
        let mut display: Option<VirtualDisplay> = None;
        let (driver, url) = match (&options.webdriver_url, options.kind) {
            (Some(url), _) => (None, url.clone()),
            (None, BrowserKind::Chromium) => {
                if find_on_path("chromium").is_none() {
                    return Err(BrowserError::Missing { what: "chromium" });
                }
                let driver = Driver::chromedriver(tmp.path()).await?;
                let url = driver.url();
                (Some(driver), url)
            }
            (None, BrowserKind::Firefox) => {
                if !std::path::Path::new(FIREFOX_BINARY).is_file() {
                    return Err(BrowserError::Missing {
                        what: "firefox-esr",
                    });
                }
                // With Xvfb, Firefox gets a real window, and with it a
                // screen to share; without, it runs headless.
                if VirtualDisplay::available() {
                    display = Some(VirtualDisplay::start().await?);
                }
                let driver =
                    Driver::geckodriver(tmp.path(), display.as_ref().map(|d| d.name()).as_deref())
                        .await?;
                let url = driver.url();
                (Some(driver), url)
            }
            (None, BrowserKind::Webkit) => {
                if !std::path::Path::new(MINIBROWSER_BINARY).is_file() {
                    return Err(BrowserError::Missing {
                        what: "webkit2gtk-driver",
                    });
                }
                if options.bidi {
                    // Asked before anything starts: WebKitWebDriver has none.
                    return Err(BrowserError::Bidi(BidiError::Unsupported));
                }
                let screen = VirtualDisplay::start().await?;
                let driver = Driver::webkitdriver(tmp.path(), &screen.name()).await?;
                display = Some(screen);
                let url = driver.url();
                (Some(driver), url)
            }
        };
        let mut caps = serde_json::Map::new();
        caps.insert("acceptInsecureCerts".into(), json!(true));
        if options.bidi {
            caps.insert("webSocketUrl".into(), json!(true));
        }
        if let Some(proxy) = &options.proxy {
            caps.insert(
                "proxy".into(),
                json!({"proxyType": "manual", "httpProxy": proxy, "sslProxy": proxy}),
            );
        }
        caps.insert(
            "timeouts".into(),
            json!({"script": 60_000, "pageLoad": 15_000}),
        );
        match options.kind {
            BrowserKind::Chromium => {
                let profile = tmp.path().join("profile");
                caps.insert("browserName".into(), json!("chrome"));
                let mut chrome = json!({"args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    format!("--user-data-dir={}", profile.display()),
                ]});
                if driver.is_some() {
                    if let Some(binary) = find_on_path("chromium") {
                        chrome["binary"] = json!(binary);
                    }
                }
                if options.proxy.is_some() {
                    // Chromium sends loopback traffic past a proxy unless told not to.
                    if let Some(args) = chrome["args"].as_array_mut() {
                        args.push(json!("--proxy-bypass-list=<-loopback>"));
                    }
                }
                caps.insert("goog:chromeOptions".into(), chrome);
            }
            BrowserKind::Firefox => {
                caps.insert("browserName".into(), json!("firefox"));
                let args: Vec<&str> = if display.is_some() {
                    vec![]
                } else {
                    vec!["-headless"]
                };
                let mut firefox = json!({
                    "args": args,
                    "prefs": {
                        "media.navigator.streams.fake": true,
                        "media.navigator.permission.disabled": true
                    }
                });
                if driver.is_some() {
                    firefox["binary"] = json!(FIREFOX_BINARY);
                }
                if options.proxy.is_some() {
                    // Firefox, too, keeps loopback away from a proxy unless told.
                    firefox["prefs"]["network.proxy.allow_hijacking_localhost"] = json!(true);
                    firefox["prefs"]["network.proxy.no_proxies_on"] = json!("");
                }
                caps.insert("moz:firefoxOptions".into(), firefox);
            }
            BrowserKind::Webkit => {
                caps.insert("browserName".into(), json!("MiniBrowser"));
                // Mock capture devices stand in for a camera and a
                // microphone, as the fake devices do in the other two.
                caps.insert(
                    "webkitgtk:browserOptions".into(),
                    json!({"binary": MINIBROWSER_BINARY, "args": [
                        "--automation", "--enable-mock-capture-devices=true",
                        "--enable-media-stream=true"]}),
                );
            }
        }
        let connector = ClientBuilder::rustls().map_err(|e| BrowserError::Session {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            connector.clone().capabilities(caps).connect(&url),
        )
        .await
        .map_err(|_| BrowserError::Session {
            url: url.clone(),
            message: "no session within 60 s".into(),
        })?
        .map_err(|e| BrowserError::Session {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let reported = client.capabilities().cloned().unwrap_or_default();
        let text = |key: &str| {
            reported
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned()
        };
        let bidi = if options.bidi {
            let socket = reported
                .get("webSocketUrl")
                .and_then(Value::as_str)
                .ok_or(BidiError::Unsupported);
            let connected = match socket {
                Ok(url) => Bidi::connect(url).await,
                Err(e) => Err(e),
            };
            match connected {
                Ok(b) => Some(b),
                Err(e) => {
                    let _ = client.close().await;
                    if let Some(mut d) = driver {
                        d.kill();
                    }
                    return Err(BrowserError::Bidi(e));
                }
            }
        } else {
            None
        };
        Ok(Self {
            name: text("browserName"),
            version: text("browserVersion"),
            client: Some(client),
            driver,
            tmp,
            bidi,
            display,
        })
    }

    /// The BiDi connection, when the session was opened with one.
    pub fn bidi(&self) -> Option<&Bidi> {
        self.bidi.as_ref()
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("client is present until shutdown")
    }

    /// Ends the session, then the driver's process group, then removes the
    /// profile. Bounded: a hung browser is killed after 5 s.
    pub async fn shutdown(self) {
        self.stop(Duration::from_secs(5)).await;
    }

    /// Kills a browser whose page hangs, without waiting for a close it
    /// cannot answer.
    pub async fn kill(self) {
        self.stop(Duration::ZERO).await;
    }

    async fn stop(mut self, grace: Duration) {
        self.bidi = None;
        if let Some(client) = self.client.take() {
            if !grace.is_zero() {
                let _ = tokio::time::timeout(grace, client.close()).await;
            }
        }
        if let Some(mut driver) = self.driver.take() {
            driver.kill();
        }
        if let Some(mut display) = self.display.take() {
            display.kill();
        }
        let _ = std::fs::remove_dir_all(self.tmp.path());
    }
}
