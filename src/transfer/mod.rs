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

/// Both ends joined by a simulated channel (ordered, reliable, each way its own queue), with
/// every interleaving of deliveries, chunks and either end stopping drawn at random: whatever
/// crosses, both ends agree on how the file ended, and a file is kept only whole.
#[cfg(test)]
mod simulator {
    use super::incoming::Taken;
    use super::wire::Control;
    use super::*;
    use std::collections::VecDeque;

    enum Message {
        Control(Control),
        Chunk(Header, usize),
    }

    /// A small deterministic generator: the same seed, the same run.
    struct Draw(u64);

    impl Draw {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// One run: `cancel_odds` in 1000 that an end stops at any step, `refuse` the offer.
    fn run(seed: u64, size: u64, cancel_odds: u64, refuse: bool) -> (Stage, Stage, u64) {
        let mut draw = Draw(seed);
        let (mut out, offer) = Outgoing::new(1, "a.bin", size, 4);
        let mut incoming: Option<Incoming> = None;
        let mut to_receiver = VecDeque::from([Message::Control(offer)]);
        let mut to_sender: VecDeque<Control> = VecDeque::new();
        for _ in 0..100_000 {
            let over =
                out.stage().is_over() && incoming.as_ref().is_some_and(|i| i.stage().is_over());
            if over && to_receiver.is_empty() && to_sender.is_empty() {
                break;
            }
            match draw.below(6) {
                0 | 1 => {
                    let Some(message) = to_receiver.pop_front() else {
                        continue;
                    };
                    let reply = match (message, incoming.as_mut()) {
                        (Message::Control(Control::Offer { id, size, name }), _) => {
                            incoming = Some(Incoming::offered(id, size, &name));
                            None
                        }
                        (Message::Chunk(header, bytes), Some(i)) => {
                            match i.chunk(header.id, header.offset, bytes) {
                                Ok(Taken::Keep(ack)) => ack,
                                Ok(Taken::Stale) => None,
                                Err(_) => i.violated(),
                            }
                        }
                        (Message::Control(Control::End { .. }), Some(i)) => match i.end() {
                            Ok(true) => i.checked(true),
                            Ok(false) => None,
                            Err(_) => i.violated(),
                        },
                        (Message::Control(Control::Cancel { .. }), Some(i)) => {
                            i.cancelled();
                            None
                        }
                        _ => panic!("the receiver got something before the offer"),
                    };
                    to_sender.extend(reply);
                }
                2 => {
                    if let Some(answer) = to_sender.pop_front() {
                        if out.answer(&answer).is_err() {
                            to_receiver.push_back(Message::Control(Control::Cancel { id: 1 }));
                        }
                    }
                }
                3 | 4 => {
                    // The sending loop: a chunk while there is one, then the end.
                    if let Some((offset, len)) = out.next_chunk() {
                        to_receiver.push_back(Message::Chunk(Header { id: 1, offset }, len));
                        out.sent(len);
                    } else if let Some(end) = out.end([0; 32]) {
                        to_receiver.push_back(Message::Control(end));
                    }
                }
                _ => {
                    // A person: answers the offer, or presses Cancel on either side.
                    if let Some(i) = incoming.as_mut().filter(|i| i.stage() == Stage::Asking) {
                        to_sender.extend(if refuse { i.refuse() } else { i.accept() });
                    } else if draw.below(1000) < cancel_odds {
                        if draw.below(2) == 0 {
                            to_receiver.extend(out.cancel().map(Message::Control));
                        } else if let Some(i) = incoming.as_mut() {
                            to_sender.extend(i.cancel());
                        }
                    }
                }
            }
        }
        let incoming = incoming.expect("the offer arrived");
        (out.stage(), incoming.stage(), incoming.received())
    }

    #[test]
    fn both_ends_agree_whatever_crosses() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..3_000 {
            let size = seed % 23;
            let (sender, receiver, received) = run(seed, size, 150, seed % 17 == 0);
            // Done on one end only when done on both, and then whole. Otherwise each end says
            // what happened to it: when both act at once (the sender cancels as the receiver
            // refuses or stops), each says its own, and neither keeps anything.
            let agreed = match (sender, receiver) {
                (Stage::Done, Stage::Done) => received == size,
                (Stage::Refused, Stage::Refused) => received == 0,
                (Stage::Cancelled { by_them: true }, Stage::Cancelled { by_them: true }) => false,
                (Stage::Cancelled { .. }, Stage::Cancelled { .. }) => true,
                (Stage::Cancelled { by_them: false }, Stage::Refused) => received == 0,
                _ => false,
            };
            assert!(
                agreed,
                "seed {seed}: sender {sender:?}, receiver {receiver:?} after {received} of {size}"
            );
            seen.insert(format!("{sender:?}"));
        }
        // Every ending was reached: the draws are not all one story.
        assert_eq!(seen.len(), 4, "{seen:?}");
    }
}
