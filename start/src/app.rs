//! The first module's app: Start and HangUp decided by the page's own state machine
//! ([`Controls`]), the camera shown, and the page handed over once no request is under way.

use gloo_events::EventListener;
use loopback_rtc::app::START_USABLE;
use loopback_rtc::controls::{Controls, HangUp, Phase, Ticket};
use loopback_rtc::error::Error;
use loopback_rtc::media::{LocalMedia, UserMedia};
use loopback_rtc::page::{Root, Stage};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Document, HtmlButtonElement, MediaStream};

/// Gives the camera's stream (if on) to the module taking over.
pub type HandOver = Box<dyn FnOnce(Option<MediaStream>)>;

/// The first module on the page. Dropping it detaches it from the buttons and stops the camera
/// if it still holds it (it holds nothing once it has handed over).
pub struct First {
    inner: Rc<Inner>,
    _listeners: Vec<EventListener>,
}

struct Inner {
    stage: Stage,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    controls: Controls,
    media: Option<LocalMedia>,
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
            EventListener::new(target, "click", move |_| {
                if let Some(inner) = inner.upgrade() {
                    action(&inner);
                }
            })
        };
        let listeners = vec![
            click(&inner.stage.start, Inner::start),
            click(&inner.stage.hang_up, Inner::hang_up),
        ];
        inner.render();
        // A User Timing mark: DevTools and the benchmark see when Start became usable.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark(START_USABLE);
        }
        inner
            .stage
            .status("Ready. Press Start to turn on the camera and microphone.");
        Ok(Self {
            inner,
            _listeners: listeners,
        })
    }

    /// Calls `hand_over` with the camera's stream once no camera request is under way.
    pub fn hand_over_when_free(&self, hand_over: HandOver) {
        self.inner.state.borrow_mut().hand_over = Some(hand_over);
        self.inner.render();
    }

    /// The rest of the page did not load: Call cannot work on this load of the page.
    pub fn rest_failed(&self, reason: &str) {
        let error = Error::RestNotLoaded(reason.to_owned());
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
            let stream = state.media.take().map(LocalMedia::hand_over);
            drop(state);
            hand_over(stream);
        }
    }

    fn start(self: &Rc<Self>) {
        let Some(ticket) = self.state.borrow_mut().controls.start() else {
            return self.render();
        };
        self.stage.log.restart();
        self.stage
            .log
            .step("Start: asking for the camera and microphone");
        self.stage.status("Asking for the camera and microphone…");
        self.render();
        let opening = LocalMedia::open(&UserMedia);
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let media = opening.await;
            if let Some(this) = this.upgrade() {
                this.media_arrived(ticket, media);
            }
        });
    }

    fn media_arrived(&self, ticket: Ticket, media: Result<LocalMedia, Error>) {
        let mut state = self.state.borrow_mut();
        match media {
            Ok(media) if state.controls.media_ready(ticket) => {
                self.stage.local_video.set_src_object(Some(media.stream()));
                self.stage
                    .log
                    .step(&["local stream obtained: ", &media.describe()].concat());
                match &state.rest_failed {
                    Some(error) => self.stage.error(error),
                    None => self.stage.status(
                        "Camera and microphone on. Call is on its way: the page is loading it…",
                    ),
                }
                state.media = Some(media);
            }
            // A stream nobody waits for any more: dropping it stops its tracks.
            Ok(_) => {}
            Err(error) if state.controls.media_failed(ticket) => {
                self.stage
                    .log
                    .step(&["getUserMedia failed: ", &error.message()].concat());
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
        let media = state.media.take();
        drop(state);
        drop(media);
        self.stage.clear_videos();
        self.stage.log.step("HangUp: every track stopped");
        self.stage.status("Hung up. Press Start to begin again.");
        self.render();
    }
}
