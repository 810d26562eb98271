//! Headless Chromium through chromedriver, driven by fantoccini.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a UI expectation may take before the test fails.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A browser session on its own chromedriver and a fresh profile.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    /// Origin of the app under test.
    pub base: String,
    driver: Child,
    port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium sized `width`x`height`.
    pub async fn start(base: &str, width: u32, height: u32) -> Self {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chrome = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {chromedriver} (apt-get install chromium-driver): {e}")
            });
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = driver.kill();
                panic!("chromedriver did not listen on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": chrome, "args": args }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                panic!("starting a Chromium session through chromedriver: {e}");
            }
        };
        let session = client.session_id().await.ok().flatten();
        let browser = Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            port,
            session,
            _profile: profile,
        };
        browser.resize(width, height).await;
        browser
    }

    /// Sets the window so that the page's viewport is `width`x`height`.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("set window size");
        // Headless windows have no frame, but correct for one if the driver reports it.
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap_or(Value::Null);
        if let (Some(w), Some(h)) = (inner[0].as_u64(), inner[1].as_u64()) {
            let (dw, dh) =
                (u64::from(width).saturating_sub(w), u64::from(height).saturating_sub(h));
            if dw > 0 || dh > 0 {
                let (w2, h2) = (u64::from(width) + dw, u64::from(height) + dh);
                let _ = self
                    .client
                    .set_window_size(
                        u32::try_from(w2).unwrap_or(width),
                        u32::try_from(h2).unwrap_or(height),
                    )
                    .await;
            }
        }
    }

    /// Navigates to an app path (a full page load).
    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("navigate");
    }

    /// The current path (without origin).
    pub async fn path(&self) -> String {
        self.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
    }

    /// What the page shows, for failure messages.
    pub async fn describe(&self) -> String {
        let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let text = self
            .client
            .execute("return document.body ? document.body.innerText : '';", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let text: String = text.chars().take(1500).collect();
        format!("at {url}; the page shows:\n{text}")
    }

    /// The text of `css` inside the frame `frame_css`, if both are there now.
    pub async fn text_in_frame(&self, frame_css: &str, css: &str) -> Option<String> {
        let frame = self.client.find(Locator::Css(frame_css)).await.ok()?;
        frame.enter_frame().await.ok()?;
        let text = match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.ok(),
            Err(_) => None,
        };
        let _ = self.client.enter_parent_frame().await;
        text
    }

    /// Waits for an element matching `css`.
    pub async fn wait(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            if started.elapsed() > UI_TIMEOUT {
                panic!("no element matches `{css}` after {UI_TIMEOUT:?} {}", self.describe().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `check` holds, failing with `what` and the page's text.
    pub async fn wait_until<F, Fut>(&self, what: &str, timeout: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while !check().await {
            if started.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what} {}", self.describe().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// All elements matching `css` (none is fine).
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_default()
    }

    /// Whether an element matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    /// An attribute of the first element matching `css`, if both exist.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let e = self.client.find(Locator::Css(css)).await.ok()?;
        e.attr(name).await.ok().flatten()
    }

    /// Types into the element matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.unwrap_or_else(|err| panic!("typing into `{css}`: {err}"));
    }

    /// Clicks the element matching `css`. A click that fails because the page re-rendered
    /// between finding the element and clicking it (a stale element, or one briefly covered)
    /// is tried again on a fresh lookup, for as long as `wait` would wait.
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            let e = self.wait(css).await;
            match e.click().await {
                Ok(_) => return,
                Err(err) if started.elapsed() < UI_TIMEOUT => {
                    println!("clicking `{css}` again after: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("clicking `{css}`: {err} {}", self.describe().await),
            }
        }
    }

    /// Saves a PNG of the viewport as `docs/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        // Let fonts, transitions and the last frame settle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = super::screenshots_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
    }

    /// Submits the new-task form and waits for the new task's page; returns the task's id.
    pub async fn submit_task_form(&self) -> String {
        self.click("[data-testid=submit-task]").await;
        self.wait_until("the task page", Duration::from_secs(30), || async {
            self.path().await.starts_with("/tasks/")
        })
        .await;
        self.path().await.trim_start_matches("/tasks/").to_owned()
    }

    /// Signs in through the local login form and waits for the signed-in shell.
    pub async fn sign_in(&self, username: &str, password: &str) {
        self.goto("/sign-in").await;
        self.fill("#login-username", username).await;
        self.fill("#login-password", password).await;
        self.click("#login-submit").await;
        self.wait("[data-testid=user-menu-button]").await;
    }

    /// Stores an API key on Settings → API keys and waits until the row says it is configured.
    pub async fn store_key(&self, provider: &str, value: &str) {
        self.goto("/settings/keys").await;
        let row = format!("[data-testid=key-row][data-provider={provider}]");
        self.fill(&format!("{row} [data-testid=key-value]"), value).await;
        self.click(&format!("{row} [data-testid=key-save]")).await;
        self.wait_until("the key to show as configured", Duration::from_secs(15), || async {
            self.attr(&row, "data-configured").await.as_deref() == Some("true")
        })
        .await;
    }

    /// Ends the WebDriver session (Chromium exits).
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session = None;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked did not close its session: end it so Chromium exits too.
        if let Some(id) = self.session.take() {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let req = format!(
                    "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.port
                );
                if s.write_all(req.as_bytes()).is_ok() {
                    let mut sink = Vec::new();
                    let _ = s.read_to_end(&mut sink);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
