//! Shared by the end-to-end test and the benchmark: serve a folder on 127.0.0.1 and drive
//! headless Chromium (Debian's chromedriver) or Firefox (geckodriver).
#![allow(dead_code)] // each user takes only part of it

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

/// The flags headless Chromium needs here besides `webdriver.json`'s: no sandbox as root, no
/// shared memory file system, and a desktop-sized window.
const CHROME_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-sync",
    "--window-size=1280,900",
];

/// The browser engines every browser test runs in: the two that run headless on Linux.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Firefox,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Chromium, Engine::Firefox];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium",
            Engine::Firefox => "Firefox",
        }
    }

    /// The WebDriver server, found on PATH (the README's test command installs both).
    fn driver(self) -> &'static str {
        match self {
            Engine::Chromium => "chromedriver",
            Engine::Firefox => "geckodriver",
        }
    }

    /// `webdriver.json`'s section for this engine (fake camera and microphone, permission
    /// granted, autoplay allowed: the same file the browser suite runs with), made headless, with
    /// `extra_args` for the browser.
    fn capabilities(self, extra_args: &[&str]) -> serde_json::Map<String, Value> {
        let shared: Value = serde_json::from_str(include_str!("../../webdriver.json"))
            .expect("webdriver.json is JSON");
        let mut caps = serde_json::Map::new();
        let (key, headless): (&str, &[&str]) = match self {
            Engine::Chromium => ("goog:chromeOptions", CHROME_ARGS),
            Engine::Firefox => ("moz:firefoxOptions", &["-headless"]),
        };
        let mut options = shared.get(key).cloned().unwrap_or_else(|| json!({}));
        let mut args: Vec<Value> = options["args"].as_array().cloned().unwrap_or_default();
        args.extend(headless.iter().chain(extra_args).map(|a| json!(a)));
        options["args"] = Value::Array(args);
        caps.insert(key.into(), options);
        caps
    }
}

/// A static file server for one folder, on 127.0.0.1, stopped when dropped.
pub struct Server {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let root = root.to_path_buf();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_one(stream, root.clone()));
            }
        });
        Self { url, task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_one(mut stream: TcpStream, root: PathBuf) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let (status, body, mime) = match resolve(&root, path) {
        Some(file) => match tokio::fs::read(&file).await {
            Ok(body) => ("200 OK", body, mime_of(&file)),
            Err(_) => ("404 Not Found", b"not found".to_vec(), "text/plain"),
        },
        None => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// Maps a URL path into `root`, refusing anything that climbs out of it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut file = root.join(relative);
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn mime_of(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// A WebDriver server on a free port, killed when dropped, with a session on its browser.
/// geckodriver serves one session per process, so every `Browser` starts its own driver.
pub struct Browser {
    pub client: Client,
    pub engine: Engine,
    _driver: Child,
}

impl Browser {
    pub async fn launch(engine: Engine) -> Self {
        Self::launch_with(engine, &[]).await
    }

    /// Like [`Browser::launch`], with more command-line flags for the browser.
    pub async fn launch_with(engine: Engine, extra_args: &[&str]) -> Self {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        let port = free_port();
        let mut driver = Command::new(engine.driver());
        match engine {
            Engine::Chromium => driver.arg(format!("--port={port}")),
            // Its WebDriver BiDi port defaults to 9222: two drivers at once would collide.
            Engine::Firefox => driver
                .arg(format!("--port={port}"))
                .arg(format!("--websocket-port={}", free_port())),
        };
        let driver = driver
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} on PATH (the README's test command installs it): {e}",
                    engine.driver()
                )
            });
        let address = format!("127.0.0.1:{port}");
        for _ in 0..200 {
            if TcpStream::connect(&address).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(engine.capabilities(extra_args))
            .connect(&format!("http://{address}"))
            .await
            .unwrap_or_else(|e| panic!("a WebDriver session in headless {}: {e}", engine.name()));
        Self {
            client,
            engine,
            _driver: driver,
        }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns `true`; panics with `what` after `timeout`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, script: &str) {
        let start = std::time::Instant::now();
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The crate's `dist/`, which `trunk build --release` must have made.
pub fn dist() -> PathBuf {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "no dist/index.html: build the page first with `trunk build --release` (the README's test command does)"
    );
    dist
}

/// One served file: its name, its size, and its size gzipped at the best level.
pub struct FileSize {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
}

/// Every file of `dir` (not its subfolders, which trunk uses only for staging), by name.
pub fn transfer_sizes(dir: &Path) -> Vec<FileSize> {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut sizes: Vec<FileSize> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            let bytes = std::fs::read(entry.path()).unwrap();
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(&bytes).unwrap();
            FileSize {
                name: entry.file_name().to_string_lossy().into_owned(),
                raw: bytes.len() as u64,
                gzip: gz.finish().unwrap().len() as u64,
            }
        })
        .collect();
    sizes.sort_by(|a, b| a.name.cmp(&b.name));
    sizes
}
