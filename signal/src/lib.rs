//! loopback-signal: what pages say to each other to set up their calls, and the rules of the rooms
//! they meet in, in plain Rust for both the page and the signaling server.
//!
//! The messages travel as JSON with a `type` field. Every field is typed and unknown fields are
//! refused, so a malformed or hostile message is a parse error to answer, never a panic.

/// The messages between a page and the signaling server, and what they carry.
pub mod message;
/// Rooms: up to six seats each, every pair of them one polite and one impolite end.
pub mod room;
/// A seat's resume token and the signals kept for it while its page is away.
pub mod seat;
/// Rooms between tabs of one browser, over a `BroadcastChannel` instead of the server.
pub mod tabs;

pub use message::{
    FromServer, IceServer, PeerName, Problem, RoomPeer, SdpType, Signal, ToServer, CLOSE_MOVING,
    MAX_MESSAGE_BYTES, PROTOCOL,
};
pub use room::{polite, JoinError, Joined, Other, PeerId, RoomName, Rooms};
pub use seat::{BadToken, Replay, ReplayLog, ResumeToken};
pub use tabs::{NoPeer, TabAction, TabId, TabMessage, TabRoom, MAX_TAB_ID};
