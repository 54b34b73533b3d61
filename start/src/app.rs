//! The first module's app: Start and HangUp decided by the page's own state machine
//! ([`Controls`]), the camera asked for and shown, and the page handed over once Start is not
//! waiting for the camera.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use core::cell::RefCell;
use loopback_core::controls::{Controls, HangUp, Phase, Ticket};
use loopback_core::devices::{self, media_devices};
use loopback_core::error::Error;
use loopback_core::stage::{Root, Stage};
use loopback_core::{words, START_USABLE};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlButtonElement;
use web_sys::{Document, EventTarget, MediaStream, MediaStreamConstraints};

/// Gives the camera's stream (if on) to the module taking over.
pub type HandOver = Box<dyn FnOnce(Option<MediaStream>)>;

/// The first module on the page. Dropping it detaches it from the buttons and stops the camera
/// if it still holds it (it holds nothing once it has handed over).
#[must_use = "dropping the first module detaches it from the page"]
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
    /// Waiting for Start to be done waiting for the camera.
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

    /// Calls `hand_over` with the camera's stream once Start is not waiting for the camera: now, or
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
        if let Err(error) = ask_for_the_camera(self, ticket) {
            self.answered(ticket, Err(error));
        }
    }

    /// The browser's answer to the request of `ticket`.
    fn answered(&self, ticket: Ticket, answer: Result<MediaStream, Error>) {
        let mut state = self.state.borrow_mut();
        match answer {
            Ok(stream) if state.controls.media_ready(ticket) => {
                self.stage.local_video.set_src_object(Some(&stream));
                self.stage
                    .log
                    .step(&[words::STREAM_OBTAINED, &devices::describe(&stream)].concat());
                match &state.rest_failed {
                    Some(error) => self.stage.error(error),
                    None => self.stage.status(
                        "Camera and microphone on. Call is on its way: the page is loading it…",
                    ),
                }
                state.camera = Some(Camera(Some(stream)));
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

/// Asks for the camera and microphone; `inner` hears of the answer. The answer goes to one closure
/// that frees itself once called, given to both sides of the promise's `then`: a request may be
/// answered after this module has let go of the page (HangUp, then the hand-over, before the
/// answer), so nothing the module owns may hold it. It holds the app weakly, and a stream that
/// nobody waits for any more is stopped. A request the browser never answers keeps its closure,
/// as a future awaiting it would keep its task; the module carries no executor for such futures
/// (README, "Size").
fn ask_for_the_camera(inner: &Rc<Inner>, ticket: Ticket) -> Result<(), Error> {
    let devices = media_devices()?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&JsValue::TRUE);
    constraints.set_video(&JsValue::TRUE);
    let asked = devices.get_user_media_with_constraints(&constraints)?;
    let inner = Rc::downgrade(inner);
    // A promise settles once: one of the two sides calls it, once.
    let settled = Closure::once_into_js(move |value: JsValue| {
        // getUserMedia fulfils with a stream and rejects with an exception.
        let answer = value.dyn_into::<MediaStream>().map_err(Error::from);
        match (inner.upgrade(), answer) {
            (Some(inner), answer) => inner.answered(ticket, answer),
            (None, Ok(stream)) => drop(Camera(Some(stream))),
            (None, Err(_)) => {}
        }
    });
    asked.unchecked_ref::<Thenable>().then(&settled, &settled);
    Ok(())
}

#[wasm_bindgen]
extern "C" {
    /// A promise, as far as `then` with two functions goes: js-sys's `then2` takes closures that
    /// its caller keeps.
    type Thenable;

    #[wasm_bindgen(method)]
    fn then(this: &Thenable, fulfilled: &JsValue, rejected: &JsValue) -> JsValue;
}

/// The camera's stream, shown and held. Dropping it stops every track, which turns the camera
/// light off; handing it over does not.
struct Camera(Option<MediaStream>);

impl Camera {
    /// Lets go of the stream, live: what drops is then empty.
    fn hand_over(mut self) -> Option<MediaStream> {
        self.0.take()
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        for track in self.0.iter().flat_map(devices::tracks) {
            track.stop();
        }
    }
}

/// A click listener that goes with its owner, as gloo's `EventListener` does (gloo needs std).
#[must_use = "a listener dropped is removed at once"]
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
