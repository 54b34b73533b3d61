//! What a call shows on the page, whatever its peers: the remote stream and its first frame, the
//! timings since Call, the status line, and the stats panel once every peer is connected. In a
//! group call each person's call has a screen of its own, on their tile, with a row of figures in
//! the table of people; the one chosen shows in the stats panel and speaks on the status line.

use crate::call::monitor::{self, Monitor};
use crate::page::stats_view::PersonRow;
use crate::page::Page;
use crate::stats::{History, Stats, Summary, Timings};
use gloo_events::EventListener;
use js_sys::Function;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlVideoElement, MediaStream, RtcPeerConnection, RtcTrackEvent};

#[wasm_bindgen]
extern "C" {
    /// A video element seen through `requestVideoFrameCallback`, which web-sys lacks.
    #[wasm_bindgen(extends = HtmlVideoElement)]
    type FramedVideo;
    // `catch`: a browser without it throws, and the screen falls back to `loadeddata`.
    #[wasm_bindgen(method, catch, js_name = requestVideoFrameCallback)]
    fn request_video_frame_callback(
        this: &FramedVideo,
        callback: &Function,
    ) -> Result<u32, JsValue>;
    #[wasm_bindgen(method, js_name = cancelVideoFrameCallback)]
    fn cancel_video_frame_callback(this: &FramedVideo, handle: u32);
}

/// One call's view; dropping it stops the stats panel and the first-frame watch.
pub struct Screen {
    shared: Rc<Shared>,
    _resize: EventListener,
    _first_frame: FirstFrame,
}

struct Shared {
    page: Rc<Page>,
    /// Where the remote stream shows.
    video: HtmlVideoElement,
    /// Whether this call is the one the stats panel and the status line are about.
    panel: Cell<bool>,
    /// Who is at the other end, for the step log of a group call (`None`: the only one).
    label: RefCell<Option<String>>,
    /// This person's row in the table of people (a room call's), and the readings it is shown
    /// from while the panel's monitor is not reading this call.
    row: Option<PersonRow>,
    row_stats: RefCell<Stats>,
    /// How many peers must be connected for the call to be (two in the page, one in a room).
    peers: usize,
    connected: RefCell<Vec<&'static str>>,
    /// The peer that sends the camera and the one that receives the other end's, for the stats.
    stats_peers: RefCell<Option<(RtcPeerConnection, RtcPeerConnection)>>,
    remote_stream_shown: Cell<bool>,
    /// Milliseconds since Call of the moments the stats panel shows.
    timings: Cell<Timings>,
    monitor: RefCell<Option<Monitor>>,
}

impl Screen {
    /// A fresh view for a call of `peers` peers: the panel emptied, the remote video watched.
    pub fn new(page: Rc<Page>, peers: usize) -> Self {
        let video = page.remote_video.clone();
        Self::on(page, peers, video, true, None)
    }

    /// A view of a call shown in `video`, about which the stats panel and the status line speak
    /// if `panel`, its figures in `row` of the table of people throughout.
    pub fn on(
        page: Rc<Page>,
        peers: usize,
        video: HtmlVideoElement,
        panel: bool,
        row: Option<PersonRow>,
    ) -> Self {
        if panel {
            page.stats.reset();
        }
        let shared = Rc::new(Shared {
            page,
            video,
            panel: Cell::new(panel),
            label: RefCell::default(),
            row,
            row_stats: RefCell::default(),
            peers,
            connected: RefCell::default(),
            stats_peers: RefCell::default(),
            remote_stream_shown: Cell::new(false),
            timings: Cell::default(),
            monitor: RefCell::default(),
        });
        let video = shared.video.clone();
        let weak = Rc::downgrade(&shared);
        let resize = EventListener::new(&video, "resize", move |_| {
            if let Some(s) = weak.upgrade() {
                let (w, h) = (s.video.video_width(), s.video.video_height());
                if w > 0 && h > 0 {
                    s.step(&format!("remote video size: {w}×{h}"));
                }
            }
        });
        let first_frame = FirstFrame::watch(&video, Rc::downgrade(&shared));
        Self {
            shared,
            _resize: resize,
            _first_frame: first_frame,
        }
    }

    /// Names the person at the other end in the step log (a group call's).
    pub fn label(&self, label: Option<String>) {
        *self.shared.label.borrow_mut() = label;
    }

    /// Shows in this call's row of the table of people who it is with, whether it is
    /// reconnecting and whether it is the one the panel shows.
    pub fn describe(&self, name: &str, reconnecting: bool, chosen: bool) {
        if let Some(row) = &self.shared.row {
            row.describe(name, reconnecting, chosen);
        }
    }

    /// Makes this call the one the stats panel shows (`true`), or lets it go.
    pub fn show_in_panel(&self, on: bool) {
        let s = &self.shared;
        if s.panel.replace(on) == on {
            return;
        }
        if !on {
            if s.monitor.take().is_some() {
                s.page.stats.close();
            }
            return;
        }
        s.page.stats.reset();
        let timings = s.timings.get();
        s.page.stats.show(&timings.rows());
        if s.connected.borrow().len() == s.peers {
            s.start_monitor();
        }
    }

