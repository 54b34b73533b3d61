//! The call: two `RTCPeerConnection`s in one page, wired to each other and negotiated.
//!
//! A [`PeerPair`] owns everything a call has: both peers, every listener on them and on the
//! remote video, and the first-frame callback. Dropping it closes both peers and removes every
//! listener, so hanging up is `drop(pair)`. Work still in flight (a pending `setRemoteDescription`,
//! an `addIceCandidate`) holds only a weak reference and finds the pair gone when it wakes.

use crate::error::{Error, JsResultExt};
use crate::page::Page;
use crate::panel::Monitor;
use crate::stats::Timings;
use gloo_events::EventListener;
use js_sys::{Array, Function, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    HtmlVideoElement, MediaStream, MediaStreamTrack, RtcIceCandidate, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcSessionDescriptionInit, RtcTrackEvent,
};

#[wasm_bindgen]
extern "C" {
    /// A video element seen through `requestVideoFrameCallback`, which web-sys lacks.
    #[wasm_bindgen(extends = HtmlVideoElement)]
    type FramedVideo;
    // `catch`: a browser without it throws, and the pair falls back to `loadeddata`.
    #[wasm_bindgen(method, catch, js_name = requestVideoFrameCallback)]
    fn request_video_frame_callback(
        this: &FramedVideo,
        callback: &Function,
    ) -> Result<u32, JsValue>;
    #[wasm_bindgen(method, js_name = cancelVideoFrameCallback)]
    fn cancel_video_frame_callback(this: &FramedVideo, handle: u32);
}

/// Whether this browser has `RTCPeerConnection` at all.
pub fn webrtc_supported() -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str("RTCPeerConnection"))
        .map(|constructor| constructor.is_function())
        .unwrap_or(false)
}

/// One end of the loopback call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The peer that sends the camera and makes the offer.
    Local,
    /// The peer that receives and answers.
    Remote,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Remote => "remote",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Local => Side::Remote,
            Side::Remote => Side::Local,
        }
    }
}

/// A live loopback call; see the module docs.
pub struct PeerPair {
    shared: Rc<Shared>,
    _listeners: Vec<EventListener>,
    _first_frame: FirstFrame,
    /// Resolves [`PeerPair::negotiate`]'s `closed` promise on drop: Chromium never settles the
    /// promises of a closed peer, and a step awaiting one alone would wait (and leak) forever.
    close: Option<Function>,
    closed: Promise,
}

/// What listeners and pending work reach through their weak references.
struct Shared {
    local: RtcPeerConnection,
    remote: RtcPeerConnection,
    page: Rc<Page>,
    /// ICE candidates handed across, by the local and the remote peer.
    handed: [Cell<u32>; 2],
    remote_stream_shown: Cell<bool>,
    /// Milliseconds since Call of the moments the stats panel shows.
    timings: Cell<Timings>,
    /// The stats panel's readings, from the moment both peers connect.
    monitor: RefCell<Option<Monitor>>,
}

impl PeerPair {
    /// Builds both peers (no ICE servers: the call never leaves the machine), wires every ICE
    /// candidate of each to the other, adds the stream's tracks to the local peer and watches the
    /// remote video for its first frame.
    pub fn new(page: Rc<Page>, stream: &MediaStream) -> Result<Self, Error> {
        if !webrtc_supported() {
            return Err(Error::NoWebRtc);
        }
        let local = RtcPeerConnection::new().step("Create the local peer")?;
        let remote = match RtcPeerConnection::new().step("Create the remote peer") {
            Ok(remote) => remote,
            Err(e) => {
                local.close();
                return Err(e);
            }
        };
        let shared = Rc::new(Shared {
            local,
            remote,
            page,
            handed: [Cell::new(0), Cell::new(0)],
            remote_stream_shown: Cell::new(false),
            timings: Cell::default(),
            monitor: RefCell::default(),
        });
        let mut listeners = Vec::with_capacity(9);
        for side in [Side::Local, Side::Remote] {
            let peer = shared.peer(side);
            listeners.push(shared.listen(peer, "icecandidate", move |s, event| {
                let candidate = event
                    .dyn_ref::<RtcPeerConnectionIceEvent>()
                    .and_then(|e| e.candidate());
                s.hand_over(side, candidate);
            }));
            listeners.push(
                shared.listen(peer, "iceconnectionstatechange", move |s, _| {
                    let state = s.state(side, "iceConnectionState");
                    let ms = s.step(&format!("{} peer ICE connection: {state}", side.name()));
                    if side == Side::Local && matches!(state.as_str(), "connected" | "completed") {
                        s.time(ms, |t| &mut t.ice_connected_ms);
                    }
                }),
            );
            listeners.push(shared.listen(peer, "connectionstatechange", move |s, _| {
                s.connection_changed(side)
            }));
        }
        listeners.push(shared.listen(&shared.remote, "track", |s, event| {
            if let Some(event) = event.dyn_ref::<RtcTrackEvent>() {
                s.track_arrived(event);
            }
        }));
        let video = shared.page.remote_video.clone();
        listeners.push(shared.listen(&video, "resize", |s, _| {
            let video = &s.page.remote_video;
            let (w, h) = (video.video_width(), video.video_height());
            if w > 0 && h > 0 {
                s.step(&format!("remote video size: {w}×{h}"));
            }
        }));
        shared.page.stats.reset();
        let first_frame = FirstFrame::watch(&video, Rc::downgrade(&shared));
        let mut close = None;
        let closed = Promise::new(&mut |resolve, _| close = Some(resolve));

        for track in stream.get_tracks() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                shared.local.add_track_0(&track, stream);
            }
        }
        Ok(Self {
            shared,
            _listeners: listeners,
            _first_frame: first_frame,
            close,
            closed,
        })
    }

    pub fn local(&self) -> &RtcPeerConnection {
        &self.shared.local
    }

    pub fn remote(&self) -> &RtcPeerConnection {
        &self.shared.remote
    }

    /// Offer → local setLocalDescription → remote setRemoteDescription → answer → remote
    /// setLocalDescription → local setRemoteDescription, each awaited and logged. The future
    /// holds the pair weakly: if the pair is dropped meanwhile it ends with `Ok` and does nothing
    /// more, whatever the pending promise says.
    pub fn negotiate(&self) -> impl Future<Output = Result<(), Error>> + 'static {
        let negotiation = Negotiation {
            pair: Rc::downgrade(&self.shared),
            closed: self.closed.clone(),
        };
        async move {
            match negotiation.run().await {
                Ok(()) | Err(Stop::Gone) => Ok(()),
                Err(Stop::Failed(e)) => Err(e),
            }
        }
    }
}

