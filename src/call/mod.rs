//! The call: one peer type that negotiates by itself, and the calls made of it, which differ only
//! in what carries their signals.

/// The tutorial's call: two peers in one page joined by an in-page channel.
pub mod loopback;
/// The stats panel's readings during a call.
pub mod monitor;
/// Perfect negotiation's decisions, in plain Rust.
pub mod negotiation;
/// One end of a call: an `RTCPeerConnection` and its negotiation.
pub mod peer;
/// A call between two pages in a room.
pub mod room;
/// What a call shows on the page.
pub mod screen;
