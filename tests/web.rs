//! The page in a real browser: calls, hang-ups at awkward moments, and every getUserMedia failure.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Promise, Reflect};
use loopback_rtc::media::{MediaSource, UserMedia};
use loopback_rtc::{App, Error};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use wasm_bindgen_test::*;
use web_sys::{
    Document, DomException, DomParser, Element, HtmlButtonElement, HtmlVideoElement, MediaStream,
    MediaStreamTrack, RtcPeerConnection, SupportedType,
};

wasm_bindgen_test_configure!(run_in_browser);

// ---- helpers ---------------------------------------------------------------------------------

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Polls `ready` every 20 ms; fails the test with `what` after `timeout_ms`.
async fn wait_for(what: &str, timeout_ms: u32, mut ready: impl FnMut() -> bool) {
    let mut waited = 0;
    while !ready() {
        assert!(
            waited < timeout_ms,
            "timed out after {timeout_ms} ms waiting for {what}"
        );
        sleep(20).await;
        waited += 20;
    }
}

/// The real page markup (index.html's `<main>`), mounted into the test document with an app on
/// it. Dropping it drops the app and removes the markup.
struct Fixture {
    app: Option<App>,
    root: Element,
}

impl Fixture {
    fn new(source: impl MediaSource + 'static) -> Self {
        // A failed test aborts without running drops: clear what it left behind.
        while let Some(stale) = document().query_selector("body > main").unwrap() {
            stale.remove();
        }
        let html = include_str!("../index.html");
        let parsed = DomParser::new()
            .unwrap()
            .parse_from_string(html, SupportedType::TextHtml)
            .unwrap();
        let main = parsed.query_selector("main").unwrap().unwrap();
        let root = document().import_node_with_deep(&main, true).unwrap();
        let root: Element = root.dyn_into().unwrap();
        document().body().unwrap().append_child(&root).unwrap();
        let app = App::mount(&document(), Box::new(source)).unwrap();
        Self {
            app: Some(app),
            root,
        }
    }

    fn app(&self) -> &App {
        self.app.as_ref().unwrap()
    }

    fn button(&self, id: &str) -> HtmlButtonElement {
        document()
            .get_element_by_id(id)
            .unwrap()
            .dyn_into()
            .unwrap()
    }

    fn video(&self, id: &str) -> HtmlVideoElement {
        document()
            .get_element_by_id(id)
            .unwrap()
            .dyn_into()
            .unwrap()
    }

    fn click(&self, id: &str) {
        self.button(id).click();
    }

    /// Start, Call, HangUp enabled?
    fn buttons(&self) -> (bool, bool, bool) {
        (
            !self.button("start-btn").disabled(),
            !self.button("call-btn").disabled(),
            !self.button("hangup-btn").disabled(),
        )
    }

    fn status(&self) -> String {
        self.app().page().status_text()
    }

    fn log(&self) -> Vec<String> {
        let items = document().query_selector_all("#log li").unwrap();
        (0..items.length())
            .filter_map(|i| items.item(i)?.text_content())
            .collect()
    }

    fn logged(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }

    async fn start(&self) {
        self.click("start-btn");
        wait_for("Call to be enabled", 5_000, || self.buttons().1).await;
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.app.take();
        self.root.remove();
    }
}

const IDLE: (bool, bool, bool) = (true, false, false);
const READY: (bool, bool, bool) = (false, true, true);
const IN_CALL: (bool, bool, bool) = (false, false, true);

/// The browser's getUserMedia (fake devices, from webdriver.json), remembering every stream it
/// handed out so a test can check that each one was stopped.
#[derive(Clone, Default)]
struct RecordingMedia {
    streams: Rc<RefCell<Vec<MediaStream>>>,
    requests: Rc<Cell<u32>>,
}

impl RecordingMedia {
    fn tracks(&self) -> Vec<MediaStreamTrack> {
        self.streams
            .borrow()
            .iter()
            .flat_map(|s| s.get_tracks().into_iter())
            .map(|t| t.unchecked_into::<MediaStreamTrack>())
            .collect()
    }

