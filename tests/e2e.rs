//! The page as users get it: the release build served on 127.0.0.1, clicked through in Chromium
//! and in Firefox, under its own Content-Security-Policy.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use serde_json::Value;
use std::time::Duration;
use support::{dist, Browser, Engine, Server};

in_both_browsers!(
    the_built_page_calls_and_hangs_up,
    start_works_before_the_rest_and_the_rest_takes_over_the_camera,
    the_rest_waits_for_the_cameras_answer_and_takes_it_over,
    the_videos_sit_side_by_side_on_a_wide_screen_and_stack_on_a_phone,
    the_content_security_policy_is_in_force,
    the_page_starts_in_browsers_without_uint8array_from_hex,
    the_rest_is_asked_for_whole_at_once,
);

/// www/boot.js asks for the rest's wasm together with its glue, not once the glue has come in
/// and run: on a first visit over a slow link, that wait came between them.
async fn the_rest_is_asked_for_whole_at_once(engine: Engine) {
    let (_server, browser) = open_page(engine).await;
    let rest = browser
        .eval(
            "const entry = end => performance.getEntriesByType('resource')
                .find(r => r.name.includes('/loopback-rtc-') && r.name.endsWith(end));
            const [glue, wasm] = [entry('.js'), entry('_bg.wasm')];
            return glue && wasm ? [glue.responseEnd, wasm.startTime] : null;",
        )
        .await;
    let at = |i: usize| {
        rest[i]
            .as_f64()
            .expect("the rest's glue and wasm in the resource timings")
    };
    let (glue_in, wasm_asked) = (at(0), at(1));
    assert!(
        wasm_asked < glue_in,
        "the wasm was asked for at {wasm_asked:.1} ms, after its glue was in at {glue_in:.1} ms"
    );
    browser.close().await;
}

const SECONDS_10: Duration = Duration::from_secs(10);

/// Chromium shows the page for the first time with Start already working, even when the first
/// module's script comes in long after the HTML (a first visit over a slow link): the script
/// holds the page's first paint (`blocking="render"`, scripts/post-build). Without it Chromium
/// paints the page with Start disabled while it waits. Firefox 153 does not know the attribute
/// and paints first: this is Chromium's test alone.
#[tokio::test(flavor = "current_thread")]
async fn the_first_paint_shows_start_working_in_chromium() {
    let server = Server::start(&dist()).await;
    let slow = SlowFirstModule::to(&server).await;
    let browser = Browser::launch(Engine::Chromium).await;
    browser.client.goto(&slow.url).await.expect("page loads");
    browser
        .wait_for(
            "Start to work and the page to be painted",
            SECONDS_10,
            "return !document.getElementById('start-btn').disabled
                && performance.getEntriesByName('first-paint').length === 1;",
        )
        .await;
    let times = browser
        .eval(
            "const at = name => performance.getEntriesByName(name)[0].startTime;
            const script = performance.getEntriesByType('resource')
                .find(r => r.name.includes('/loopback-start-'));
            return [at('loopback:start-usable'), at('first-paint'), script.responseStart];",
        )
        .await;
    let at = |i: usize| times[i].as_f64().expect("a time");
    let (usable, painted, script) = (at(0), at(1), at(2));
    // The proof that the script was late: Chromium had the HTML long before.
    assert!(
        script >= SlowFirstModule::DELAY.as_millis() as f64,
        "the script's answer came at {script:.0} ms, not held back"
    );
    assert!(
        painted >= usable,
        "the page was first painted at {painted:.0} ms, before Start worked at {usable:.0} ms"
    );
    browser.close().await;
}

/// A way to `server` that holds back the answer to the first module's script by
/// [`SlowFirstModule::DELAY`], as a slow link would its bytes; everything else passes at once.
struct SlowFirstModule {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl SlowFirstModule {
    const DELAY: Duration = Duration::from_millis(600);

