//! A room call as a person makes it, for the tests that drive browsers: a page per side, the
//! buttons clicked, what each side plays and holds read from the page, and coturn for the relay.

use super::Browser;
use fantoccini::wd::WindowHandle;
use loopback_server::store::Store;
use serde_json::{json, Value};
use std::time::Duration;

pub const PATIENCE: Duration = Duration::from_secs(30);

/// Records every peer and every camera stream the page makes, to count what is left open.
pub const RECORDER: &str = "
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
            video: async () => {
                const p = current();
                if (!p) return null;
                const out = {frames: 0, lost: 0, received: 0, nacks: 0, bytesSent: 0, audio: 0, limitation: null};
                // Summed over every stream of a kind: a stream may be replaced during a call.
                (await p.getStats()).forEach(r => {
                    if (r.type === 'inbound-rtp' && r.kind === 'video') {
                        out.frames += r.framesDecoded || 0; out.lost += r.packetsLost || 0;
                        out.received += r.packetsReceived || 0; out.nacks += r.nackCount || 0;
                    }
                    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio += r.packetsReceived || 0;
                    if (r.type === 'outbound-rtp' && r.kind === 'video') {
                        out.bytesSent += r.bytesSent || 0;
                        out.limitation = r.qualityLimitationReason || null;
                    }
                });
                return out;
            },
            // Per open peer (a group call has one per other person): video frames decoded and
            // bytes received so far, and the candidate pair's type.
            each: async () => Promise.all(peers.filter(p => p.connectionState !== 'closed').map(async p => {
                const out = {frames: 0, bytes: 0, sent: 0, state: p.connectionState, local: null, remote: null};
                const stats = await p.getStats();
                // The pair in use, as the page's own stats find it: Chromium keeps an earlier
                // pair's `nominated` flag after ICE moves to a better one (a relay pair first,
                // then the direct one), so only the transport's selected pair says which it is.
                let pair = null, nominated = null;
                stats.forEach(r => {
                    if (r.type === 'inbound-rtp' && r.kind === 'video') { out.frames += r.framesDecoded || 0; out.bytes += r.bytesReceived || 0; }
                    if (r.type === 'outbound-rtp' && r.kind === 'video') out.sent += r.bytesSent || 0;
                    if (r.type === 'transport' && r.selectedCandidatePairId) pair = pair || stats.get(r.selectedCandidatePairId);
                    if (r.type === 'candidate-pair' && r.selected) pair = pair || r;
                    if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') nominated = r;
                });
                pair = pair || nominated;
                if (pair) {
                    out.local = (stats.get(pair.localCandidateId) || {}).candidateType || null;
                    out.remote = (stats.get(pair.remoteCandidateId) || {}).candidateType || null;
                }
                return out;
            })),
            // Video frames decoded by the open peer whose tracks `video` plays (a group call's
            // tile), or null if none does.
            framesFor: async (video) => {
                const ids = video && video.srcObject ? video.srcObject.getTracks().map(t => t.id) : [];
                const p = peers.find(p => p.connectionState !== 'closed'
                    && p.getReceivers().some(r => r.track && ids.includes(r.track.id)));
                if (!p) return null;
                let frames = 0;
                (await p.getStats()).forEach(r => {
                    if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
                });
                return frames;
            },
            live: () => streams.flatMap(s => s.getTracks()).filter(t => t.readyState !== 'ended').length,
            turnUser: () => current() ? (current().getConfiguration().iceServers || [])
                .map(s => s.username).find(u => u) || null : null,
        };
    }";

/// One page of a call: a browser window on the room's link.
pub struct Side<'a> {
    pub browser: &'a Browser,
    pub window: WindowHandle,
    pub name: String,
}

