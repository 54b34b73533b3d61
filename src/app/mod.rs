//! The app: clicks come in, [`Controls`] decides, and the page, the camera and the call follow.

/// Files picked or dropped on the page, sent over the call.
mod files;
/// Recording the call to a file.
mod record;
/// The call's other controls: devices, video settings, toggles, screen, ICE restart, chat.
mod tools;

use crate::address::Mode;
use crate::call::loopback::Loopback;
use crate::call::peer;
use crate::call::room::{Report, RoomCall};
use crate::call::sending::Sending;
use crate::call::Setup;
use crate::controls::{Controls, HangUp, Ticket};
use crate::error::Error;
use crate::media::{LocalMedia, MediaSource};
use crate::page::{Page, Root};
use crate::words;
use crate::START_USABLE;
use gloo_events::EventListener;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Document, EventTarget, MediaStream, MediaStreamTrack};

/// The page brought to life. Dropping it hangs up and detaches from every control.
#[must_use = "dropping the app detaches it from the page"]
pub struct App {
    inner: Rc<Inner>,
    _listeners: Vec<EventListener>,
}

struct Inner {
    page: Rc<Page>,
    source: Box<dyn MediaSource>,
    mode: Mode,
    sending: Rc<Sending>,
    state: RefCell<State>,
    /// This page is a tab reloaded during a call between tabs: it calls again by itself as
    /// soon as its camera is on.
    returning: Cell<bool>,
    /// The recording, if any, and the Record fieldset.
    record: RefCell<record::Record>,
}

/// The call the page holds: the tutorial's, or one to another page.
enum Call {
    Loopback(Loopback),
    Room(RoomCall),
}

impl Call {
    fn replace_track(&self, track: &MediaStreamTrack) {
        match self {
            Call::Loopback(call) => call.replace_track(track),
            Call::Room(call) => call.replace_track(track),
        }
    }

    /// `false` if the other end orders the codecs in this call.
    fn codec_changed(&self) -> bool {
        match self {
            Call::Loopback(call) => call.codec_changed(),
            Call::Room(call) => call.codec_changed(),
        }
    }

    fn cap_bitrate(&self) {
        match self {
            Call::Loopback(call) => call.cap_bitrate(),
            Call::Room(call) => call.cap_bitrate(),
        }
    }

    fn restart_ice(&self) {
        match self {
            Call::Loopback(call) => call.restart_ice(),
            Call::Room(call) => call.restart_ice(),
        }
    }

    /// Whether a chat line or a ping can go out.
    fn channel_open(&self) -> bool {
        match self {
            Call::Loopback(call) => call.channels().is_open(),
            Call::Room(call) => call.channel_open(),
        }
    }

    /// A chat line, to the other end (in a room: to everyone).
    fn send_text(&self, text: &str) -> Result<(), Error> {
        match self {
            Call::Loopback(call) => call.channels().send_text(text),
            Call::Room(call) => call.send_text(text),
        }
    }

    /// Whether a file can go out.
    fn files_open(&self) -> bool {
        match self {
            Call::Loopback(call) => call.files().is_open(),
            Call::Room(call) => call.files_open(),
        }
    }

    fn ping(&self) {
        match self {
            Call::Loopback(call) => call.channels().ping(),
            Call::Room(call) => call.ping(),
        }
    }
}

/// Calls `action` on the app for events on `target`, while the app lives.
fn listen(
    inner: &Rc<Inner>,
    target: &EventTarget,
    event: &'static str,
    action: impl Fn(&Rc<Inner>, &web_sys::Event) + 'static,
) -> EventListener {
    let inner: Weak<Inner> = Rc::downgrade(inner);
    EventListener::new(target, event, move |e| {
        if let Some(inner) = inner.upgrade() {
            action(&inner, e);
        }
    })
}

/// What the page holds right now; the call and the stream are released by dropping them.
#[derive(Default)]
struct State {
    controls: Controls,
    media: Option<LocalMedia>,
    call: Option<Call>,
}

impl App {
    /// Finds the page's elements in `document`, listens to the three buttons, and enables Start:
    /// the tutorial's loopback call.
    pub fn mount(document: &Document, source: Box<dyn MediaSource>) -> Result<Self, Error> {
        Self::mount_in(Root::Document(document.clone()), source, Mode::Loopback)
    }

