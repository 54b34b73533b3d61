//! The first module's app: Start and HangUp decided by the page's own state machine
//! ([`Controls`]), the camera asked for and shown, and the page handed over once no request is
//! under way.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use loopback_core::controls::{Controls, HangUp, Phase, Ticket};
use loopback_core::error::Error;
use loopback_core::stage::{Root, Stage};
use loopback_core::{js, words, START_USABLE};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, EventTarget, MediaDevices, MediaStream, MediaStreamConstraints};
use web_sys::{HtmlButtonElement, MediaStreamTrack};

/// Gives the camera's stream (if on) to the module taking over.
pub type HandOver = Box<dyn FnOnce(Option<MediaStream>)>;

/// The first module on the page. Dropping it detaches it from the buttons and stops the camera
/// if it still holds it (it holds nothing once it has handed over).
pub struct First {
    inner: Rc<Inner>,
    _listeners: [Listener; 2],
}

struct Inner {
    stage: Stage,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    controls: Controls,
    camera: Option<Camera>,
    /// Camera requests not answered yet, each with the handlers of its answer.
    asking: Vec<Request>,
    /// Waiting for no camera request to be under way.
    hand_over: Option<HandOver>,
    /// Why the rest of the page did not load, if it did not.
    rest_failed: Option<Error>,
}

impl First {
    /// Finds the stage's elements, listens to Start and HangUp, and enables Start.
    pub fn mount(document: Document) -> Result<Self, Error> {
        let inner = Rc::new(Inner {
            stage: Stage::find(&Root::Document(document))?,
            state: RefCell::default(),
        });
        let click = |target: &HtmlButtonElement, action: fn(&Rc<Inner>)| {
            let inner: Weak<Inner> = Rc::downgrade(&inner);
            Listener::click(target, move || {
                if let Some(inner) = inner.upgrade() {
                    action(&inner);
                }
            })
        };
        let listeners = [
            click(&inner.stage.start, Inner::start),
            click(&inner.stage.hang_up, Inner::hang_up),
        ];
        inner.render();
        // A User Timing mark: DevTools and the benchmark see when Start became usable.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark(START_USABLE);
        }
        inner.stage.status(words::READY);
        Ok(Self {
            inner,
            _listeners: listeners,
        })
    }

    /// Calls `hand_over` with the camera's stream once no camera request is under way: now, or
    /// when the answer comes.
    pub fn hand_over_when_free(&self, hand_over: HandOver) {
        self.inner.state.borrow_mut().hand_over = Some(hand_over);
        self.inner.render();
    }

    /// Whether [`First::hand_over_when_free`] waits for the camera's answer.
    pub fn waiting_to_hand_over(&self) -> bool {
        self.inner.state.borrow().hand_over.is_some()
    }

    /// The rest of the page did not load: Call cannot work on this load of the page.
    pub fn rest_failed(&self, reason: &str) {
        let error = Error::RestNotLoaded(reason.into());
        self.inner.stage.log.step(&error.message());
        self.inner.stage.error(&error);
        self.inner.state.borrow_mut().rest_failed = Some(error);
    }
}

impl Inner {
    /// Shows the state machine's buttons, and hands over if that is waiting and may happen now.
    fn render(&self) {
        let mut state = self.state.borrow_mut();
        self.stage
            .show_buttons(state.controls.buttons_before_the_call());
        if state.controls.phase() == Phase::Starting {
            return;
        }
        if let Some(hand_over) = state.hand_over.take() {
            let stream = state.camera.take().and_then(Camera::hand_over);
            drop(state);
            hand_over(stream);
        }
    }

    fn start(self: &Rc<Self>) {
        let Some(ticket) = self.state.borrow_mut().controls.start() else {
            return self.render();
        };
        self.stage.log.restart();
        self.stage.log.step(words::START_STEP);
        self.stage.status(words::ASKING);
        self.render();
        match Request::send(self, ticket) {
            Ok(request) => self.state.borrow_mut().asking.push(request),
            Err(error) => self.answered(ticket, Err(error)),
        }
    }

