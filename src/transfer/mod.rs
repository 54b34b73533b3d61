//! Files sent over the call's data channel: what the two ends say, and how far a file has got.
//!
//! Plain Rust, no web-sys: the page's glue (`call::files`) reads the file and moves the bytes;
//! everything that decides (may this chunk be taken, is the file whole, what does the bar say)
//! is here and unit-tested.

/// The receiving end: asked first, then checks every chunk and the file's hash.
pub mod incoming;
/// The sending end: an offer, then chunks while the other end keeps up, then the file's hash.
pub mod outgoing;
/// How far a file has got, how fast, and how long is left, in words.
pub mod progress;
/// The messages on the file channel: text for offers and answers, binary for the file's bytes.
pub mod wire;

pub use incoming::Incoming;
pub use outgoing::Outgoing;
pub use wire::{Control, Header};

use std::fmt;

/// Where a transfer is, seen from either end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Offered; the receiver has not answered yet.
    Asking,
    /// Accepted: bytes are on their way.
    Moving,
    /// Every byte is there; the receiver is comparing the hash.
    Checking,
    /// The file arrived whole.
    Done,
    Refused,
    /// Stopped by this end, or by the other one.
    Cancelled {
        by_them: bool,
    },
    /// The file did not arrive whole, or the other end broke the protocol.
    Broken,
    /// The channel closed before the end.
    Lost,
}

impl Stage {
    pub fn is_over(self) -> bool {
        !matches!(self, Stage::Asking | Stage::Moving | Stage::Checking)
    }

    /// The page's name for it (`data-state`), from the end that `sends` or receives.
    pub fn name(self, sends: bool) -> &'static str {
        match self {
            Stage::Asking => "offered",
            Stage::Moving if sends => "sending",
            Stage::Moving => "receiving",
            Stage::Checking => "checking",
            Stage::Done => "done",
            Stage::Refused => "refused",
            Stage::Cancelled { .. } => "cancelled",
            Stage::Broken => "broken",
            Stage::Lost => "lost",
        }
    }
}

/// Something the other end sent that a well-behaved end never would. The transfer stops, the
/// other end is told, and nothing received is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Bytes of a file this end did not accept.
    NotAccepted,
    /// A chunk that does not start where the previous one ended.
    OutOfOrder { expected: u64, got: u64 },
    /// A chunk with nothing in it, or larger than any chunk this end asks for.
    WrongSize { bytes: usize },
    /// More bytes than the offer said the file has.
    MoreThanOffered { offered: u64, got: u64 },
    /// The end of a file before all its bytes came.
    EndedShort { offered: u64, got: u64 },
    /// An answer to a file this end never sent, or out of turn.
    OutOfTurn(&'static str),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NotAccepted => write!(f, "bytes arrived for a file that was not accepted"),
            Violation::OutOfOrder { expected, got } => write!(
                f,
                "a chunk arrived for byte {got} when byte {expected} was next"
            ),
            Violation::WrongSize { bytes } => write!(f, "a chunk of {bytes} bytes arrived"),
            Violation::MoreThanOffered { offered, got } => write!(
                f,
                "{got} bytes arrived for a file offered as {offered} bytes"
            ),
            Violation::EndedShort { offered, got } => write!(
                f,
                "the file ended after {got} bytes of the {offered} offered"
            ),
            Violation::OutOfTurn(what) => write!(f, "the other end sent {what} out of turn"),
        }
    }
}