    /// Like [`App::mount`], for the elements under `root`, with Call doing what `mode` says.
    pub fn mount_in(root: Root, source: Box<dyn MediaSource>, mode: Mode) -> Result<Self, Error> {
        let page = Rc::new(Page::find(&root)?);
        let record = RefCell::new(record::Record::find(&root)?);
        page.show_room_link(&mode);
        if matches!(mode, Mode::Room { .. }) {
            page.tools.show_room_fields();
        }
        let inner = Rc::new(Inner {
            page,
            source,
            mode,
            sending: Rc::default(),
            state: RefCell::default(),
            returning: Cell::new(false),
            record,
        });
        let page = &inner.page;
        let click = |target: &EventTarget, action: fn(&Rc<Inner>)| {
            listen(&inner, target, "click", move |inner, _| action(inner))
        };
        let mut listeners = vec![
            click(&page.start, Inner::start),
            click(&page.call, Inner::call),
            click(&page.hang_up, Inner::hang_up),
            click(&page.copy_link, Inner::copy_link),
        ];
        listeners.extend(tools::listen_to_tools(&inner));
        listeners.extend(files::listen_to_files(&inner));
        listeners.extend(record::listen_to_record(&inner));
        page.enable_tools();
        inner.render();
        // A User Timing mark: DevTools and the benchmark see when Start became usable, unless
        // the first module made it usable first.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            if performance.get_entries_by_name(START_USABLE).length() == 0 {
                let _ = performance.mark(START_USABLE);
            }
        }
        if peer::webrtc_supported() {
            page.status(words::READY);
        } else {
            page.error(&Error::NoWebRtc);
        }
        Ok(Self {
            inner,
            _listeners: listeners,
        })
    }

    /// Goes on with `stream` as if Start had opened it: the first module opened it before
    /// this app was there.
    pub fn adopt(&self, stream: MediaStream) {
        let inner = &self.inner;
        let mut state = inner.state.borrow_mut();
        let adopted = state
            .controls
            .start()
            .map(|t| state.controls.media_ready(t));
        if adopted == Some(true) {
            inner
                .page
                .log
                .step("the page's controls and stats are in: they go on with the camera");
            inner.hold(&mut state, LocalMedia::adopt(stream));
        }
        drop(state);
        inner.render();
    }

    /// On a tab reloaded during a call between tabs, does what its person did before the
    /// reload: Start (unless the camera is on already) and Call, to take the seat back that the
    /// other tab keeps for a while. Nothing on any other page.
    pub fn resume(&self) {
        let inner = &self.inner;
        let Mode::Room { room, .. } = &inner.mode else {
            return;
        };
        if !crate::signaling::tabs::returning_to(room) {
            return;
        }
        inner.returning.set(true);
        let has_media = inner.state.borrow().media.is_some();
        if has_media {
            inner.resume_call();
        } else {
            inner.start();
        }
    }

    pub fn page(&self) -> &Page {
        &self.inner.page
    }

    /// The loopback call's two peers, while there is one.
    pub fn peers(&self) -> Option<(web_sys::RtcPeerConnection, web_sys::RtcPeerConnection)> {
        match self.inner.state.borrow().call.as_ref()? {
            Call::Loopback(call) => Some((call.local().clone(), call.remote().clone())),
            Call::Room(_) => None,
        }
    }

    /// The room call's peer shown in the stats panel, once someone is there.
    pub fn room_peer(&self) -> Option<web_sys::RtcPeerConnection> {
        match self.inner.state.borrow().call.as_ref()? {
            Call::Room(call) => call.connection(),
            Call::Loopback(_) => None,
        }
    }

    /// Every peer of the room call, by the other person's id in the room.
    pub fn room_peers(&self) -> Vec<(u64, web_sys::RtcPeerConnection)> {
        match self.inner.state.borrow().call.as_ref() {
            Some(Call::Room(call)) => call.connections(),
            _ => Vec::new(),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.inner.hang_up();
        self.inner.page.show_buttons(crate::controls::Buttons {
            start: false,
            call: false,
            hang_up: false,
        });
    }
}