impl<'a> Side<'a> {
    /// The browser's current window.
    pub async fn of(browser: &'a Browser, name: String) -> Side<'a> {
        let window = browser.client.window().await.expect("a window");
        Side {
            browser,
            window,
            name,
        }
    }

    pub async fn focus(&self) {
        self.browser
            .client
            .switch_to_window(self.window.clone())
            .await
            .expect("switch window");
    }

    pub async fn eval(&self, script: &str) -> Value {
        self.focus().await;
        self.browser.eval(script).await
    }

    pub async fn wait_for(&self, what: &str, script: &str) {
        if let Err(e) = self.try_wait_for(what, script).await {
            panic!("{e}; log {}", self.log().await);
        }
    }

    /// Like [`Side::wait_for`], with a time limit of its own.
    pub async fn wait_for_within(&self, what: &str, within: Duration, script: &str) {
        if let Err(e) = self.try_wait_within(what, within, script).await {
            panic!("{e}; log {}", self.log().await);
        }
    }

    pub async fn try_wait_for(&self, what: &str, script: &str) -> Result<(), String> {
        self.try_wait_within(what, PATIENCE, script).await
    }

    pub async fn try_wait_within(
        &self,
        what: &str,
        within: Duration,
        script: &str,
    ) -> Result<(), String> {
        let start = std::time::Instant::now();
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return Ok(());
            }
            if start.elapsed() > within {
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
    pub async fn assert_logged(&self, needle: &str) {
        let log = self.log().await.to_string();
        assert!(
            log.contains(needle),
            "{}: no {needle:?} in {log}",
            self.name
        );
    }

    pub async fn log(&self) -> Value {
        self.eval("return [...document.querySelectorAll('#log li')].map(l => l.textContent);")
            .await
    }

    pub async fn click(&self, id: &str) {
        self.focus().await;
        self.browser.click(id).await;
    }

    /// Opens `url`, records, and turns the camera on.
    pub async fn open(&self, url: &str) {
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

    pub async fn status(&self) -> String {
        self.eval("return document.getElementById('status').textContent;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn playing(&self) -> Result<(), String> {
        self.try_wait_for(
            "the other side's video to play",
            "const v = document.getElementById('remoteStream');
             return v.videoWidth > 0 && !v.paused && v.currentTime > 0.2
                && document.getElementById('status').textContent.startsWith('Setup time: ');",
        )
        .await
    }

    /// The remote video's frames decoded per second and the share of its packets lost, over
    /// `over`, from the receiving peer's own stats: what arrived, not what a video element shows.
    pub async fn decoding(&self, over: Duration) -> (f64, f64) {
        let before = self.eval("return __calls.video();").await;
        tokio::time::sleep(over).await;
        let after = self.eval("return __calls.video();").await;
        let delta = |field: &str| {
            after[field].as_f64().unwrap_or(0.0) - before[field].as_f64().unwrap_or(0.0)
        };
        let (frames, lost, received) = (delta("frames"), delta("lost"), delta("received"));
        let loss = if lost + received > 0.0 {
            lost / (lost + received)
        } else {
            0.0
        };
        (frames / over.as_secs_f64(), loss)
    }

    /// The video this page sends, in kbit/s over `over`, and its audio packets received then.
    pub async fn sending(&self, over: Duration) -> (f64, f64) {
        let before = self.eval("return __calls.video();").await;
        tokio::time::sleep(over).await;
        let after = self.eval("return __calls.video();").await;
        let delta = |field: &str| {
            after[field].as_f64().unwrap_or(0.0) - before[field].as_f64().unwrap_or(0.0)
        };
        (
            delta("bytesSent") * 8.0 / 1000.0 / over.as_secs_f64(),
            delta("audio"),
        )
    }

    /// What the stats panel shows for `stat`.
    pub async fn panel(&self, stat: &str) -> String {
        self.eval(&format!(
            "return document.querySelector(\"[data-stat='{stat}']\").textContent;"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Open peers and live tracks.
    pub async fn held(&self) -> Value {
        self.eval("return [__calls.open(), __calls.live()];").await
    }
}

/// Both pages on the room link, `a` calling first and waiting for the other person, then `b`;
/// returns when `b` pressed Call.
pub async fn press_call(a: &Side<'_>, b: &Side<'_>, url: &str) -> std::time::Instant {
    a.open(url).await;
    b.open(url).await;
    a.click("call-btn").await;
    a.wait_for(
        "the other person",
        "return document.getElementById('status').textContent.includes('waiting for the other person');",
    )
    .await;
    let start = std::time::Instant::now();
    b.click("call-btn").await;
    start
}

/// Both pages' step logs, for a failure's message.
pub async fn logs(a: &Side<'_>, b: &Side<'_>) -> String {
    format!(
        "{} log: {}\n{} log: {}",
        a.name,
        a.log().await,
        b.name,
        b.log().await
    )
}

/// Both sides on the room: one waits, the other comes, both play. Returns how long from the
/// second page's Call until both play, as the test saw it.
pub async fn call(a: &Side<'_>, b: &Side<'_>, url: &str) -> Duration {
    let start = press_call(a, b, url).await;
    for side in [a, b] {
        if let Err(e) = side.playing().await {
            panic!("{e}\n{}", logs(a, b).await);
        }
    }
    let took = start.elapsed();
    for side in [a, b] {
        println!("{}: {}", side.name, side.status().await);
    }
    took
}

/// `a` hangs up: `b` hears it, both let go of the call, `b` keeps its camera until its HangUp.
pub async fn hang_up(a: &Side<'_>, b: &Side<'_>) {
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

pub fn room_url(base: &str, query: &str) -> String {
    let room: String = (0..22)
        .map(|i| char::from(b"abcdefghijklmnopqrstuvwxyz012345"[(rand_u64(i) % 32) as usize]))
        .collect();
    format!("{base}?room={room}{query}")
}

/// Enough randomness for a room name per test, without a dependency.
pub fn rand_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.finish()
}

pub async fn rooms_empty(hub: &std::sync::Arc<dyn Store>) {
    for _ in 0..100 {
        if hub.rooms() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} rooms left on the server", hub.rooms());
}

/// coturn with a shared secret, for as long as it is held: on 127.0.0.1, or on the network lab's
/// internet segment.
pub struct Coturn {
    pub port: u16,
    pub secret: String,
    _process: tokio::process::Child,
    _dir: std::path::PathBuf,
}

impl Coturn {
    /// coturn on 127.0.0.1, on a free port.
    pub async fn start() -> Self {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        Self::start_in(None, "127.0.0.1", port).await
    }

    /// coturn on `ip`:`port`, inside `netns` if one is given.
    pub async fn start_in(netns: Option<&str>, ip: &str, port: u16) -> Self {
        let secret = format!("test-{}", rand_u64(port.into()));
        let dir = std::env::temp_dir().join(format!(
            "coturn-{}-{port}-{}",
            std::process::id(),
            rand_u64(0) % 1_000_000
        ));
        std::fs::create_dir_all(&dir).expect("coturn's folder");
        let mut command = match netns {
            Some(netns) => {
                let mut command = tokio::process::Command::new("ip");
                command.args(["netns", "exec", netns, "turnserver"]);
                command
            }
            None => tokio::process::Command::new("turnserver"),
        };
        command
            .args(["-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint"])
            .args(["--listening-ip", ip, "--relay-ip", ip])
            .arg(format!("--listening-port={port}"))
            .args(["--min-port", "49200", "--max-port", "49900"])
            .args(["--use-auth-secret", "--realm", "loopback.test"])
            .arg(format!("--static-auth-secret={secret}"));
        if netns.is_none() {
            // On 127.0.0.1 both ends are loopback addresses, which coturn refuses by default.
            command.arg("--allow-loopback-peers");
        }
        let process = command
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
        let address = format!("{ip}:{port}");
        for _ in 0..100 {
            let address = address.clone();
            let up = match netns {
                Some(netns) => {
                    let netns = netns.to_owned();
                    tokio::task::spawn_blocking(move || {
                        super::lab::in_netns(&netns, move || {
                            std::net::TcpStream::connect(address).is_ok()
                        })
                    })
                    .await
                    .unwrap_or(false)
                }
                None => tokio::net::TcpStream::connect(address).await.is_ok(),
            };
            if up {
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

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

/// A way to a server that a test can cut, as a page's network goes: every connection through it
/// is dropped without a closing handshake, and new ones are dropped too until the cut is over.
/// Only the pages sent through it lose their way; their calls' media go directly, as before.
pub struct Cuttable {
    /// The server's address as the pages behind the cut reach it.
    pub url: String,
    /// The connections' generation: a cut starts a new one, which drops every older connection.
    cuts: tokio::sync::watch::Sender<u64>,
    until: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    task: tokio::task::JoinHandle<()>,
}

impl Cuttable {
    pub async fn to(server: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}/", listener.local_addr().expect("its address"));
        let (cuts, _) = tokio::sync::watch::channel(0);
        let until = std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
        let (watch, cut_until) = (cuts.clone(), std::sync::Arc::clone(&until));
        let task = tokio::spawn(async move {
            while let Ok((mut page, _)) = listener.accept().await {
                let cut = *cut_until.lock().expect("the cut's end") > std::time::Instant::now();
                if cut {
                    continue;
                }
                let mut cuts = watch.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(server).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut page, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self {
            url,
            cuts,
            until,
            task,
        }
    }

    /// Drops every connection now, and every new one for `long`.
    pub fn cut_for(&self, long: Duration) {
        *self.until.lock().expect("the cut's end") = std::time::Instant::now() + long;
        self.cuts.send_modify(|generation| *generation += 1);
    }
}

impl Drop for Cuttable {
    fn drop(&mut self) {
        self.task.abort();
    }
}
