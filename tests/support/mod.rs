//! Shared by the end-to-end test and the benchmark: serve a folder on 127.0.0.1 and drive
//! headless Chromium (Debian's chromedriver) or Firefox (geckodriver).
#![allow(dead_code)] // each user takes only part of it

/// One test function, run once per engine: `name::chromium` and `name::firefox`.
#[allow(unused_macros)] // the files that run each test in both browsers take it
macro_rules! in_both_browsers {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::*;

            #[tokio::test(flavor = "current_thread")]
            async fn chromium() {
                super::$test(Engine::Chromium).await;
            }

            #[tokio::test(flavor = "current_thread")]
            async fn firefox() {
                super::$test(Engine::Firefox).await;
            }
        }
    )*};
}

/// Files sent between pages, and what a person would save.
pub mod files;
/// A group call between browser pages.
pub mod group;
/// The network lab: machines in network namespaces, behind NATs.
pub mod lab;
/// Calls across the lab's networks, scenario by scenario.
pub mod network;
/// A `redis-server` of a test's own, for servers sharing their rooms.
#[path = "../../server/tests/support/redis.rs"]
pub mod redis;
/// A room call between browser pages, and coturn for its relay.
pub mod room;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use loopback_server::{Config, Limits, Running};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::net::TcpStream;
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
    fn capabilities(self, extra_args: &[&str], prefs: &Value) -> serde_json::Map<String, Value> {
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
        if let (Engine::Firefox, Some(prefs)) = (self, prefs.as_object()) {
            for (name, value) in prefs {
                options["prefs"][name] = value.clone();
            }
        }
        caps.insert(key.into(), options);
        caps
    }
}

/// The project's own server (`loopback-server`) on 127.0.0.1: the release page, and signaling at
/// `/signal` unless told otherwise.
pub struct Server {
    pub url: String,
    pub running: Running,
}

impl Server {
    /// The page in `root`, with signaling.
    pub async fn start(root: &Path) -> Self {
        Self::start_with(root, |_| {}).await
    }

    /// Like [`Server::start`], with the configuration changed by `change` first.
    pub async fn start_with(root: &Path, change: impl FnOnce(&mut Config)) -> Self {
        let config = Self::config(root, change);
        let store = loopback_server::memory_store(&config);
        Self::serve(config, store).await
    }

    /// Like [`Server::start`], one of several instances sharing their rooms through the Redis
    /// at `redis`, as `instance`.
    pub async fn start_shared(root: &Path, redis: &str, instance: &str) -> Self {
        let config = Self::config(root, |_| {});
        let outbox = config.limits.outbox_for(config.room_size);
        let seat_ttl = Duration::from_secs(10);
        let store = loopback_server::shared::SharedHub::start(
            redis,
            instance.to_owned(),
            config.room_size,
            seat_ttl,
            outbox,
        )
        .await
        .expect("the shared rooms (Redis) reached");
        Self::serve(config, store).await
    }

    /// The configuration [`Server::start_with`] runs: the page in `root`, changed by `change`.
    pub fn config(root: &Path, change: impl FnOnce(&mut Config)) -> Config {
        let mut config = Config {
            dist: root.to_path_buf(),
            allowed_origins: Vec::new(),
            public_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            denied_candidates: loopback_server::inspect::default_denied(),
            limits: Limits::default(),
            turn: None,
            tls: false,
            hsts: false,
            signaling: true,
            room_size: loopback_signal::room::DEFAULT_SIZE,
        };
        change(&mut config);
        config
    }

    async fn serve(
        config: Config,
        store: std::sync::Arc<dyn loopback_server::store::Store>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let running = Running::start_with(listener, config, store).expect("the server starts");
        Self {
            url: format!("http://{}/", running.addr),
            running,
        }
    }

    /// Rooms with someone in them.
    pub fn rooms(&self) -> usize {
        self.running.state.store.rooms()
    }
}

/// A WebDriver server on a free port, killed when dropped, with a session on its browser.
/// geckodriver serves one session per process, so every `Browser` starts its own driver.
pub struct Browser {
    pub client: Client,
    pub engine: Engine,
    driver: Child,
    /// Carries the WebDriver connection into the browser's network namespace, if it has one.
    _forwarder: Option<AbortOnDrop>,
}

/// A task that ends with the value holding it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Takes the connections to `listener` (on 127.0.0.1 here) and passes each one on to `inner` inside
/// `netns`: the lab's machines have no address in the test's own namespace, by design.
fn forward_into(
    listener: tokio::net::TcpListener,
    netns: &str,
    inner: &str,
) -> (String, tokio::task::JoinHandle<()>) {
    let address = listener.local_addr().expect("its address").to_string();
    let (netns, inner) = (netns.to_owned(), inner.to_owned());
    let task = tokio::spawn(async move {
        while let Ok((mut outside, _)) = listener.accept().await {
            let (netns, inner) = (netns.clone(), inner.clone());
            tokio::spawn(async move {
                let connected = tokio::task::spawn_blocking(move || {
                    lab::in_netns(&netns, move || std::net::TcpStream::connect(inner))
                })
                .await;
                let Ok(Ok(stream)) = connected else {
                    return;
                };
                if stream.set_nonblocking(true).is_err() {
                    return;
                }
                let Ok(mut stream) = TcpStream::from_std(stream) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut outside, &mut stream).await;
            });
        }
    });
    (address, task)
}