    /// The browser's answer to the request of `ticket`.
    fn answered(&self, ticket: Ticket, answer: Result<MediaStream, Error>) {
        let mut state = self.state.borrow_mut();
        // Its handlers, one of which is running: wasm-bindgen frees it once it returns.
        state.asking.retain(|request| request.ticket != ticket);
        match answer {
            Ok(stream) if state.controls.media_ready(ticket) => {
                let camera = Camera(Some(stream));
                self.stage.local_video.set_src_object(camera.0.as_ref());
                self.stage
                    .log
                    .step(&[words::STREAM_OBTAINED, &camera.describe()].concat());
                match &state.rest_failed {
                    Some(error) => self.stage.error(error),
                    None => self.stage.status(
                        "Camera and microphone on. Call is on its way: the page is loading it…",
                    ),
                }
                state.camera = Some(camera);
            }
            // A stream nobody waits for any more: stopped.
            Ok(stream) => drop(Camera(Some(stream))),
            Err(error) if state.controls.media_failed(ticket) => {
                self.stage
                    .log
                    .step(&[words::MEDIA_FAILED, &error.message()].concat());
                self.stage.error(&error);
            }
            Err(_) => {}
        }
        drop(state);
        self.render();
    }

    fn hang_up(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.controls.hang_up() == HangUp::Ignored {
            drop(state);
            return self.render();
        }
        let camera = state.camera.take();
        drop(state);
        drop(camera);
        self.stage.clear_videos();
        self.stage.log.step(words::TRACKS_STOPPED);
        self.stage.status(words::HUNG_UP);
        self.render();
    }
}

/// One `getUserMedia` call and the handlers of its answer, which hold the app weakly: an app
/// dropped meanwhile is not kept alive by a request that may never settle.
struct Request {
    ticket: Ticket,
    _stream: Closure<dyn FnMut(JsValue)>,
    _failure: Closure<dyn FnMut(JsValue)>,
}

impl Request {
    /// Asks for the camera and microphone; `inner` hears of the answer.
    fn send(inner: &Rc<Inner>, ticket: Ticket) -> Result<Self, Error> {
        let devices: MediaDevices = web_sys::window()
            .and_then(|w| js::present(&w.navigator(), "mediaDevices"))
            .ok_or(Error::InsecureContext)?
            .unchecked_into();
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::TRUE);
        constraints.set_video(&JsValue::TRUE);
        let asked = devices.get_user_media_with_constraints(&constraints)?;
        let answer = |read: fn(JsValue) -> Result<MediaStream, Error>| {
            let inner = Rc::downgrade(inner);
            Closure::<dyn FnMut(JsValue)>::new(move |value| {
                if let Some(inner) = inner.upgrade() {
                    inner.answered(ticket, read(value));
                }
            })
        };
        let stream = answer(|value| {
            value
                .dyn_into()
                .map_err(|_| Error::from_name("TypeError", "the browser answered with no stream"))
        });
        let failure = answer(|value| Err(Error::from(value)));
        let _ = asked.then2(&stream, &failure);
        Ok(Self {
            ticket,
            _stream: stream,
            _failure: failure,
        })
    }
}

/// The camera's stream, shown and held. Dropping it stops every track, which turns the camera
/// light off; handing it over does not.
struct Camera(Option<MediaStream>);

impl Camera {
    fn tracks(&self) -> Vec<MediaStreamTrack> {
        let Some(stream) = &self.0 else {
            return Vec::new();
        };
        let tracks = stream.get_tracks();
        (0..tracks.length())
            .filter_map(|i| tracks.get(i).dyn_into().ok())
            .collect()
    }

    /// "camera “…”, microphone “…”": the device labels, so the user sees which devices opened.
    fn describe(&self) -> String {
        let mut said = String::new();
        for track in self.tracks() {
            if !said.is_empty() {
                said.push_str(", ");
            }
            said.push_str(&words::describe_track(&track.kind(), &track.label()));
        }
        said
    }

    /// Lets go of the stream, live: what drops is then empty.
    fn hand_over(mut self) -> Option<MediaStream> {
        self.0.take()
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        for track in self.tracks() {
            track.stop();
        }
    }
}

/// A click listener that goes with its owner, as gloo's `EventListener` does (gloo needs std).
struct Listener {
    target: EventTarget,
    callback: Closure<dyn FnMut()>,
}

impl Listener {
    fn click(target: &EventTarget, callback: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(callback);
        let _ = target.add_event_listener_with_callback("click", callback.as_ref().unchecked_ref());
        Self {
            target: target.clone(),
            callback,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback("click", self.callback.as_ref().unchecked_ref());
    }
}