impl Drop for PeerPair {
    fn drop(&mut self) {
        if self.shared.monitor.take().is_some() {
            self.shared.page.stats.close();
        }
        // close() fires no state-change events, and the listeners go right after this.
        self.shared.local.close();
        self.shared.remote.close();
        if let Some(close) = &self.close {
            let _ = close.call0(&JsValue::NULL);
        }
    }
}

/// Why negotiation stopped early.
enum Stop {
    /// The pair was dropped (HangUp): nobody wants the result.
    Gone,
    Failed(Error),
}

/// The negotiation's hold on the pair: weak, and racing every step against the pair's closing.
struct Negotiation {
    pair: Weak<Shared>,
    closed: Promise,
}

impl Negotiation {
    async fn run(&self) -> Result<(), Stop> {
        let offer = self
            .step("Create offer", "local peer created the offer", |s| {
                s.local.create_offer()
            })
            .await?;
        let offer: &RtcSessionDescriptionInit = offer.unchecked_ref();
        self.step(
            "Set the offer as local description",
            "local peer set the offer as its local description",
            |s| s.local.set_local_description(offer),
        )
        .await?;
        self.step(
            "Set the offer as remote description",
            "remote peer set the offer as its remote description",
            |s| s.remote.set_remote_description(offer),
        )
        .await?;
        let answer = self
            .step("Create answer", "remote peer created the answer", |s| {
                s.remote.create_answer()
            })
            .await?;
        let answer: &RtcSessionDescriptionInit = answer.unchecked_ref();
        self.step(
            "Set the answer as local description",
            "remote peer set the answer as its local description",
            |s| s.remote.set_local_description(answer),
        )
        .await?;
        self.step(
            "Set the answer as remote description",
            "local peer set the answer as its remote description",
            |s| s.local.set_remote_description(answer),
        )
        .await?;
        Ok(())
    }

    /// Starts one step on the live pair, awaits it (or the pair's closing, whichever comes
    /// first), and logs `done` if the pair is still there to care.
    async fn step(
        &self,
        name: &'static str,
        done: &str,
        start: impl FnOnce(&Shared) -> Promise,
    ) -> Result<JsValue, Stop> {
        let promise = start(&*self.pair.upgrade().ok_or(Stop::Gone)?);
        let result = JsFuture::from(Promise::race(&Array::of2(&promise, &self.closed))).await;
        let shared = self.pair.upgrade().ok_or(Stop::Gone)?;
        let value = result.step(name).map_err(Stop::Failed)?;
        shared.step(done);
        Ok(value)
    }
}

impl Shared {
    fn peer(&self, side: Side) -> &RtcPeerConnection {
        match side {
            Side::Local => &self.local,
            Side::Remote => &self.remote,
        }
    }

    /// A listener whose callback sees the pair only while it is alive.
    fn listen(
        self: &Rc<Self>,
        target: &web_sys::EventTarget,
        event: &'static str,
        mut callback: impl FnMut(&Rc<Shared>, &web_sys::Event) + 'static,
    ) -> EventListener {
        let pair = Rc::downgrade(self);
        EventListener::new(target, event, move |e| {
            if let Some(shared) = pair.upgrade() {
                callback(&shared, e);
            }
        })
    }

    /// Logs a step; returns its time since Call.
    fn step(&self, text: &str) -> f64 {
        self.page.log.step(text)
    }

