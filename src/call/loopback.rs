//! The tutorial's call: two peers in one page, the local one sending the camera, the remote one
//! receiving it, their signals carried by an in-page channel.

use crate::call::peer::{Peer, PeerConfig, PeerEvent, PeerHandle};
use crate::call::screen::Screen;
use crate::error::Error;
use crate::page::Page;
use loopback_signal::Signal;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::{MediaStream, RtcPeerConnection};

/// A live loopback call. Dropping it hangs up: both peers close, every listener goes.
pub struct Loopback {
    // Dropped in this order: the peers first, so no event reaches a screen that is gone.
    local: Peer,
    remote: Peer,
    _screen: Rc<Screen>,
}

/// One direction of the in-page channel: filled once both peers exist.
type Wire = Rc<RefCell<Option<PeerHandle>>>;

impl Loopback {
    /// Builds both peers and starts the call: the local peer's tracks make it negotiate.
    /// `failed` hears of a negotiation step that failed.
    pub fn new(
        page: Rc<Page>,
        stream: &MediaStream,
        failed: impl Fn(Error) + 'static,
    ) -> Result<Self, Error> {
        let screen = Rc::new(Screen::new(Rc::clone(&page), 2));
        let failed: Rc<dyn Fn(Error)> = Rc::new(failed);
        let (to_remote, to_local): (Wire, Wire) = Default::default();
        let peer = |name, other, polite, wire: &Wire| {
            Peer::new(
                PeerConfig::local(name, other, polite),
                Rc::clone(&page),
                carry(Rc::clone(wire)),
                events(name, Rc::downgrade(&screen), Rc::clone(&failed)),
            )
        };
        // The local peer offers; in the page there is never a collision, but the roles are set
        // as in any call.
        let local = peer("local", "remote", false, &to_remote)?;
        let remote = peer("remote", "local", true, &to_local)?;
        *to_remote.borrow_mut() = Some(remote.handle());
        *to_local.borrow_mut() = Some(local.handle());
        screen.read_stats_of(local.connection(), remote.connection());
        local.add_stream(stream);
        Ok(Self {
            local,
            remote,
            _screen: screen,
        })
    }

    pub fn local(&self) -> &RtcPeerConnection {
        self.local.connection()
    }

    pub fn remote(&self) -> &RtcPeerConnection {
        self.remote.connection()
    }
}

/// The in-page channel: each signal reaches the other peer a moment later, as over a network,
/// never in the middle of the sender's own step.
fn carry(wire: Wire) -> Box<dyn Fn(Signal)> {
    Box::new(move |signal| {
        if let Some(to) = wire.borrow().clone() {
            spawn_local(async move { to.receive(signal) });
        }
    })
}

/// A peer's events, shown on the call's screen.
fn events(
    name: &'static str,
    screen: std::rc::Weak<Screen>,
    failed: Rc<dyn Fn(Error)>,
) -> impl Fn(PeerEvent) {
    move |event| {
        let Some(screen) = screen.upgrade() else {
            return;
        };
        match event {
            PeerEvent::IceConnection(state) => screen.ice_state(name, &state),
            PeerEvent::Connection(state) => screen.connection_state(name, &state),
            PeerEvent::Track(track) => screen.track(&track),
            PeerEvent::Failed(error) => failed(error),
        }
    }
}
