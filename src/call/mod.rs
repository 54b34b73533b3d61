//! The call: one peer type that negotiates by itself, and the calls made of it, which differ only
//! in what carries their signals.

/// The call's data channel: chat and ping.
pub mod channel;
/// The call's file channel: files offered, sent under flow control, checked, saved.
pub mod files;
/// The tutorial's call: two peers in one page joined by an in-page channel.
pub mod loopback;
/// The stats panel's readings during a call.
pub mod monitor;
/// Perfect negotiation's decisions, in plain Rust.
pub mod negotiation;
/// One end of a call: an `RTCPeerConnection` and its negotiation.
pub mod peer;
/// When to restart ICE and when to give up, in plain Rust.
pub mod recovery;
/// A call between two pages in a room.
pub mod room;
/// What a call shows on the page.
pub mod screen;
/// The codec and bitrate cap every call sends with.
pub mod sending;

use crate::page::Page;
use sending::Sending;
use std::rc::Rc;
use web_sys::MediaStream;

/// What every call is made with.
#[derive(Clone)]
pub struct Setup {
    pub page: Rc<Page>,
    /// The local stream; its tracks may change during the call (a device switch, a screen).
    pub stream: MediaStream,
    pub sending: Rc<Sending>,
    /// Told when the call's data channel opens or closes.
    pub channel_changed: Rc<dyn Fn()>,
}