    /// Records the first time of one moment of the call and shows the timings.
    fn time(&self, ms: f64, moment: impl FnOnce(&mut Timings) -> &mut Option<f64>) {
        let mut timings = self.timings.get();
        let slot = moment(&mut timings);
        if slot.is_none() {
            *slot = Some(ms);
            self.timings.set(timings);
            self.page.stats.show(&timings.rows());
        }
    }

    /// A string-valued state attribute, read without going through web-sys' enums (whose
    /// names are not public).
    fn state(&self, side: Side, attribute: &str) -> String {
        Reflect::get(self.peer(side), &JsValue::from_str(attribute))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    }

    /// Gives one of `from`'s ICE candidates (or its end-of-candidates, `None`) to the other peer.
    fn hand_over(self: &Rc<Self>, from: Side, candidate: Option<RtcIceCandidate>) {
        let count = &self.handed[from as usize];
        let to = from.other();
        match &candidate {
            Some(_) => count.set(count.get() + 1),
            None => {
                self.step(&format!(
                    "{} peer handed {} ICE candidates to the {} peer, then end-of-candidates",
                    from.name(),
                    count.get(),
                    to.name()
                ));
            }
        }
        let added = self
            .peer(to)
            .add_ice_candidate_with_opt_rtc_ice_candidate(candidate.as_ref());
        let pair = Rc::downgrade(self);
        spawn_local(async move {
            if let Err(e) = JsFuture::from(added).await {
                if let Some(shared) = pair.upgrade() {
                    let e = Error::in_step("Add ICE candidate", e.into());
                    shared.step(&format!("{} peer: {e}", to.name()));
                }
            }
        });
    }

    fn connection_changed(&self, side: Side) {
        let state = self.state(side, "connectionState");
        let ms = self.step(&format!("{} peer connection: {state}", side.name()));
        // "connected" needs every DTLS transport connected: the DTLS handshake ends here.
        if side == Side::Local && state == "connected" {
            self.time(ms, |t| &mut t.dtls_connected_ms);
        }
        match state.as_str() {
            "failed" => {
                self.page.error(&Error::CallStep {
                    step: "Connecting the peers",
                    detail: format!("the {} peer's connection failed", side.name()),
                });
                if self.monitor.borrow_mut().take().is_some() {
                    self.page.stats.close();
                }
            }
            "connected" if self.state(side.other(), "connectionState") == "connected" => {
                self.page
                    .status("Connected: the remote peer is receiving your camera and microphone.");
                let mut monitor = self.monitor.borrow_mut();
                if monitor.is_none() {
                    *monitor = Some(Monitor::start(
                        self.local.clone(),
                        self.remote.clone(),
                        Rc::clone(&self.page),
                    ));
                }
            }
            _ => {}
        }
    }

    /// Logs every remote track, and shows the remote stream once, however many tracks it has.
    fn track_arrived(&self, event: &RtcTrackEvent) {
        self.step(&format!(
            "remote peer received the {} track",
            event.track().kind()
        ));
        if self.remote_stream_shown.get() {
            return;
        }
        match event.streams().get(0).dyn_into::<MediaStream>() {
            Ok(stream) => {
                self.page.remote_video.set_src_object(Some(&stream));
                self.remote_stream_shown.set(true);
                self.step("remote stream received and shown in the remote video");
            }
            Err(_) => {
                self.step("remote track came without a stream; not shown");
            }
        }
    }

    fn first_frame(&self) {
        let ms = self.step("first remote frame decoded");
        self.time(ms, |t| &mut t.setup_ms);
        // The call is set up: a first reading now fills the panel a period sooner.
        if let Some(monitor) = self.monitor.borrow().as_ref() {
            monitor.read_now();
        }
        let text = format!("Setup time: {} ms", ms.round() as u64);
        self.step(&text);
        self.page.status(&format!(
            "{text}. The call is running; press HangUp to end it."
        ));
    }
}

/// Calls back once, at the first frame the remote video presents; cancelled when dropped.
enum FirstFrame {
    VideoFrame {
        video: HtmlVideoElement,
        handle: u32,
        _callback: Closure<dyn FnMut()>,
    },
    /// For browsers without `requestVideoFrameCallback`.
    LoadedData { _listener: EventListener },
}

impl FirstFrame {
    fn watch(video: &HtmlVideoElement, pair: Weak<Shared>) -> Self {
        let report = {
            let pair = pair.clone();
            move || {
                if let Some(shared) = pair.upgrade() {
                    shared.first_frame();
                }
            }
        };
        let callback = Closure::<dyn FnMut()>::new(report.clone());
        let framed: &FramedVideo = video.unchecked_ref();
        match framed.request_video_frame_callback(callback.as_ref().unchecked_ref()) {
            Ok(handle) => FirstFrame::VideoFrame {
                video: video.clone(),
                handle,
                _callback: callback,
            },
            Err(_) => FirstFrame::LoadedData {
                _listener: EventListener::once(video, "loadeddata", move |_| report()),
            },
        }
    }
}

impl Drop for FirstFrame {
    fn drop(&mut self) {
        if let FirstFrame::VideoFrame { video, handle, .. } = self {
            video
                .unchecked_ref::<FramedVideo>()
                .cancel_video_frame_callback(*handle);
        }
    }
}