    /// A reading of the call's stats made for its recovery: shown in its row of the table of
    /// people, unless the panel's monitor reads this call already (its readings go there too).
    pub fn stats_read(&self, report: &JsValue) {
        let s = &self.shared;
        let Some(row) = &s.row else {
            return;
        };
        if s.monitor.borrow().is_some() || !s.page.stats.people_shown() {
            return;
        }
        let report = monitor::report(report);
        let summary = s.row_stats.borrow_mut().update(report.clone(), report);
        row.show(&summary);
    }

    /// The peers whose stats the panel reads: the sender's outbound and the receiver's inbound
    /// streams (one and the same peer in a room call).
    pub fn read_stats_of(&self, sender: &RtcPeerConnection, receiver: &RtcPeerConnection) {
        *self.shared.stats_peers.borrow_mut() = Some((sender.clone(), receiver.clone()));
    }

    /// A peer's ICE connection state; the local peer's first `connected` is a timing.
    pub fn ice_state(&self, peer: &'static str, state: &str) {
        if peer == "local" && matches!(state, "connected" | "completed") {
            let ms = self.shared.page.log.elapsed();
            self.shared.time(ms, |t| &mut t.ice_connected_ms);
        }
    }

    /// A peer's connection state. `connected` needs every DTLS transport connected: the local
    /// peer's first is the DTLS timing. Once every peer is connected the panel starts reading.
    pub fn connection_state(&self, peer: &'static str, state: &str) {
        let s = &self.shared;
        let mut connected = s.connected.borrow_mut();
        connected.retain(|p| *p != peer);
        if state == "connected" {
            connected.push(peer);
            if peer == "local" {
                s.time(s.page.log.elapsed(), |t| &mut t.dtls_connected_ms);
            }
        }
        let all = connected.len() == s.peers;
        drop(connected);
        match state {
            "connected" if all => {
                // Under load the first frame can come before this event: keep its setup time.
                if s.timings.get().setup_ms.is_none() {
                    s.status("Connected: the other peer is receiving your camera and microphone.");
                }
                s.start_monitor();
            }
            "failed" => s.status("The connection failed: restarting ICE to find another path…"),
            _ => {}
        }
    }

    /// Logs every remote track, and shows the remote stream once, however many tracks it has.
    pub fn track(&self, event: &RtcTrackEvent) {
        let s = &self.shared;
        s.step(&format!(
            "remote peer received the {} track",
            event.track().kind()
        ));
        if s.remote_stream_shown.get() {
            return;
        }
        match event.streams().get(0).dyn_into::<MediaStream>() {
            Ok(stream) => {
                s.video.set_src_object(Some(&stream));
                s.remote_stream_shown.set(true);
                s.step("remote stream received and shown in the remote video");
            }
            Err(_) => {
                s.step("remote track came without a stream; not shown");
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.shared.monitor.take().is_some() && self.shared.panel.get() {
            self.shared.page.stats.close();
        }
    }
}

impl Shared {
    /// A step in the log, naming the person in a group call; returns its time.
    fn step(&self, text: &str) -> f64 {
        match self.label.borrow().as_deref() {
            Some(label) => self.page.log.step(&format!("{label}: {text}")),
            None => self.page.log.step(text),
        }
    }

    /// Says `text` on the status line, if this call is the one shown.
    fn status(&self, text: &str) {
        if self.panel.get() {
            self.page.status(text);
        }
    }

    /// Starts reading the call's stats for the panel, if it is the one shown (its row shows the
    /// same readings meanwhile).
    fn start_monitor(self: &Rc<Self>) {
        if !self.panel.get() {
            return;
        }
        let mut monitor = self.monitor.borrow_mut();
        if let (None, Some((sender, receiver))) = (&*monitor, &*self.stats_peers.borrow()) {
            self.page.stats.open();
            let weak = Rc::downgrade(self);
            let sink = Box::new(move |summary: &Summary, history: &History| {
                let Some(s) = weak.upgrade() else {
                    return;
                };
                if let Some(row) = &s.row {
                    row.show(summary);
                }
                if s.panel.get() {
                    s.page.stats.show(&summary.rows());
                    s.page.stats.draw(history);
                }
            });
            *monitor = Some(Monitor::start(sender.clone(), receiver.clone(), sink));
        }
    }

    /// Records the first time of one moment of the call and shows the timings.
    fn time(&self, ms: f64, moment: impl FnOnce(&mut Timings) -> &mut Option<f64>) {
        let mut timings = self.timings.get();
        let slot = moment(&mut timings);
        if slot.is_none() {
            *slot = Some(ms);
            self.timings.set(timings);
            if self.panel.get() {
                self.page.stats.show(&timings.rows());
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
        self.status(&format!(
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
    fn watch(video: &HtmlVideoElement, screen: Weak<Shared>) -> Self {
        let report = {
            let screen = screen.clone();
            move || {
                if let Some(shared) = screen.upgrade() {
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