    async fn to(server: &Server) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = server
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}/", listener.local_addr().expect("its address"));
        let task = tokio::spawn(async move {
            while let Ok((page, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (mut page_in, mut page_out) = page.into_split();
                let (mut server_in, mut server_out) = server.into_split();
                // HTTP/1.1 answers a connection's requests in order: once the script's request
                // has gone on, the next bytes back begin its answer.
                let asked = std::sync::Arc::new(AtomicBool::new(false));
                let asked_too = std::sync::Arc::clone(&asked);
                tokio::spawn(async move {
                    let mut buffer = vec![0; 16 * 1024];
                    while let Ok(n @ 1..) = page_in.read(&mut buffer).await {
                        if String::from_utf8_lossy(&buffer[..n]).contains("GET /loopback-start-") {
                            asked_too.store(true, Ordering::SeqCst);
                        }
                        if server_out.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buffer = vec![0; 16 * 1024];
                    while let Ok(n @ 1..) = server_in.read(&mut buffer).await {
                        if asked.swap(false, Ordering::SeqCst) {
                            tokio::time::sleep(Self::DELAY).await;
                        }
                        if page_out.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { url, task }
    }
}

impl Drop for SlowFirstModule {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start, Call, HangUp enabled?
async fn buttons(browser: &Browser) -> Value {
    browser
        .eval(
            "return ['start-btn', 'call-btn', 'hangup-btn']
                .map(id => !document.getElementById(id).disabled);",
        )
        .await
}

fn states(start: bool, call: bool, hang_up: bool) -> Value {
    serde_json::json!([start, call, hang_up])
}

/// Records every `securitypolicyviolation` in the page from now on; returns what it recorded.
const WATCH_VIOLATIONS: &str = "
    if (!window.__violations) {
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', e =>
            window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`));
    }
    return window.__violations;";

/// Every policy violation the page reported: those of [`WATCH_VIOLATIONS`] since it was
/// attached, and the reports a browser buffers from the start of the load, before any test script
/// could listen (Chromium does; Firefox 153 sends no `csp-violation` reports to observers).
async fn violations(browser: &Browser) -> Vec<String> {
    browser.eval(WATCH_VIOLATIONS).await;
    let script = "const done = arguments[arguments.length - 1];
        const seen = [...window.__violations];
        if (!window.ReportingObserver) return done(seen);
        const observer = new ReportingObserver(reports => seen.push(...reports.map(r =>
            `${r.body.effectiveDirective} blocked ${r.body.blockedURL} (reported)`)),
            { types: ['csp-violation'], buffered: true });
        observer.observe();
        setTimeout(() => { observer.disconnect(); done(seen); }, 200);";
    let seen = browser
        .client
        .execute_async(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("collecting violations: {e}"));
    seen.as_array()
        .expect("a list")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The release page served and loaded in `engine`, watched for policy violations, and whole:
/// until the first module is ready Start is disabled, and the rest of the page says when it is in.
async fn open_page(engine: Engine) -> (Server, Browser) {
    open_page_in(&dist(), engine).await
}

/// Like [`open_page`], for a copy of the build in `root`.
async fn open_page_in(root: &std::path::Path, engine: Engine) -> (Server, Browser) {
    let server = Server::start(root).await;
    let browser = Browser::launch(engine).await;
    browser.client.goto(&server.url).await.expect("page loads");
    browser.eval(WATCH_VIOLATIONS).await;
    browser
        .wait_for(
            "the whole page (both modules started under the page's policy)",
            SECONDS_10,
            "return !document.getElementById('start-btn').disabled
                && performance.getEntriesByName('loopback:page-ready').length === 1;",
        )
        .await;
    (server, browser)
}

/// The live tracks of the local video's stream, by id.
const LOCAL_TRACKS: &str = "const s = document.getElementById('localStream').srcObject;
    return s ? s.getTracks().filter(t => t.readyState === 'live').map(t => t.id).sort() : [];";

/// The page with its first module alone: a copy of the build in which the rest of the page has
/// another name, so that it fails to load; [`HeldRest::load`] loads it as www/boot.js would.
struct HeldRest {
    server: Server,
    browser: Browser,
    folder: std::path::PathBuf,
    rest: String,
}

impl HeldRest {
    /// `test` names the copy: tests run at once.
    async fn open(test: &str, engine: Engine) -> Self {
        let folder = copy_of_dist(&format!("{test}-{}", engine.name()), |name| {
            if name.starts_with("loopback-rtc-") {
                format!("held-{name}")
            } else {
                name.to_owned()
            }
        });
        let rest = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("held-")?
                    .strip_suffix(".js")
                    .map(str::to_owned)
            })
            .expect("the rest of the page in the build");
        let server = Server::start(&folder).await;
        let browser = Browser::launch(engine).await;
        let held = Self {
            server,
            browser,
            folder,
            rest,
        };
        held.reload().await;
        held
    }

    /// Loads the page afresh, and waits for Start to work and the rest of the page to fail.
    async fn reload(&self) {
        let browser = &self.browser;
        browser
            .client
            .goto(&self.server.url)
            .await
            .expect("page loads");
        browser
            .wait_for(
                "Start to work, and the rest of the page to fail to load",
                SECONDS_10,
                "return !document.getElementById('start-btn').disabled
                    && document.getElementById('status').textContent.startsWith('The call did not load');",
            )
            .await;
    }

    /// A script that loads the rest of the page and mounts it with what the first module hands
    /// over, as www/boot.js does; `window.__restIn` says when the rest is there, waiting for the
    /// hand-over, and `window.__mounted` is the promise of the whole.
    fn load(&self) -> String {
        let rest = &self.rest;
        format!(
            "window.__restIn = false;
             window.__mounted = (async () => {{
                const page = await import('/held-{rest}.js');
                await page.default({{ module_or_path: '/held-{rest}_bg.wasm' }});
                window.__restIn = true;
                page.mount(await window.wasmBindings.hand_over());
            }})();"
        )
    }

    /// Loads the rest of the page, as www/boot.js does, and waits until it is there.
    async fn load_the_rest(&self) {
        self.browser.eval(&self.load()).await;
        self.browser
            .wait_for(
                "the rest of the page",
                SECONDS_10,
                "return window.__restIn;",
            )
            .await;
    }

    async fn close(self) {
        self.browser.close().await;
        drop(self.server);
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Start works with the first module alone, and the rest of the page, once in, goes on with the
/// camera it opened: the same live tracks, then a call.
async fn start_works_before_the_rest_and_the_rest_takes_over_the_camera(engine: Engine) {
    let held = HeldRest::open("held-rest", engine).await;
    let browser = &held.browser;
    assert_eq!(buttons(browser).await, states(true, false, false));
    let inert = "return document.getElementById('tools').inert;";
    assert_eq!(browser.eval(inert).await, Value::Bool(true));

    // The first module alone: Start opens the camera, Call waits, HangUp stops every track.
    start_camera(browser).await;
    assert_eq!(buttons(browser).await, states(false, false, true));
    let first_tracks = browser
        .eval(
            "window.__first = document.getElementById('localStream').srcObject.getTracks();
               return window.__first.length;",
        )
        .await;
    assert_eq!(first_tracks, serde_json::json!(2), "camera and microphone");
    browser.click("hangup-btn").await;
    let stopped = browser
        .eval(
            "return window.__first.every(t => t.readyState === 'ended')
                && !document.getElementById('localStream').srcObject;",
        )
        .await;
    assert_eq!(stopped, Value::Bool(true), "HangUp stops every track");
    assert_eq!(buttons(browser).await, states(true, false, false));

    start_camera(browser).await;
    let status = browser
        .eval("return document.getElementById('status').textContent;")
        .await;
    assert!(
        status
            .as_str()
            .unwrap_or_default()
            .starts_with("The call did not load"),
        "the page says Call cannot work: {status}"
    );
    let before = browser.eval(LOCAL_TRACKS).await;
    assert_eq!(before.as_array().map(Vec::len), Some(2));
    browser
        .eval("window.__handed = document.getElementById('localStream').srcObject.getTracks();")
        .await;

    // The rest of the page arrives, as www/boot.js loads it, and takes over.
    let mounted = browser
        .eval(&format!(
            "{} return window.__mounted.then(() =>
                 performance.getEntriesByName('loopback:page-ready').length);",
            held.load()
        ))
        .await;
    assert_eq!(mounted, serde_json::json!(1));
    assert_eq!(
        browser.eval(LOCAL_TRACKS).await,
        before,
        "the same camera and microphone, still live"
    );
    assert_eq!(buttons(browser).await, states(false, true, true));
    assert_eq!(browser.eval(inert).await, Value::Bool(false));

    browser.click("call-btn").await;
    remote_video_plays(browser).await;
    // HangUp is the whole page's now: it stops the tracks the first module opened.
    browser.click("hangup-btn").await;
    assert_eq!(browser.eval(LOCAL_TRACKS).await, serde_json::json!([]));
    let ended = browser
        .eval("return window.__handed.every(t => t.readyState === 'ended');")
        .await;
    assert_eq!(
        ended,
        Value::Bool(true),
        "the handed-over tracks are stopped"
    );
    assert_eq!(buttons(browser).await, states(true, false, false));
    held.close().await;
}

/// Wraps getUserMedia so that the test answers each request itself (`window.__asked[i].answer()`,
/// then its stream is `window.__asked[i].stream`), and records promises rejected unhandled.
const HOLD_ANSWERS: &str = "
    const devices = navigator.mediaDevices, ask = devices.getUserMedia.bind(devices);
    window.__asked = [];
    devices.getUserMedia = (constraints) => new Promise((resolve, reject) => {
        const request = {};
        request.answer = () => ask(constraints)
            .then((stream) => { request.stream = stream; resolve(stream); }, reject);
        window.__asked.push(request);
    });
    window.__rejections = [];
    addEventListener('unhandledrejection', (e) => window.__rejections.push(String(e.reason)));";

async fn no_rejections(browser: &Browser) {
    assert_eq!(
        browser.eval("return window.__rejections;").await,
        serde_json::json!([]),
        "no promise rejected unhandled"
    );
}

/// The first module's camera requests, answered late: an answer that comes after HangUp is
/// stopped, even once the module has let go of the page; the rest of the page, arriving while
/// Start waits for the camera, waits for the answer and goes on with that camera; and HangUp
/// then hands the page over without one.
async fn the_rest_waits_for_the_cameras_answer_and_takes_it_over(engine: Engine) {
    let held = HeldRest::open("late-answer", engine).await;
    let browser = &held.browser;
    browser.eval(HOLD_ANSWERS).await;
    let asking = |n: usize| {
        format!(
            "return window.__asked.length === {n}
                && document.getElementById('status').textContent.startsWith('Asking');"
        )
    };
    let stopped = |i: usize| {
        format!(
            "return !!window.__asked[{i}].stream
                && window.__asked[{i}].stream.getTracks().every(t => t.readyState === 'ended');"
        )
    };
    let ready = "return performance.getEntriesByName('loopback:page-ready').length;";

    // HangUp while asking; the answer comes after it and is stopped.
    browser.click("start-btn").await;
    assert_eq!(browser.eval(&asking(1)).await, Value::Bool(true));
    assert_eq!(buttons(browser).await, states(false, false, true));
    browser.click("hangup-btn").await;
    assert_eq!(buttons(browser).await, states(true, false, false));
    browser.eval("window.__asked[0].answer();").await;
    browser
        .wait_for("the late answer, stopped", SECONDS_10, &stopped(0))
        .await;
    assert_eq!(browser.eval(LOCAL_TRACKS).await, serde_json::json!([]));
    assert_eq!(buttons(browser).await, states(true, false, false));

    // Start, HangUp and Start again, both requests unanswered; the rest of the page arrives and
    // waits for the second answer.
    browser.click("start-btn").await;
    browser.click("hangup-btn").await;
    browser.click("start-btn").await;
    assert_eq!(browser.eval(&asking(3)).await, Value::Bool(true));
    held.load_the_rest().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        browser.eval(ready).await,
        serde_json::json!(0),
        "the rest, there, waits for the camera's answer"
    );
    browser.eval("window.__asked[2].answer();").await;
    browser
        .eval("return (async () => { await window.__mounted; })();")
        .await;
    assert_eq!(browser.eval(ready).await, serde_json::json!(1));
    let given = browser
        .eval("return window.__asked[2].stream.getTracks().map(t => t.id).sort();")
        .await;
    assert_eq!(given.as_array().map(Vec::len), Some(2));
    assert_eq!(
        browser.eval(LOCAL_TRACKS).await,
        given,
        "the answer's camera and microphone, live, in the whole page"
    );
    assert_eq!(buttons(browser).await, states(false, true, true));

    // The request from before the HangUp is answered now that the first module has let go: its
    // stream is stopped all the same, and the page's camera stays on.
    browser.eval("window.__asked[1].answer();").await;
    browser
        .wait_for("the stale answer, stopped", SECONDS_10, &stopped(1))
        .await;
    assert_eq!(browser.eval(LOCAL_TRACKS).await, given);
    browser.click("call-btn").await;
    remote_video_plays(browser).await;
    browser.click("hangup-btn").await;
    assert_eq!(browser.eval(&stopped(2)).await, Value::Bool(true));
    no_rejections(browser).await;

    // Afresh: the rest arrives while Start waits, then HangUp. The page is handed over with no
    // camera, and the answer, when it comes, is stopped.
    held.reload().await;
    browser.eval(HOLD_ANSWERS).await;
    browser.click("start-btn").await;
    assert_eq!(browser.eval(&asking(1)).await, Value::Bool(true));
    held.load_the_rest().await;
    browser.click("hangup-btn").await;
    browser
        .eval("return (async () => { await window.__mounted; })();")
        .await;
    assert_eq!(browser.eval(ready).await, serde_json::json!(1));
    assert_eq!(browser.eval(LOCAL_TRACKS).await, serde_json::json!([]));
    assert_eq!(buttons(browser).await, states(true, false, false));
    browser.eval("window.__asked[0].answer();").await;
    browser
        .wait_for(
            "the answer after the hand-over, stopped",
            SECONDS_10,
            &stopped(0),
        )
        .await;
    assert_eq!(browser.eval(LOCAL_TRACKS).await, serde_json::json!([]));
    no_rejections(browser).await;
    held.close().await;
}

/// Presses Start and waits for the camera in the local video.
async fn start_camera(browser: &Browser) {
    browser.click("start-btn").await;
    browser
        .wait_for(
            "the camera",
            SECONDS_10,
            "return !!document.getElementById('localStream').srcObject
                && !document.getElementById('hangup-btn').disabled;",
        )
        .await;
}

/// Waits until the remote video plays: frames decoded, not paused, and the clock moving.
async fn remote_video_plays(browser: &Browser) {
    browser
        .wait_for(
            "the remote video to play",
            SECONDS_10,
            "const v = document.getElementById('remoteStream');
             return v.videoWidth > 0 && !v.paused && v.readyState >= 2 && v.currentTime > 0.2;",
        )
        .await;
}

/// A copy of the release build to serve, with files renamed (`rename` gives a file's new name).
fn copy_of_dist(name: &str, rename: impl Fn(&str) -> String) -> std::path::PathBuf {
    let copy = tempdir(name);
    for entry in std::fs::read_dir(dist()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        std::fs::copy(entry.path(), copy.join(rename(&name))).unwrap();
    }
    copy
}

/// A fresh, empty folder for one test.
fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn the_built_page_calls_and_hangs_up(engine: Engine) {
    let (_server, browser) = open_page(engine).await;
    assert_eq!(buttons(&browser).await, states(true, false, false));
    let labels = browser
        .eval(
            "return ['start-btn', 'call-btn', 'hangup-btn']
                .map(id => document.getElementById(id).textContent);",
        )
        .await;
    assert_eq!(labels, serde_json::json!(["Start", "Call", "HangUp"]));
    // The first module starts inside its script, as a plain deferred script would: Start works
    // before DOMContentLoaded, so before the browser's first style, layout and paint after it.
    let start_before_dcl = browser
        .eval(
            "const usable = performance.getEntriesByName('loopback:start-usable')[0].startTime;
             return usable <= performance.getEntriesByType('navigation')[0].domContentLoadedEventStart;",
        )
        .await;
    assert_eq!(
        start_before_dcl,
        Value::Bool(true),
        "Start works before DOMContentLoaded"
    );
    // The load's steps, as DevTools and the benchmark see them, in their order.
    let steps = browser
        .eval(
            "return ['script-start', 'first-module-compiled', 'start-usable', 'page-ready']
                .map(name => performance.getEntriesByName('loopback:' + name).length === 1
                    ? performance.getEntriesByName('loopback:' + name)[0].startTime : null)
                .every((t, i, all) => t !== null && (i === 0 || all[i - 1] <= t));",
        )
        .await;
    assert_eq!(steps, Value::Bool(true), "each step marked once, in order");

    start_camera(&browser).await;
    assert_eq!(buttons(&browser).await, states(false, true, true));

    browser.click("call-btn").await;
    assert_eq!(buttons(&browser).await, states(false, false, true));
    remote_video_plays(&browser).await;
    browser
        .wait_for(
            "the setup time",
            SECONDS_10,
            "return document.getElementById('status').textContent.startsWith('Setup time: ');",
        )
        .await;
    let setup = browser
        .eval(
            "return [...document.querySelectorAll('#log li')].map(li => li.textContent)
                .find(t => t.includes('Setup time: '));",
        )
        .await;
    println!(
        "{}: setup time reported by the page: {setup}",
        engine.name()
    );

    // The stats panel opens on connect, fills, and its graphs draw.
    browser
        .wait_for(
            "the stats panel to fill",
            SECONDS_10,
            "const cell = k => document.querySelector(`[data-stat='${k}']`).textContent;
             return !document.getElementById('stats').hidden
                && cell('video-codec').startsWith('video/')
                && /^[1-9]/.test(cell('video-bitrate').split(' / ')[1] || '')
                && cell('pair-local') !== '–';",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let drawn = browser
        .eval(
            "return ['graph-bitrate', 'graph-fps', 'graph-rtt'].map(id => {
                const c = document.getElementById(id);
                const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let inked = 0;
                for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
                return c.width > 0 && inked > 500;
             });",
        )
        .await;
    assert_eq!(drawn, serde_json::json!([true, true, true]), "graphs drawn");

    browser.client.set_window_size(1280, 1700).await.unwrap();
    if let Ok(png) = browser.client.screenshot().await {
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("e2e-call-{}.png", engine.name().to_lowercase()));
        let _ = std::fs::write(&out, png);
        println!("screenshot of the call: {}", out.display());
    }

    browser.click("hangup-btn").await;
    assert_eq!(buttons(&browser).await, states(true, false, false));
    let cleared = browser
        .eval(
            "return !document.getElementById('localStream').srcObject
                && !document.getElementById('remoteStream').srcObject;",
        )
        .await;
    assert_eq!(cleared, Value::Bool(true));

    // Self-contained: the favicon is served, and nothing came from another origin.
    let favicon = browser
        .eval("return fetch(document.querySelector('link[rel=icon]').href).then(r => r.status);")
        .await;
    assert_eq!(favicon, serde_json::json!(200));
    let foreign = browser
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)
                .filter(n => !n.startsWith(location.origin));",
        )
        .await;
    assert_eq!(foreign, serde_json::json!([]));
    // The page loaded and the whole call ran under the page's policy without tripping it.
    assert_eq!(violations(&browser).await, Vec::<String>::new());

    browser.close().await;
}

async fn the_videos_sit_side_by_side_on_a_wide_screen_and_stack_on_a_phone(engine: Engine) {
    let (_server, browser) = open_page(engine).await;
    let layout = |expected: &str| {
        format!(
            "const [a, b] = [...document.querySelectorAll('.videos figure')]
                .map(f => f.getBoundingClientRect());
             const seen = b.top >= a.bottom ? 'stacked' : (a.top === b.top ? 'side by side' : 'other');
             return seen === '{expected}';"
        )
    };
    // A window resize reaches the page asynchronously: wait for the layout to follow.
    browser.client.set_window_size(1280, 900).await.unwrap();
    browser
        .wait_for("side by side", SECONDS_10, &layout("side by side"))
        .await;
    browser.client.set_window_size(390, 844).await.unwrap();
    browser
        .wait_for("stacked on a phone", SECONDS_10, &layout("stacked"))
        .await;
    browser.close().await;
}

/// The policy is the page's own (a `<meta>`, since static hosts send no headers), it comes before
/// any script, the page works under it, and it blocks what it should: an inline script does not
/// run, a string is not evaluated, and each attempt is reported.
async fn the_content_security_policy_is_in_force(engine: Engine) {
    let (_server, browser) = open_page(engine).await;
    let policy = browser
        .eval(
            "const meta = document.querySelector('meta[http-equiv=Content-Security-Policy]');
             const first = document.head.querySelector('meta[http-equiv], script, link');
             return [meta && meta.content, first === meta];",
        )
        .await;
    let csp = policy[0]
        .as_str()
        .expect("a Content-Security-Policy <meta>");
    assert_eq!(policy[1], Value::Bool(true), "the policy comes first");
    for directive in [
        "default-src 'self'",
        // The recordings' preview player; no `connect-src`: nothing may fetch a `blob:` URL.
        "media-src 'self' blob:",
        "script-src 'self' 'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive:?} missing in {csp:?}");
    }
    assert!(
        !csp.contains("unsafe-inline")
            && !csp.contains("'unsafe-eval'")
            && !csp.contains("http")
            && !csp.contains("connect-src")
    );
    let scripts = browser
        .eval(
            "return [...document.scripts].map(s => [s.src.startsWith(location.origin), s.text.trim()]);",
        )
        .await;
    for script in scripts.as_array().expect("scripts") {
        assert_eq!(
            script[0],
            Value::Bool(true),
            "a script from elsewhere: {script}"
        );
        assert_eq!(
            script[1],
            serde_json::json!(""),
            "an inline script: {script}"
        );
    }

    // An inline script, as an injection would add it: it must not run, and it is reported.
    browser
        .eval(
            "const s = document.createElement('script');
             s.textContent = 'window.__inlineRan = true;';
             document.body.append(s);",
        )
        .await;
    // A string handed to setTimeout is eval: blocked too.
    browser
        .eval("window.__evalRan = false; setTimeout('window.__evalRan = true', 0);")
        .await;
    browser
        .wait_for(
            "both attempts to be reported",
            SECONDS_10,
            "return window.__violations.length >= 2;",
        )
        .await;
    let ran = browser
        .eval("return [window.__inlineRan === true, window.__evalRan === true];")
        .await;
    assert_eq!(
        ran,
        serde_json::json!([false, false]),
        "inline script, eval"
    );
    let violations = violations(&browser).await;
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("script-src") && v.ends_with("inline")),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("script-src") && v.ends_with("eval")),
        "{violations:?}"
    );
    browser.close().await;
}

/// Browsers older than `Uint8Array.fromHex` (Chrome 140, Firefox 133, Safari 18.2) decode the first
/// module's wasm in JavaScript, and the page works all the same, through a call: a copy of the
/// build with a script that takes `fromHex` away before the page's own runs.
async fn the_page_starts_in_browsers_without_uint8array_from_hex(engine: Engine) {
    let copy = copy_of_dist(&format!("no-from-hex-{}", engine.name()), str::to_owned);
    std::fs::write(
        copy.join("no-from-hex.js"),
        "delete Uint8Array.fromHex; window.__fromHexGone = !('fromHex' in Uint8Array);",
    )
    .unwrap();
    let html = std::fs::read_to_string(copy.join("index.html")).unwrap();
    assert!(
        html.matches("<script ").count() == 1,
        "one script in index.html"
    );
    let html = html.replace("<script ", "<script src=/no-from-hex.js></script><script ");
    std::fs::write(copy.join("index.html"), html).unwrap();
    // The build's compressed copies are of the page as it was, and the server prefers them.
    for stale in ["index.html.br", "index.html.gz"] {
        std::fs::remove_file(copy.join(stale)).expect("the build's copies of the page");
    }

    let (_server, browser) = open_page_in(&copy, engine).await;
    assert_eq!(
        browser.eval("return window.__fromHexGone;").await,
        Value::Bool(true)
    );
    start_camera(&browser).await;
    assert_eq!(
        browser.eval(LOCAL_TRACKS).await.as_array().map(Vec::len),
        Some(2),
        "camera and microphone live"
    );
    assert_eq!(buttons(&browser).await, states(false, true, true));
    browser.click("call-btn").await;
    remote_video_plays(&browser).await;
    browser.close().await;
}