    fn live_tracks(&self) -> usize {
        self.tracks()
            .iter()
            .filter(|t| t.ready_state() != web_sys::MediaStreamTrackState::Ended)
            .count()
    }
}

impl MediaSource for RecordingMedia {
    fn request(&self) -> Result<Promise, Error> {
        self.requests.set(self.requests.get() + 1);
        let pending = UserMedia.request()?;
        let streams = Rc::clone(&self.streams);
        Ok(future_to_promise(async move {
            let stream = JsFuture::from(pending).await?;
            streams.borrow_mut().push(stream.clone().unchecked_into());
            Ok(stream)
        }))
    }
}

/// A getUserMedia that always rejects with a `DOMException` of the given name.
struct FailingMedia(&'static str);

impl MediaSource for FailingMedia {
    fn request(&self) -> Result<Promise, Error> {
        let error = DomException::new_with_message_and_name("injected by the test", self.0)?;
        Ok(Promise::reject(&error))
    }
}

/// Every `RTCPeerConnection` the page constructs from now on, via a recording subclass.
fn record_peers() -> Array {
    Function::new_no_args(
        "if (!window.__peers) {
            window.__peers = [];
            const Native = window.RTCPeerConnection;
            window.RTCPeerConnection = class extends Native {
                constructor(...args) { super(...args); window.__peers.push(this); }
            };
        }
        window.__peers.length = 0;
        return window.__peers;",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .unchecked_into()
}

fn open_peers(peers: &Array) -> usize {
    peers
        .iter()
        .map(|p| p.unchecked_into::<RtcPeerConnection>())
        .filter(|p| p.connection_state() != web_sys::RtcPeerConnectionState::Closed)
        .count()
}

fn state(peer: &RtcPeerConnection) -> String {
    Reflect::get(peer, &"connectionState".into())
        .unwrap()
        .as_string()
        .unwrap()
}

/// Waits until the app's call has both peers connected; returns them.
async fn connected(f: &Fixture) -> (RtcPeerConnection, RtcPeerConnection) {
    let (local, remote) = f.app().peers().expect("a call");
    wait_for("both peers connected", 10_000, || {
        state(&local) == "connected" && state(&remote) == "connected"
    })
    .await;
    (local, remote)
}

/// After a HangUp: nothing open, nothing live, nothing shown, Start usable again.
async fn assert_released(f: &Fixture, media: &RecordingMedia, peers: &Array) {
    assert_eq!(open_peers(peers), 0, "every peer closed");
    assert_eq!(media.live_tracks(), 0, "every track ended");
    assert!(f.video("localStream").src_object().is_none());
    assert!(f.video("remoteStream").src_object().is_none());
    assert_eq!(f.buttons(), IDLE);
    assert!(f.app().peers().is_none());
    // Late promises and events from the closed call must not act on the page.
    let lines = f.log().len();
    let status = f.status();
    sleep(300).await;
    assert_eq!(f.log().len(), lines, "log grew after HangUp: {:?}", f.log());
    assert_eq!(f.status(), status);
}

// ---- tests -----------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn start_is_enabled_once_the_app_is_mounted() {
    let f = Fixture::new(RecordingMedia::default());
    assert_eq!(f.buttons(), IDLE);
    assert!(f.status().contains("Press Start"), "{}", f.status());
}

