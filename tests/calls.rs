//! Calls between pages as users make them, on the release build served by the project's server:
//! two tabs of one browser with no signaling server, two browsers through the server (Chromium
//! and Chromium, Firefox and Firefox, Chromium and Firefox), and a relay-only call through a
//! coturn started here. Each call plays both ways, and after HangUp nothing is left open.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use fantoccini::wd::WindowHandle;
use loopback_server::turn::Turn;
use serde_json::{json, Value};
use std::time::Duration;
use support::{dist, Browser, Engine, Server};

const PATIENCE: Duration = Duration::from_secs(30);

/// Records every peer and every camera stream the page makes, to count what is left open.
const RECORDER: &str = "
    if (!window.__calls) {
        const peers = [], streams = [];
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
            constructor(...args) { super(...args); peers.push(this); }
        };
        const devices = navigator.mediaDevices, getUserMedia = devices.getUserMedia.bind(devices);
        devices.getUserMedia = async (c) => { const s = await getUserMedia(c); streams.push(s); return s; };
        const current = () => peers.filter(p => p.connectionState !== 'closed')[0];
        window.__calls = {
            open: () => peers.filter(p => p.connectionState !== 'closed').length,
            ufrag: () => current() ? (current().localDescription.sdp.match(/a=ice-ufrag:(.*)/) || [])[1] : null,
            connected: () => !!current() && current().connectionState === 'connected',
            codec: async () => {
                let mime = null;
                const stats = await current().getStats();
                stats.forEach(r => {
                    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.codecId)
                        mime = stats.get(r.codecId).mimeType;
                });
                return mime;
            },
            live: () => streams.flatMap(s => s.getTracks()).filter(t => t.readyState !== 'ended').length,
        };
    }";

/// One page of a call: a browser window on the room's link.
struct Side<'a> {
    browser: &'a Browser,
    window: WindowHandle,
    name: String,
}