impl Browser {
    pub async fn launch(engine: Engine) -> Self {
        Self::launch_with(engine, &[]).await
    }

    /// Like [`Browser::launch`], with more command-line flags for the browser.
    pub async fn launch_with(engine: Engine, extra_args: &[&str]) -> Self {
        Self::launch_with_prefs(engine, extra_args, &json!({})).await
    }

    /// Like [`Browser::launch_with`], with more Firefox preferences (ignored by Chromium).
    pub async fn launch_with_prefs(engine: Engine, extra_args: &[&str], prefs: &Value) -> Self {
        Self::launch_in(engine, None, extra_args, prefs).await
    }

    /// Like [`Browser::launch_with_prefs`], the driver and its browser running inside the
    /// network namespace `netns` (a machine of the network lab) when one is given. Its WebDriver
    /// then listens on that namespace's own loopback, which the test reaches through a
    /// forwarder of its own on 127.0.0.1 (see [`lab::in_netns`]); the browser accepts the lab
    /// server's self-signed certificate, as a person would once.
    pub async fn launch_in(
        engine: Engine,
        netns: Option<&str>,
        extra_args: &[&str],
        prefs: &Value,
    ) -> Self {
        Self::launch_with_capabilities(engine, netns, extra_args, prefs, &[]).await
    }

    /// A browser for one first visit, as someone opening the page for the first time: a profile
    /// of its own (the driver makes a new one for every session: nothing cached, no compiled
    /// code kept), and navigation that returns at `DOMContentLoaded` (`pageLoadStrategy`
    /// `eager`) rather than at `load`, so that a test acts as soon as a person could.
    pub async fn launch_first_visit(engine: Engine, netns: Option<&str>, prefs: &Value) -> Self {
        let eager = [("pageLoadStrategy", json!("eager"))];
        Self::launch_with_capabilities(engine, netns, &[], prefs, &eager).await
    }

    async fn launch_with_capabilities(
        engine: Engine,
        netns: Option<&str>,
        extra_args: &[&str],
        prefs: &Value,
        more: &[(&str, Value)],
    ) -> Self {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        // In a namespace, the driver listens on the same port number as the forwarder here:
        // geckodriver refuses a request whose Host header names another port. Here, the port
        // is the driver's own.
        let outside = match netns {
            Some(_) => Some(
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1"),
            ),
            None => None,
        };
        let port = match &outside {
            Some(outside) => outside.local_addr().expect("its address").port(),
            None => free_port(),
        };
        let mut driver = match netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns, engine.driver()]);
                command
            }
            None => Command::new(engine.driver()),
        };
        match engine {
            Engine::Chromium => driver.arg(format!("--port={port}")),
            // Its WebDriver BiDi port defaults to 9222: two drivers at once would collide.
            Engine::Firefox => driver
                .arg(format!("--port={port}"))
                .arg(format!("--websocket-port={}", free_port())),
        };
        // Its own process group, with the browser it starts: see `Drop`.
        let driver = driver
            .process_group(0)
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
        let inner = format!("127.0.0.1:{port}");
        let (address, forwarder) = match netns {
            None => {
                for _ in 0..200 {
                    if TcpStream::connect(&inner).await.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (inner, None)
            }
            Some(netns) => {
                for _ in 0..200 {
                    let (netns, inner) = (netns.to_owned(), inner.clone());
                    let up = tokio::task::spawn_blocking(move || {
                        lab::in_netns(&netns, move || std::net::TcpStream::connect(inner).is_ok())
                    })
                    .await
                    .unwrap_or(false);
                    if up {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let outside = outside.expect("a forwarder's listener in a namespace");
                let (address, forwarder) = forward_into(outside, netns, &inner);
                (address, Some(forwarder))
            }
        };
        let mut capabilities = engine.capabilities(extra_args, prefs);
        if netns.is_some() {
            capabilities.insert("acceptInsecureCerts".into(), json!(true));
        }
        for (name, value) in more {
            capabilities.insert((*name).into(), value.clone());
        }
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{address}"))
            .await
            .unwrap_or_else(|e| panic!("a WebDriver session in headless {}: {e}", engine.name()));
        Self {
            client,
            engine,
            driver,
            _forwarder: forwarder.map(AbortOnDrop),
        }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Clicks the element with `id`, as a person would.
    pub async fn click(&self, id: &str) {
        self.client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click #{id}: {e}"));
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
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// A test that fails drops its browser without closing the session, and killing the driver
    /// alone would leave the browser running: kill the driver's whole process group.
    fn drop(&mut self) {
        // Not `kill -KILL -<pid>`: Debian 12's procps reads `-<pid>` as an unknown option and
        // signals `-<first digit>`, and for a pid starting with 1 that is kill(-1): every
        // process of the user, the test runner and CI with it.
        let Some(group) = self.driver.id().and_then(|pid| i32::try_from(pid).ok()) else {
            return;
        };
        if group > 1 {
            // SAFETY: kill(2) with a negative pid signals that process group and touches no
            // memory; the group is the driver's own (`process_group(0)` at spawn), never 0 or 1.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
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
        // Not the brotli and gzip copies the build makes for the server to send.
        .filter(|entry| !loopback_precompress::is_copy(&entry.file_name().to_string_lossy()))
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
