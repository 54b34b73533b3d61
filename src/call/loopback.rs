//! The tutorial's call: two peers in one page, the local one sending the camera, the remote one
//! receiving it, their signals carried by an in-page channel.

use crate::call::channel::Channels;
use crate::call::files::Files;
use crate::call::peer::{Peer, PeerConfig, PeerEvent, PeerHandle};
use crate::call::screen::Screen;
use crate::call::Setup;
use crate::error::Error;
use loopback_signal::Signal;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::{MediaStreamTrack, RtcPeerConnection};

/// A live loopback call. Dropping it hangs up: both peers close, every listener goes.
pub struct Loopback {
    // Dropped in this order: the peers first, so no event reaches a screen that is gone.
    local: Peer,
    remote: Peer,
    channels: Rc<Channels>,
    files: Rc<Files>,
    _screen: Rc<Screen>,
}

/// One direction of the in-page channel: filled once both peers exist.
type Wire = Rc<RefCell<Option<PeerHandle>>>;

impl Loopback {
    /// Builds both peers and starts the call: the local peer's tracks make it negotiate.
    /// `failed` hears of a negotiation step that failed.
    pub fn new(setup: &Setup, failed: impl Fn(Error) + 'static) -> Result<Self, Error> {
        let page = &setup.page;
        let screen = Rc::new(Screen::new(Rc::clone(page), 2));
        let channels = Rc::new(Channels::new(
            Rc::clone(page),
            true,
            Rc::clone(&setup.channel_changed),
        ));
        let files = Rc::new(Files::new(
            Rc::clone(page),
            true,
            Rc::clone(&setup.channel_changed),
        ));
        let failed: Rc<dyn Fn(Error)> = Rc::new(failed);
        let (to_remote, to_local): (Wire, Wire) = Default::default();
        let peer = |name, other, polite, wire: &Wire| {
            let to = Ends {
                screen: Rc::downgrade(&screen),
                channels: Rc::downgrade(&channels),
                files: Rc::downgrade(&files),
                failed: Rc::clone(&failed),
            };
            Peer::new(
                PeerConfig::local(name, other, polite, Rc::clone(&setup.sending)),
                Rc::clone(page),
                carry(Rc::clone(wire)),
                to.events(name),
            )
        };
        // The local peer offers; in the page there is never a collision, but the roles are set
        // as in any call.
        let local = peer("local", "remote", false, &to_remote)?;
        let remote = peer("remote", "local", true, &to_local)?;
        *to_remote.borrow_mut() = Some(remote.handle());
        *to_local.borrow_mut() = Some(local.handle());
        screen.read_stats_of(local.connection(), remote.connection());
        local.add_stream(&setup.stream);
        Ok(Self {
            local,
            remote,
            channels,
            files,
            _screen: screen,
        })
    }

    /// The local peer sends `track` in place of the one of its kind.
    pub fn replace_track(&self, track: &MediaStreamTrack) {
        self.local.replace_track(track);
    }

    /// The local peer, which made the first offer, offers again with the page's codec first.
    pub fn codec_changed(&self) -> bool {
        self.local.renegotiate_codec()
    }

    pub fn cap_bitrate(&self) {
        self.local.cap_bitrate();
    }

    /// The local peer restarts ICE; the remote one follows in its answer.
    pub fn restart_ice(&self) {
        self.local.restart_ice("asked for on the page");
    }

    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// The file channel: the local peer sends, the remote one is asked and receives.
    pub fn files(&self) -> &Files {
        &self.files
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

/// Where a peer's events go: the call's screen and channels, or the app if the call failed.
struct Ends {
    screen: Weak<Screen>,
    channels: Weak<Channels>,
    files: Weak<Files>,
    failed: Rc<dyn Fn(Error)>,
}

impl Ends {
    fn events(self, name: &'static str) -> impl Fn(PeerEvent) {
        move |event| {
            let (Some(screen), Some(channels), Some(files)) = (
                self.screen.upgrade(),
                self.channels.upgrade(),
                self.files.upgrade(),
            ) else {
                return;
            };
            match event {
                PeerEvent::IceConnection(state) => screen.ice_state(name, &state),
                PeerEvent::Connection(state) => screen.connection_state(name, &state),
                PeerEvent::Track(track) => screen.track(&track),
                // The local peer makes the channel and sends on it; the remote one answers.
                PeerEvent::Channel(channel, pc) if channel.label() == crate::call::files::LABEL => {
                    files.add(name, channel, &pc)
                }
                PeerEvent::Channel(channel, _) => channels.add(name, channel, name == "local"),
                PeerEvent::Failed(error) => (self.failed)(error),
                // In one page nothing comes between the peers: the step log says it all.
                // One page: no signaling to keep an eye on.
                PeerEvent::Trouble
                | PeerEvent::Recovered { .. }
                | PeerEvent::Doubt
                | PeerEvent::Stats(_) => {}
            }
        }
    }
}