#[wasm_bindgen_test]
async fn full_call_connects_plays_and_hangs_up_cleanly() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());

    f.start().await;
    assert_eq!(f.buttons(), READY);
    assert!(f.video("localStream").src_object().is_some());
    assert!(
        f.video("localStream").muted(),
        "no echo of your own microphone"
    );
    assert_eq!(f.logged("local stream obtained: "), 1, "{:?}", f.log());
    assert_eq!(media.live_tracks(), 2, "one audio and one video track");

    f.click("call-btn");
    assert_eq!(f.buttons(), IN_CALL);
    let (local, remote) = connected(&f).await;
    let video = f.video("remoteStream");
    wait_for("decoded remote frames", 10_000, || {
        video.video_width() > 0 && f.logged("Setup time: ") == 1
    })
    .await;
    assert!(video.src_object().is_some());
    assert!(f.status().starts_with("Setup time: "), "{}", f.status());

    let log = f.log();
    for step in [
        "local peer created the offer",
        "local peer set the offer as its local description",
        "remote peer set the offer as its remote description",
        "remote peer created the answer",
        "remote peer set the answer as its local description",
        "local peer set the answer as its remote description",
        "local peer handed ",
        "remote peer handed ",
        "local peer ICE connection: connected",
        "remote peer ICE connection: connected",
        "local peer connection: connected",
        "remote peer connection: connected",
        "remote video size: ",
        "first remote frame decoded",
    ] {
        assert!(
            log.iter().any(|l| l.contains(step)),
            "missing step {step:?} in {log:?}"
        );
    }
    assert_eq!(f.logged("remote peer received the "), 2, "{log:?}");
    assert_eq!(
        f.logged("remote stream received"),
        1,
        "set once, not per track"
    );
    assert_eq!(peers.length(), 2);

    f.click("hangup-btn");
    assert_eq!(state(&local), "closed");
    assert_eq!(state(&remote), "closed");
    assert_released(&f, &media, &peers).await;
    assert_eq!(f.status(), "Hung up. Press Start to begin again.");
}

#[wasm_bindgen_test]
async fn hang_up_in_the_same_tick_as_call() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    f.start().await;
    f.click("call-btn");
    f.click("hangup-btn");
    assert_eq!(peers.length(), 2);
    assert_released(&f, &media, &peers).await;
    assert_eq!(f.logged("created the offer"), 0, "{:?}", f.log());
}

/// Holds every `createAnswer()` from now on until `gate.open()`, which also puts the method back.
fn hold_create_answer() -> JsValue {
    Function::new_no_args(
        "const proto = window.RTCPeerConnection.prototype;
        const own = Object.getOwnPropertyDescriptor(proto, 'createAnswer');
        const native = proto.createAnswer;
        const held = [];
        proto.createAnswer = function (...args) {
            return new Promise((resolve, reject) =>
                held.push(() => native.apply(this, args).then(resolve, reject)));
        };
        return {
            held: () => held.length,
            open: () => {
                if (own) Object.defineProperty(proto, 'createAnswer', own);
                else delete proto.createAnswer;
                held.splice(0).forEach(release => release());
            },
        };",
    )
    .call0(&JsValue::NULL)
    .unwrap()
}

fn call_method(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &name.into())
        .unwrap()
        .unchecked_into::<Function>()
        .call0(target)
        .unwrap()
}

#[wasm_bindgen_test]
async fn hang_up_in_the_middle_of_the_offer_answer() {
    let peers = record_peers();
    let gate = hold_create_answer();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    f.start().await;
    f.click("call-btn");
    wait_for("createAnswer to be under way", 5_000, || {
        call_method(&gate, "held").as_f64() == Some(1.0)
    })
    .await;
    assert_eq!(
        f.logged("remote peer set the offer as its remote description"),
        1
    );
    f.click("hangup-btn");
    // The held answer now runs on a closed peer and fails: nobody may act on that.
    call_method(&gate, "open");
    assert_released(&f, &media, &peers).await;
    assert_eq!(f.logged("created the answer"), 0, "{:?}", f.log());
    assert_eq!(f.status(), "Hung up. Press Start to begin again.");
}

