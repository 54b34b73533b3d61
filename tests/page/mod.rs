//! The page mounted in the test document, and what the browser tests watch it with: a recording
//! getUserMedia, a failing one, every peer the page makes, and the checks after a HangUp.
#![allow(dead_code)] // each test file takes only part of it

use js_sys::{Array, Function, Promise, Reflect};
use loopback_rtc::address::Mode;
use loopback_rtc::media::{MediaSource, UserMedia};
use loopback_rtc::page::Root;
use loopback_rtc::{App, Error};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{
    Document, DomException, DomParser, Element, HtmlButtonElement, HtmlVideoElement, MediaStream,
    MediaStreamConstraints, MediaStreamTrack, RtcPeerConnection, SupportedType,
};

pub fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// The text of the stats panel's figure `key`.
pub fn stat(key: &str) -> String {
    document()
        .query_selector(&format!("[data-stat='{key}']"))
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap()
}

/// Polls `ready` every 20 ms; fails the test with `what` after `timeout_ms`.
pub async fn wait_for(what: &str, timeout_ms: u32, mut ready: impl FnMut() -> bool) {
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

/// The real page markup (index.html's `<main>`), mounted into the test document (or into a
/// shadow root of its own, for a second page beside the first) with an app on it. Dropping it
/// drops the app and removes the markup.
pub struct Fixture {
    app: Option<App>,
    root: Element,
    host: Option<Element>,
}

impl Fixture {
    /// The tutorial's page.
    pub fn new(source: impl MediaSource + 'static) -> Self {
        Self::with_mode(source, Mode::Loopback)
    }

    /// The page with Call doing what `mode` says.
    pub fn with_mode(source: impl MediaSource + 'static, mode: Mode) -> Self {
        // A failed test aborts without running drops: clear what it left behind.
        while let Some(stale) = document()
            .query_selector("body > main, body > .second-page")
            .unwrap()
        {
            stale.remove();
        }
        Self::mount(Root::Document(document()), None, source, mode)
    }

    /// A second page beside the first, as another tab would have it, in a shadow root so that
    /// its ids do not meet the first page's.
    pub fn beside(source: impl MediaSource + 'static, mode: Mode) -> Self {
        let host = document().create_element("div").unwrap();
        host.set_class_name("second-page");
        document().body().unwrap().append_child(&host).unwrap();
        let shadow = host
            .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
            .unwrap();
        Self::mount(Root::Shadow(shadow), Some(host), source, mode)
    }

    fn mount(
        scope: Root,
        host: Option<Element>,
        source: impl MediaSource + 'static,
        mode: Mode,
    ) -> Self {
        let html = include_str!("../../index.html");
        let parsed = DomParser::new()
            .unwrap()
            .parse_from_string(html, SupportedType::TextHtml)
            .unwrap();
        let main = parsed.query_selector("main").unwrap().unwrap();
        let root = document().import_node_with_deep(&main, true).unwrap();
        let root: Element = root.dyn_into().unwrap();
        match &scope {
            Root::Document(doc) => doc.body().unwrap().append_child(&root).unwrap(),
            Root::Shadow(shadow) => shadow.append_child(&root).unwrap(),
        };
        let app = App::mount_in(scope.clone(), Box::new(source), mode).unwrap();
        Self {
            app: Some(app),
            root,
            host,
        }
    }

    pub fn app(&self) -> &App {
        self.app.as_ref().unwrap()
    }

    /// The page's root element (its `<main>`).
    pub fn root(&self) -> &Element {
        &self.root
    }

    pub fn element_by_id(&self, id: &str) -> Element {
        self.element(id)
    }

    fn element(&self, id: &str) -> Element {
        self.root
            .query_selector(&format!("#{id}"))
            .unwrap()
            .unwrap_or_else(|| panic!("#{id}"))
    }

    pub fn button(&self, id: &str) -> HtmlButtonElement {
        self.element(id).dyn_into().unwrap()
    }

    pub fn video(&self, id: &str) -> HtmlVideoElement {
        self.element(id).dyn_into().unwrap()
    }

    pub fn click(&self, id: &str) {
        self.button(id).click();
    }

    /// Start, Call, HangUp enabled?
    pub fn buttons(&self) -> (bool, bool, bool) {
        (
            !self.button("start-btn").disabled(),
            !self.button("call-btn").disabled(),
            !self.button("hangup-btn").disabled(),
        )
    }

    pub fn status(&self) -> String {
        self.app().page().status_text()
    }

    pub fn log(&self) -> Vec<String> {
        let items = self.root.query_selector_all("#log li").unwrap();
        (0..items.length())
            .filter_map(|i| items.item(i)?.text_content())
            .collect()
    }

    pub fn logged(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }

    /// Like [`wait_for`], and a failure shows the page's status and step log.
    pub async fn wait(&self, what: &str, timeout_ms: u32, mut ready: impl FnMut() -> bool) {
        let mut waited = 0;
        while !ready() {
            assert!(
                waited < timeout_ms,
                "timed out after {timeout_ms} ms waiting for {what}; status {:?}; log {:#?}",
                self.status(),
                self.log()
            );
            sleep(20).await;
            waited += 20;
        }
    }

    pub async fn start(&self) {
        self.click("start-btn");
        wait_for("Call to be enabled", 5_000, || self.buttons().1).await;
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.app.take();
        self.root.remove();
        if let Some(host) = self.host.take() {
            host.remove();
        }
    }
}

pub const IDLE: (bool, bool, bool) = (true, false, false);
pub const READY: (bool, bool, bool) = (false, true, true);
pub const IN_CALL: (bool, bool, bool) = (false, false, true);

/// The browser's getUserMedia (fake devices, from webdriver.json), remembering every stream it
/// handed out so a test can check that each one was stopped.
#[derive(Clone, Default)]
pub struct RecordingMedia {
    pub streams: Rc<RefCell<Vec<MediaStream>>>,
    /// Every track handed out, kept here: the page may take one out of its stream.
    handed_out: Rc<RefCell<Vec<MediaStreamTrack>>>,
    pub requests: Rc<Cell<u32>>,
}

impl RecordingMedia {
    pub fn tracks(&self) -> Vec<MediaStreamTrack> {
        self.handed_out.borrow().clone()
    }

    fn record(&self, stream: &MediaStream) {
        self.streams.borrow_mut().push(Clone::clone(stream));
        self.handed_out.borrow_mut().extend(
            stream
                .get_tracks()
                .into_iter()
                .map(|t| t.unchecked_into::<MediaStreamTrack>()),
        );
    }

    pub fn live_tracks(&self) -> usize {
        self.tracks()
            .iter()
            .filter(|t| t.ready_state() != web_sys::MediaStreamTrackState::Ended)
            .count()
    }
}

impl MediaSource for RecordingMedia {
    fn request(&self, constraints: &MediaStreamConstraints) -> Result<Promise, Error> {
        self.requests.set(self.requests.get() + 1);
        let pending = UserMedia.request(constraints)?;
        let recorder = self.clone();
        Ok(future_to_promise(async move {
            let stream = JsFuture::from(pending).await?;
            recorder.record(stream.unchecked_ref());
            Ok(stream)
        }))
    }

    /// A headless browser has no screen to capture: a canvas that draws a moving square stands
    /// in for it, recorded like the camera's streams.
    fn display(&self) -> Result<Promise, Error> {
        let stream: MediaStream = Function::new_no_args(
            "const canvas = document.createElement('canvas');
            canvas.width = 640; canvas.height = 360;
            const g = canvas.getContext('2d');
            let x = 0;
            const draw = () => {
                if (stream.getVideoTracks()[0].readyState === 'ended') return clearInterval(timer);
                g.fillStyle = '#1f6feb'; g.fillRect(0, 0, 640, 360);
                g.fillStyle = '#ffffff'; g.fillRect(x, 130, 100, 100);
                x = (x + 10) % 540;
            };
            const stream = canvas.captureStream(30);
            const timer = setInterval(draw, 33);
            draw();
            return stream;",
        )
        .call0(&JsValue::NULL)?
        .unchecked_into();
        self.record(&stream);
        Ok(Promise::resolve(&JsValue::from(stream)))
    }
}

/// A getUserMedia that always rejects with a `DOMException` of the given name.
pub struct FailingMedia(pub &'static str);

impl MediaSource for FailingMedia {
    fn request(&self, _: &MediaStreamConstraints) -> Result<Promise, Error> {
        let error = DomException::new_with_message_and_name("injected by the test", self.0)?;
        Ok(Promise::reject(&error))
    }
}

/// Every `RTCPeerConnection` the page constructs from now on, via a recording subclass.
pub fn record_peers() -> Array {
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

pub fn open_peers(peers: &Array) -> usize {
    peers
        .iter()
        .map(|p| p.unchecked_into::<RtcPeerConnection>())
        .filter(|p| p.connection_state() != web_sys::RtcPeerConnectionState::Closed)
        .count()
}

pub fn state(peer: &RtcPeerConnection) -> String {
    Reflect::get(peer, &"connectionState".into())
        .unwrap()
        .as_string()
        .unwrap()
}

/// Waits until the app's call has both peers connected; returns them.
pub async fn connected(f: &Fixture) -> (RtcPeerConnection, RtcPeerConnection) {
    let (local, remote) = f.app().peers().expect("a call");
    wait_for("both peers connected", 10_000, || {
        state(&local) == "connected" && state(&remote) == "connected"
    })
    .await;
    (local, remote)
}

/// After a HangUp: nothing open, nothing live, nothing shown, Start usable again.
pub async fn assert_released(f: &Fixture, media: &RecordingMedia, peers: &Array) {
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
