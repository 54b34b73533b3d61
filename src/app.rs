//! The app: clicks come in, [`Controls`] decides, and the page, the camera and the call follow.

use crate::controls::{Controls, HangUp, Ticket};
use crate::error::Error;
use crate::media::{LocalMedia, MediaSource};
use crate::page::Page;
use crate::peer_pair::{self, PeerPair};
use gloo_events::EventListener;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Document, HtmlButtonElement};

/// The loopback page brought to life. Dropping it hangs up and detaches from the buttons.
#[must_use = "dropping the app detaches it from the page"]
pub struct App {
    inner: Rc<Inner>,
    _clicks: [EventListener; 3],
}

struct Inner {
    page: Rc<Page>,
    source: Box<dyn MediaSource>,
    state: RefCell<State>,
}

/// What the page holds right now; the call and the stream are released by dropping them.
#[derive(Default)]
struct State {
    controls: Controls,
    media: Option<LocalMedia>,
    call: Option<PeerPair>,
}

impl App {
    /// Finds the page's elements in `document`, listens to the three buttons, and enables Start.
    pub fn mount(document: &Document, source: Box<dyn MediaSource>) -> Result<Self, Error> {
        let page = Rc::new(Page::find(document)?);
        let inner = Rc::new(Inner {
            page,
            source,
            state: RefCell::default(),
        });
        let on_click = |button: &HtmlButtonElement, action: fn(&Rc<Inner>)| {
            let inner = Rc::downgrade(&inner);
            EventListener::new(button, "click", move |_| {
                if let Some(inner) = inner.upgrade() {
                    action(&inner);
                }
            })
        };
        let page = &inner.page;
        let clicks = [
            on_click(&page.start, Inner::start),
            on_click(&page.call, Inner::call),
            on_click(&page.hang_up, Inner::hang_up),
        ];
        inner.render();
        // A User Timing mark: DevTools and the benchmark see when the page became usable.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("loopback:start-usable");
        }
        if peer_pair::webrtc_supported() {
            page.status("Ready. Press Start to turn on the camera and microphone.");
        } else {
            page.error(&Error::NoWebRtc);
        }
        Ok(Self {
            inner,
            _clicks: clicks,
        })
    }

    pub fn page(&self) -> &Page {
        &self.inner.page
    }

    /// The call's two peers, while there is a call.
    pub fn peers(&self) -> Option<(web_sys::RtcPeerConnection, web_sys::RtcPeerConnection)> {
        let state = self.inner.state.borrow();
        let call = state.call.as_ref()?;
        Some((call.local().clone(), call.remote().clone()))
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
        self.page
            .show_buttons(self.state.borrow().controls.buttons());
    }

    fn start(self: &Rc<Self>) {
        let Some(ticket) = self.state.borrow_mut().controls.start() else {
            return self.render();
        };
        self.page.log.restart();
        self.page
            .log
            .step("Start: asking for the camera and microphone");
        self.page.status("Asking for the camera and microphone…");
        self.render();
        // Pending work holds the app weakly: an app dropped meanwhile is not kept alive by a
        // request that may never settle, and a stream nobody waits for is dropped (stopped).
        let opening = LocalMedia::open(self.source.as_ref());
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
                self.page.local_video.set_src_object(Some(media.stream()));
                self.page
                    .log
                    .step(&format!("local stream obtained: {}", media.describe()));
                self.page
                    .status("Camera and microphone on. Press Call to connect the two peers.");
                state.media = Some(media);
            }
            // A stream nobody waits for any more: dropping it stops its tracks.
            Ok(_) => {}
            Err(error) if state.controls.media_failed(ticket) => {
                self.page.log.step(&format!("getUserMedia failed: {error}"));
                self.page.error(&error);
            }
            Err(_) => {}
        }
        drop(state);
        self.render();
    }

    fn call(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        let Some(ticket) = state.controls.call() else {
            drop(state);
            return self.render();
        };
        self.page.log.reset_clock();
        self.page.log.step("Call: creating the two peers");
        let pair = match &state.media {
            Some(media) => PeerPair::new(Rc::clone(&self.page), media.stream()),
            None => Err(Error::NoDevice),
        };
        match pair {
            Ok(pair) => {
                let negotiation = pair.negotiate();
                state.call = Some(pair);
                drop(state);
                self.page.status("Calling: the peers are negotiating…");
                self.render();
                let this = Rc::downgrade(self);
                spawn_local(async move {
                    if let (Err(error), Some(this)) = (negotiation.await, this.upgrade()) {
                        this.call_failed(ticket, error);
                    }
                });
            }
            Err(error) => {
                drop(state);
                self.call_failed(ticket, error);
            }
        }
    }

    fn call_failed(&self, ticket: Ticket, error: Error) {
        let mut state = self.state.borrow_mut();
        if !state.controls.call_failed(ticket) {
            return;
        }
        let call = state.call.take();
        drop(state);
        drop(call);
        self.page.remote_video.set_src_object(None);
        self.page.log.step(&format!("call torn down: {error}"));
        self.page.error(&error);
        self.render();
    }

    fn hang_up(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.controls.hang_up() == HangUp::Ignored {
            drop(state);
            return self.render();
        }
        let (call, media) = (state.call.take(), state.media.take());
        drop(state);
        let had_call = call.is_some();
        drop(call);
        drop(media);
        self.page.clear_videos();
        self.page.log.step(if had_call {
            "HangUp: both peers closed, every track stopped"
        } else {
            "HangUp: every track stopped"
        });
        self.page.status("Hung up. Press Start to begin again.");
        self.render();
    }
}