#[wasm_bindgen_test]
async fn hang_up_while_the_camera_is_being_asked_for() {
    let media = RecordingMedia::default();
    let peers = record_peers();
    let f = Fixture::new(media.clone());
    f.click("start-btn");
    assert_eq!(f.buttons(), (false, false, true));
    f.click("hangup-btn");
    // The stream arrives after the HangUp: it must be stopped, not shown.
    wait_for("the late stream", 5_000, || {
        media.streams.borrow().len() == 1
    })
    .await;
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn racing_clicks_open_one_stream_and_one_call() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    // A double click: the second lands before the first has disabled anything visible to it.
    f.click("start-btn");
    f.button("start-btn").set_disabled(false);
    f.click("start-btn");
    wait_for("Call to be enabled", 5_000, || f.buttons().1).await;
    assert_eq!(media.requests.get(), 1, "one camera request");
    f.click("call-btn");
    f.button("call-btn").set_disabled(false);
    f.click("call-btn");
    f.button("start-btn").set_disabled(false);
    f.click("start-btn");
    assert_eq!(peers.length(), 2, "one call");
    assert_eq!(media.requests.get(), 1);
    f.click("hangup-btn");
    f.click("hangup-btn");
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn twenty_cycles_leave_nothing_open() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    for cycle in 0..20 {
        f.start().await;
        f.click("call-btn");
        // Hang up at different moments: at once, soon after the offer, and once connected.
        match cycle % 3 {
            0 => {}
            1 => {
                wait_for("the offer", 5_000, || f.logged("created the offer") == 1).await;
            }
            _ => {
                connected(&f).await;
            }
        }
        f.click("hangup-btn");
        assert_eq!(f.buttons(), IDLE);
    }
    assert_eq!(media.requests.get(), 20);
    assert_eq!(media.streams.borrow().len(), 20);
    assert_eq!(peers.length(), 40);
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn each_getusermedia_failure_shows_its_message() {
    for name in [
        "NotAllowedError",
        "NotFoundError",
        "NotReadableError",
        "OverconstrainedError",
        "AbortError",
        "SecurityError",
        "TypeError",
    ] {
        let f = Fixture::new(FailingMedia(name));
        f.click("start-btn");
        wait_for("Start to come back", 5_000, || f.buttons().0).await;
        let expected = Error::from_name(name, "injected by the test").to_string();
        assert_eq!(f.status(), expected, "for {name}");
        let status = document().get_element_by_id("status").unwrap();
        assert_eq!(status.class_name(), "error");
        assert_eq!(f.buttons(), IDLE, "for {name}");
        assert!(f.video("localStream").src_object().is_none());
    }
}

#[wasm_bindgen_test]
async fn a_page_without_media_devices_says_to_use_a_secure_origin() {
    let navigator = web_sys::window().unwrap().navigator();
    let hide = Function::new_with_args(
        "n",
        "Object.defineProperty(n, 'mediaDevices', { value: undefined, configurable: true })",
    );
    hide.call1(&JsValue::NULL, &navigator).unwrap();
    let f = Fixture::new(UserMedia);
    f.click("start-btn");
    wait_for("Start to come back", 5_000, || f.buttons().0).await;
    // Own property removed: the prototype's getter shows through again.
    Reflect::delete_property(&navigator, &"mediaDevices".into()).unwrap();
    assert_eq!(f.status(), Error::InsecureContext.to_string());
}

#[wasm_bindgen_test]
async fn a_browser_without_webrtc_is_told_so() {
    let window = web_sys::window().unwrap();
    let native = Reflect::get(&window, &"RTCPeerConnection".into()).unwrap();
    Reflect::set(&window, &"RTCPeerConnection".into(), &JsValue::UNDEFINED).unwrap();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let on_mount = f.status();
    f.start().await;
    f.click("call-btn");
    let on_call = f.status();
    Reflect::set(&window, &"RTCPeerConnection".into(), &native).unwrap();
    assert_eq!(on_mount, Error::NoWebRtc.to_string());
    assert_eq!(on_call, Error::NoWebRtc.to_string());
    assert_eq!(
        f.buttons(),
        READY,
        "the camera stays on; Call may be tried again"
    );
    f.click("hangup-btn");
    assert_eq!(media.live_tracks(), 0);
}

/// Counts every callback of every `setInterval` the page starts from now on.
fn count_interval_callbacks() -> JsValue {
    Function::new_no_args(
        "if (!window.__intervals) {
            window.__intervals = { fired: 0 };
            const native = window.setInterval;
            window.setInterval = function (callback, ms, ...rest) {
                return native.call(window, function (...args) {
                    window.__intervals.fired++;
                    return callback.apply(this, args);
                }, ms, ...rest);
            };
        }
        window.__intervals.fired = 0;
        return window.__intervals;",
    )
    .call0(&JsValue::NULL)
    .unwrap()
}