impl Inner {
    /// Shows the state machine's buttons. Every click ends here, even one the state machine
    /// refuses: a click that raced past a button's disabling leaves the buttons true again.
    fn render(&self) {
        let state = self.state.borrow();
        let controls = &state.controls;
        self.page.show_buttons(controls.buttons());
        let channel_open = state.call.as_ref().is_some_and(Call::channel_open);
        self.page
            .tools
            .show(controls.tools(channel_open), controls.toggles());
        let files_open = state.call.as_ref().is_some_and(Call::files_open);
        self.page.files.enable(controls.tools(files_open).chat);
        if let Some(Call::Room(call)) = &state.call {
            self.page.files.show_people(&call.file_people());
        }
        drop(state);
        self.render_record();
    }

    fn start(self: &Rc<Self>) {
        let Some(ticket) = self.state.borrow_mut().controls.start() else {
            return self.render();
        };
        self.page.log.restart();
        self.page.log.step(words::START_STEP);
        self.page.status(words::ASKING);
        self.render();
        // Pending work holds the app weakly: an app dropped meanwhile is not kept alive by a
        // request that may never settle, and a stream nobody waits for is dropped (stopped).
        let opening = LocalMedia::open_with(self.source.as_ref(), &self.page.tools.constraints());
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let media = opening.await;
            if let Some(this) = this.upgrade() {
                this.media_arrived(ticket, media);
            }
        });
    }

    fn media_arrived(self: &Rc<Self>, ticket: Ticket, media: Result<LocalMedia, Error>) {
        let mut state = self.state.borrow_mut();
        match media {
            Ok(media) if state.controls.media_ready(ticket) => {
                self.page
                    .log
                    .step(&[words::STREAM_OBTAINED, &media.describe()].concat());
                self.hold(&mut state, media);
                drop(state);
                self.render();
                return self.resume_call();
            }
            // A stream nobody waits for any more: dropping it stops its tracks.
            Ok(_) => {}
            Err(error) if state.controls.media_failed(ticket) => {
                self.give_up_return();
                self.page
                    .log
                    .step(&[words::MEDIA_FAILED, &error.message()].concat());
                self.page.error(&error);
            }
            Err(_) => {}
        }
        drop(state);
        self.render();
    }

    /// Calls, if this page is a reloaded tab taking its seat back.
    fn resume_call(self: &Rc<Self>) {
        if self.returning.replace(false) {
            self.page
                .log
                .step("this tab was in a call a moment ago: calling again, as before the reload");
            self.call();
        }
    }

    /// This reloaded tab will not take its seat back: the other tab's grace runs out by itself.
    fn give_up_return(&self) {
        if self.returning.replace(false) {
            crate::signaling::tabs::forget_return();
        }
    }

    /// Shows and keeps `media`, the camera's stream now in use.
    fn hold(self: &Rc<Self>, state: &mut State, mut media: LocalMedia) {
        let this = Rc::downgrade(self);
        media.watch(Rc::new(move |role| {
            if let Some(this) = this.upgrade() {
                this.track_ended(role);
            }
        }));
        self.page.local_video.set_src_object(Some(media.stream()));
        self.page
            .status("Camera and microphone on. Press Call to connect the two peers.");
        state.media = Some(media);
        // Labels come with the permission given.
        self.refresh_devices();
    }

    fn call(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        let Some(ticket) = state.controls.call() else {
            drop(state);
            return self.render();
        };
        self.page.log.reset_clock();
        let Some(media) = &state.media else {
            drop(state);
            return self.call_failed(ticket, Error::NoDevice);
        };
        self.page.tools.clear_chat();
        self.page.files.clear();
        let weak = Rc::downgrade(self);
        let setup = Setup {
            page: Rc::clone(&self.page),
            // `Clone::clone`: the same stream. web-sys gives `MediaStream` an inherent `clone`,
            // which is JavaScript's `stream.clone()`: new tracks that nobody would stop.
            stream: Clone::clone(media.stream()),
            sending: Rc::clone(&self.sending),
            channel_changed: Rc::new(move || {
                if let Some(this) = weak.upgrade() {
                    this.render();
                }
            }),
        };
        let this = Rc::downgrade(self);
        let call = match &self.mode {
            Mode::Loopback => {
                self.page.log.step("Call: creating the two peers");
                let failed = move |error| {
                    if let Some(this) = this.upgrade() {
                        this.call_failed(ticket, error);
                    }
                };
                Loopback::new(&setup, failed).map(Call::Loopback)
            }
            Mode::Room { room, relay_only } => {
                self.page.log.step(&format!("Call: joining room {room}"));
                let ended = move |ending| {
                    if let Some(this) = this.upgrade() {
                        match ending {
                            Report::PeerLeft => this.peer_left(ticket),
                            Report::Failed(error) => this.call_failed(ticket, error),
                            Report::Reconnecting(now) => this.reconnecting(ticket, now),
                        }
                    }
                };
                let name = self.page.tools.peer_name();
                RoomCall::join(&setup, room.clone(), *relay_only, name, ended).map(Call::Room)
            }
        };
        match call {
            Ok(call) => {
                if matches!(call, Call::Loopback(_)) {
                    self.page.status("Calling: the peers are negotiating…");
                }
                state.call = Some(call);
                drop(state);
                self.render();
            }
            Err(error) => {
                drop(state);
                self.call_failed(ticket, error);
            }
        }
    }

    /// Puts the room link on the clipboard, where the browser allows it.
    fn copy_link(self: &Rc<Self>) {
        let link = self.page.room_link();
        let clipboard = web_sys::window()
            .and_then(|w| crate::js::present(&w.navigator(), "clipboard"))
            .map(|c| c.unchecked_into::<web_sys::Clipboard>());
        let Some(clipboard) = clipboard else {
            return self
                .page
                .status("This browser gives the page no clipboard here: copy the link by hand.");
        };
        let copying = wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&link));
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let copied = copying.await.is_ok();
            if let Some(this) = this.upgrade() {
                this.page.status(if copied {
                    "Room link copied: open it in the other tab or on the other machine."
                } else {
                    "The browser refused the clipboard: copy the link by hand."
                });
            }
        });
    }

    /// The other person left the room: this page's call ends, the camera stays on.
    fn peer_left(self: &Rc<Self>, ticket: Ticket) {
        // Before the call goes: the recording of their video ends with it, and is offered.
        if self.state.borrow().controls.is_current(ticket) {
            self.stop_recording(crate::record::plan::Cause::PeerLeft);
        }
        if self.end_call(ticket) {
            self.page.status(
                "The other person left. Press Call to call again, or HangUp to turn the camera off.",
            );
            self.render();
        }
    }

    /// The call `ticket` started is repairing itself (`true`) or done with it: the controls
    /// that need the way to the other person wait meanwhile.
    fn reconnecting(&self, ticket: Ticket, now: bool) {
        let mut state = self.state.borrow_mut();
        let current = if now {
            state.controls.reconnecting(ticket)
        } else {
            state.controls.reconnected(ticket)
        };
        drop(state);
        if current {
            self.render();
        }
    }

    fn call_failed(&self, ticket: Ticket, error: Error) {
        if self.end_call(ticket) {
            self.page.log.step(&format!("call torn down: {error}"));
            self.page.error(&error);
            self.render();
        }
    }

    /// Lets go of the call `ticket` started, keeping the camera; `false` if that call is not the
    /// current one (a HangUp came first), and then nothing changes.
    fn end_call(&self, ticket: Ticket) -> bool {
        let mut state = self.state.borrow_mut();
        if !state.controls.call_ended(ticket) {
            return false;
        }
        let call = state.call.take();
        drop(state);
        drop(call);
        self.page.remote_video.set_src_object(None);
        true
    }

    fn hang_up(self: &Rc<Self>) {
        self.give_up_return();
        let mut state = self.state.borrow_mut();
        if state.controls.hang_up() == HangUp::Ignored {
            drop(state);
            return self.render();
        }
        let (call, media) = (state.call.take(), state.media.take());
        drop(state);
        // Stopped before the tracks are: the recorder hands over its last part, then the file.
        self.stop_recording(crate::record::plan::Cause::HangUp);
        let had_call = call.is_some();
        drop(call);
        drop(media);
        self.page.clear_videos();
        // The next Start opens the camera at its own default.
        self.page.tools.reset_resolution();
        self.page.log.step(if had_call {
            "HangUp: both peers closed, every track stopped"
        } else {
            words::TRACKS_STOPPED
        });
        self.page.status(words::HUNG_UP);
        self.render();
    }
}