impl<'a> Side<'a> {
    /// The browser's current window.
    async fn of(browser: &'a Browser, name: String) -> Side<'a> {
        let window = browser.client.window().await.expect("a window");
        Side {
            browser,
            window,
            name,
        }
    }

    async fn focus(&self) {
        self.browser
            .client
            .switch_to_window(self.window.clone())
            .await
            .expect("switch window");
    }

    async fn eval(&self, script: &str) -> Value {
        self.focus().await;
        self.browser.eval(script).await
    }

    async fn wait_for(&self, what: &str, script: &str) {
        if let Err(e) = self.try_wait_for(what, script).await {
            panic!("{e}; log {}", self.log().await);
        }
    }

    async fn try_wait_for(&self, what: &str, script: &str) -> Result<(), String> {
        let start = std::time::Instant::now();
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return Ok(());
            }
            if start.elapsed() > PATIENCE {
                return Err(format!(
                    "{}: timed out waiting for {what}; status {:?}",
                    self.name,
                    self.status().await
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts that the step log holds `needle`.
    async fn assert_logged(&self, needle: &str) {
        let log = self.log().await.to_string();
        assert!(
            log.contains(needle),
            "{}: no {needle:?} in {log}",
            self.name
        );
    }

    async fn log(&self) -> Value {
        self.eval("return [...document.querySelectorAll('#log li')].map(l => l.textContent);")
            .await
    }

    async fn click(&self, id: &str) {
        self.focus().await;
        self.browser.click(id).await;
    }

    /// Opens `url`, records, and turns the camera on.
    async fn open(&self, url: &str) {
        self.focus().await;
        self.browser.client.goto(url).await.expect("page loads");
        self.wait_for(
            "Start",
            "return !document.getElementById('start-btn').disabled;",
        )
        .await;
        self.eval(RECORDER).await;
        self.click("start-btn").await;
        self.wait_for(
            "the camera",
            "return !document.getElementById('call-btn').disabled;",
        )
        .await;
    }

    async fn status(&self) -> String {
        self.eval("return document.getElementById('status').textContent;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn playing(&self) -> Result<(), String> {
        self.try_wait_for(
            "the other side's video to play",
            "const v = document.getElementById('remoteStream');
             return v.videoWidth > 0 && !v.paused && v.currentTime > 0.2
                && document.getElementById('status').textContent.startsWith('Setup time: ');",
        )
        .await
    }

    /// Open peers and live tracks.
    async fn held(&self) -> Value {
        self.eval("return [__calls.open(), __calls.live()];").await
    }
}

/// Both sides on the room: one waits, the other comes, both play.
async fn call(a: &Side<'_>, b: &Side<'_>, url: &str) {
    a.open(url).await;
    b.open(url).await;
    a.click("call-btn").await;
    a.wait_for(
        "the other person",
        "return document.getElementById('status').textContent.includes('waiting for the other person');",
    )
    .await;
    b.click("call-btn").await;
    for side in [a, b] {
        if let Err(e) = side.playing().await {
            panic!(
                "{e}\n{} log: {}\n{} log: {}",
                a.name,
                a.log().await,
                b.name,
                b.log().await
            );
        }
        println!("{}: {}", side.name, side.status().await);
    }
}

/// Chooses the codec labelled `name` on `side`'s page.
async fn choose_codec(side: &Side<'_>, name: &str) {
    side.eval(&format!(
        "const s = document.getElementById('codec-select');
         s.value = [...s.options].find(o => o.text.startsWith({name:?})).value;
         s.dispatchEvent(new Event('change'));"
    ))
    .await;
}

/// The controls across the room: a chat line from `a` reaches `b`; a codec chosen on the page
/// that made the first offer renegotiates the call, one chosen on the other page is explained;
/// an ICE restart on `b` brings new credentials; the call goes on through all of it.
async fn controls_across(a: &Side<'_>, b: &Side<'_>) {
    let line = format!("hello from {}", a.name);
    a.wait_for(
        "the data channel",
        "return !document.getElementById('chat-send').disabled;",
    )
    .await;
    a.eval(&format!(
        "document.getElementById('chat-input').value = {line:?};"
    ))
    .await;
    a.click("chat-send").await;
    b.wait_for(
        "the chat line",
        &format!(
            "return [...document.querySelectorAll('#chat-log li')]
                .some(l => l.textContent === {:?});",
            format!("Them: {line}")
        ),
    )
    .await;
    a.wait_for(
        "the receipt",
        "return [...document.querySelectorAll('#chat-log li')]
            .some(l => l.textContent.includes(' · delivered, receipt after '));",
    )
    .await;
    let impolite = "return [...document.querySelectorAll('#log li')]
        .some(l => l.textContent.includes(\"this page's peer is the impolite one\"));";
    let (offerer, answerer) = if a.eval(impolite).await == Value::Bool(true) {
        (a, b)
    } else {
        (b, a)
    };
    choose_codec(answerer, "VP9").await;
    answerer
        .wait_for(
            "the word that the other page orders the codecs",
            "return document.getElementById('status').textContent.includes('its codec order stands');",
        )
        .await;
    choose_codec(offerer, "VP9").await;
    for side in [offerer, answerer] {
        side.wait_for(
            "VP9 in use after the renegotiation",
            "return window.__calls.codec().then(c => c === 'video/VP9' && window.__calls.connected());",
        )
        .await;
    }
    let ufrag = "return window.__calls.ufrag();";
    let before = b.eval(ufrag).await;
    b.click("restart-ice-btn").await;
    b.wait_for(
        "new ICE credentials",
        &format!("return window.__calls.ufrag() !== {before};"),
    )
    .await;
    if let Err(e) = b
        .try_wait_for(
            "the call to stay connected",
            "return window.__calls.connected();",
        )
        .await
    {
        panic!(
            "{e}\n{} log: {}\n{} log: {}",
            a.name,
            a.log().await,
            b.name,
            b.log().await
        );
    }
    for side in [a, b] {
        side.wait_for(
            "frames to keep coming",
            "const v = document.getElementById('remoteStream');
             const t = v.currentTime; return new Promise(r => setTimeout(() => r(v.currentTime > t), 500));",
        )
        .await;
    }
}

/// `a` hangs up: `b` hears it, both let go of the call, `b` keeps its camera until its HangUp.
async fn hang_up(a: &Side<'_>, b: &Side<'_>) {
    a.click("hangup-btn").await;
    b.wait_for(
        "the news that the other left",
        "return document.getElementById('status').textContent.startsWith('The other person left.');",
    )
    .await;
    assert_eq!(a.held().await, json!([0, 0]), "{} left open", a.name);
    assert_eq!(
        b.held().await,
        json!([0, 2]),
        "{}: call closed, camera on",
        b.name
    );
    b.click("hangup-btn").await;
    assert_eq!(b.held().await, json!([0, 0]), "{} left open", b.name);
}

fn room_url(server: &Server, query: &str) -> String {
    let room: String = (0..22)
        .map(|i| char::from(b"abcdefghijklmnopqrstuvwxyz012345"[(rand_u64(i) % 32) as usize]))
        .collect();
    format!("{}?room={room}{query}", server.url)
}

/// Enough randomness for a room name per test, without a dependency.
fn rand_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.finish()
}

async fn rooms_empty(server: &Server) {
    for _ in 0..100 {
        if server.rooms() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} rooms left on the server", server.rooms());
}

/// Two windows of one browser and no signaling server: they find each other between tabs.
async fn two_tabs_without_a_server(engine: Engine) {
    let server = Server::start_with(&dist(), |c| c.signaling = false).await;
    let browser = Browser::launch(engine).await;
    let first = browser.client.window().await.unwrap();
    let second = browser.client.new_window(false).await.unwrap().handle;
    let a = Side {
        browser: &browser,
        window: first,
        name: format!("{} tab 1", engine.name()),
    };
    let b = Side {
        browser: &browser,
        window: second,
        name: format!("{} tab 2", engine.name()),
    };
    let url = room_url(&server, "");
    call(&a, &b, &url).await;
    for side in [&a, &b] {
        side.assert_logged("between tabs of this browser").await;
    }
    hang_up(&a, &b).await;
    browser.close().await;
}

/// Two browser sessions, each its own browser, meeting through the server.
async fn two_browsers_through_the_server(first: Engine, second: Engine) {
    let server = Server::start(&dist()).await;
    let (one, two) = (Browser::launch(first).await, Browser::launch(second).await);
    let a = Side::of(&one, first.name().to_owned()).await;
    let b = Side::of(&two, second.name().to_owned()).await;
    let url = room_url(&server, "");
    call(&a, &b, &url).await;
    for side in [&a, &b] {
        side.assert_logged("through the signaling server").await;
    }
    assert_eq!(server.rooms(), 1);
    controls_across(&a, &b).await;
    hang_up(&b, &a).await;
    rooms_empty(&server).await;
    one.close().await;
    two.close().await;
}

/// coturn on 127.0.0.1 with a shared secret, for as long as it is held.
struct Coturn {
    port: u16,
    secret: String,
    _process: tokio::process::Child,
    _dir: std::path::PathBuf,
}

impl Coturn {
    async fn start() -> Self {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        let secret = format!("test-{}", rand_u64(port.into()));
        let dir = std::env::temp_dir().join(format!("coturn-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let process = tokio::process::Command::new("turnserver")
            .args(["-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint"])
            .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
            .arg(format!("--listening-port={port}"))
            .args(["--min-port", "49200", "--max-port", "49900"])
            .args(["--use-auth-secret", "--realm", "loopback.test"])
            .arg(format!("--static-auth-secret={secret}"))
            // On 127.0.0.1 both ends are loopback addresses, which coturn refuses by default.
            .arg("--allow-loopback-peers")
            .arg(format!("--userdb={}", dir.join("turndb").display()))
            .arg(format!(
                "--pidfile={}",
                dir.join("turnserver.pid").display()
            ))
            .args(["--log-file", "stdout"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("turnserver on PATH (the README's test command installs coturn)");
        // Ready when it answers on TCP.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            port,
            secret,
            _process: process,
            _dir: dir,
        }
    }
}

/// `relay=1`: TURN only, through coturn; the candidate pair in use is a relayed one.
async fn relay_only_through_coturn(engine: Engine) {
    let turn = Coturn::start().await;
    let server = Server::start_with(&dist(), |c| {
        c.turn = Some(Turn {
            urls: vec![format!("turn:127.0.0.1:{}?transport=udp", turn.port)],
            secret: turn.secret.clone(),
            ttl: Duration::from_secs(600),
        })
    })
    .await;
    // Firefox gathers no relay candidate on a loopback TURN server without this.
    let prefs = json!({"media.peerconnection.ice.loopback": true});
    let (one, two) = (
        Browser::launch_with_prefs(engine, &[], &prefs).await,
        Browser::launch_with_prefs(engine, &[], &prefs).await,
    );
    let a = Side::of(&one, format!("{} 1", engine.name())).await;
    let b = Side::of(&two, format!("{} 2", engine.name())).await;
    let url = room_url(&server, "&relay=1");
    call(&a, &b, &url).await;
    for side in [&a, &b] {
        side.wait_for(
            "the panel to show a relayed candidate pair",
            "return document.querySelector(\"[data-stat='pair-local']\").textContent.startsWith('relay');",
        )
        .await;
        side.assert_logged("relaying through TURN only").await;
    }
    let status = a.status().await;
    assert!(status.starts_with("Setup time: "), "{status}");
    hang_up(&a, &b).await;
    rooms_empty(&server).await;
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_chromium_tabs_call_without_a_server() {
    two_tabs_without_a_server(Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_firefox_tabs_call_without_a_server() {
    two_tabs_without_a_server(Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_chromium_browsers_call_through_the_server() {
    two_browsers_through_the_server(Engine::Chromium, Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_firefox_browsers_call_through_the_server() {
    two_browsers_through_the_server(Engine::Firefox, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_calls_firefox_through_the_server() {
    two_browsers_through_the_server(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_calls_relayed_through_coturn() {
    relay_only_through_coturn(Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn firefox_calls_relayed_through_coturn() {
    relay_only_through_coturn(Engine::Firefox).await;
}