fn fired(counter: &JsValue) -> f64 {
    Reflect::get(counter, &"fired".into())
        .unwrap()
        .as_f64()
        .unwrap()
}

fn stat(key: &str) -> String {
    document()
        .query_selector(&format!("[data-stat='{key}']"))
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap()
}

/// The first number in a cell ("640×480 / …" → 640), if any.
fn leading_number(text: &str) -> Option<f64> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}

#[wasm_bindgen_test]
async fn the_stats_panel_fills_during_a_call_and_stops_at_hang_up() {
    let ticks = count_interval_callbacks();
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let panel = document().get_element_by_id("stats").unwrap();
    assert!(panel.has_attribute("hidden"), "no panel before a call");

    f.start().await;
    f.click("call-btn");
    connected(&f).await;
    assert!(!panel.has_attribute("hidden"), "the panel opens on connect");
    wait_for("the panel to fill", 3_000, || {
        leading_number(&stat("video-fps")).is_some_and(|fps| fps > 0.0)
            && leading_number(&stat("video-bitrate")).is_some_and(|kbps| kbps > 0.0)
            && stat("video-codec").starts_with("video/")
            && stat("pair-local") != "–"
            && stat("pair-remote") != "–"
    })
    .await;
    assert!(
        stat("audio-codec").starts_with("audio/"),
        "{}",
        stat("audio-codec")
    );
    assert_eq!(stat("dtls"), "connected");
    assert!(stat("rtt").ends_with(" ms"), "{}", stat("rtt"));
    wait_for("the setup time", 5_000, || stat("timing-setup") != "–").await;
    for key in ["timing-ice", "timing-dtls", "video-size"] {
        assert_ne!(stat(key), "–", "{key}");
    }
    assert!(fired(&ticks) >= 1.0, "the panel reads on an interval");

    f.click("hangup-btn");
    let after_hang_up = fired(&ticks);
    let shown = stat("video-bitrate");
    sleep(2_500).await;
    assert_eq!(
        fired(&ticks),
        after_hang_up,
        "a stats timer fired after HangUp"
    );
    assert_eq!(
        stat("video-bitrate"),
        shown,
        "the figures stay as the call left them"
    );
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn a_failing_negotiation_step_is_shown_and_the_call_torn_down() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    f.start().await;
    let proto: js_sys::Object = Reflect::get(
        &Reflect::get(&web_sys::window().unwrap(), &"RTCPeerConnection".into()).unwrap(),
        &"prototype".into(),
    )
    .unwrap()
    .unchecked_into();
    let failing = Function::new_no_args(
        "return Promise.reject(new DOMException('injected by the test', 'OperationError'));",
    );
    Reflect::set(&proto, &"createAnswer".into(), &failing).unwrap();
    f.click("call-btn");
    wait_for("the failure", 5_000, || f.buttons() == READY).await;
    // Own property removed: the native createAnswer shows through again.
    Reflect::delete_property(&proto, &"createAnswer".into()).unwrap();

    assert_eq!(f.status(), "Create answer failed: injected by the test");
    assert_eq!(open_peers(&peers), 0, "the failed call's peers are closed");
    assert!(f.app().peers().is_none());
    assert_eq!(
        media.live_tracks(),
        2,
        "the camera stays on for another try"
    );
    assert_eq!(
        f.logged("call torn down: Create answer failed"),
        1,
        "{:?}",
        f.log()
    );

    // And the next Call works.
    f.click("call-btn");
    connected(&f).await;
    f.click("hangup-btn");
    assert_released(&f, &media, &peers).await;
}
