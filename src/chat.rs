//! What the two ends of the data channel say to each other: chat lines, their receipts, pings.
//!
//! Plain Rust: the wire format, and the bookkeeping that turns a receipt or a pong into a time.

use std::collections::VecDeque;

/// One message on the data channel. Text on the wire: a letter, a number, and for a chat line a
/// space and the text (`"m7 hello"`, `"d7"`, `"p3"`, `"q3"`), readable in any channel inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// A chat line, numbered by its sender.
    Text {
        id: u32,
        text: String,
    },
    /// "Your line `id` arrived."
    Delivered {
        id: u32,
    },
    Ping {
        id: u32,
    },
    Pong {
        id: u32,
    },
}

/// The longest chat line the page sends, in bytes: well inside every browser's message limit.
pub const MAX_TEXT: usize = 4_096;

impl Wire {
    pub fn encode(&self) -> String {
        match self {
            Wire::Text { id, text } => format!("m{id} {text}"),
            Wire::Delivered { id } => format!("d{id}"),
            Wire::Ping { id } => format!("p{id}"),
            Wire::Pong { id } => format!("q{id}"),
        }
    }

    /// `None` for anything this page would not send: the other end may be another program.
    pub fn decode(message: &str) -> Option<Self> {
        let mut chars = message.chars();
        let kind = chars.next()?;
        let rest = chars.as_str();
        if kind == 'm' {
            let (id, text) = rest.split_once(' ')?;
            if text.len() > MAX_TEXT {
                return None;
            }
            return Some(Wire::Text {
                id: number(id)?,
                text: text.to_owned(),
            });
        }
        let id = number(rest)?;
        match kind {
            'd' => Some(Wire::Delivered { id }),
            'p' => Some(Wire::Ping { id }),
            'q' => Some(Wire::Pong { id }),
            _ => None,
        }
    }
}

fn number(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a chat line was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsendable {
    Empty,
    TooLong(usize),
}

/// How many lines and pings may wait for their answer: an end that never answers cannot make
/// the page remember without bound.
const PENDING: usize = 64;

/// One end's outgoing bookkeeping: numbers lines and pings, and times their answers.
#[derive(Debug, Default)]
pub struct Outbox {
    next: u32,
    /// (id, is a ping, sent at ms)
    pending: VecDeque<(u32, bool, f64)>,
}

impl Outbox {
    /// A chat line to send at `now`, or why not.
    pub fn text(&mut self, text: &str, now: f64) -> Result<Wire, Unsendable> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Unsendable::Empty);
        }
        if text.len() > MAX_TEXT {
            return Err(Unsendable::TooLong(text.len()));
        }
        let id = self.remember(false, now);
        Ok(Wire::Text {
            id,
            text: text.to_owned(),
        })
    }

    pub fn ping(&mut self, now: f64) -> Wire {
        Wire::Ping {
            id: self.remember(true, now),
        }
    }

    /// The milliseconds from sending to this answer, if it answers something still pending.
    pub fn answered(&mut self, answer: &Wire, now: f64) -> Option<f64> {
        let (id, ping) = match answer {
            Wire::Delivered { id } => (*id, false),
            Wire::Pong { id } => (*id, true),
            _ => return None,
        };
        let at = self
            .pending
            .iter()
            .position(|&(i, p, _)| i == id && p == ping)?;
        let (_, _, sent) = self.pending.remove(at)?;
        Some((now - sent).max(0.0))
    }

    fn remember(&mut self, ping: bool, now: f64) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        if self.pending.len() == PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((id, ping, now));
        id
    }
}

/// What the receiving end answers to a message, if anything.
pub fn reply(message: &Wire) -> Option<Wire> {
    match message {
        Wire::Text { id, .. } => Some(Wire::Delivered { id: *id }),
        Wire::Ping { id } => Some(Wire::Pong { id: *id }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_survives_the_wire() {
        for wire in [
            Wire::Text {
                id: 7,
                text: "hello, world ✓ with spaces".into(),
            },
            Wire::Text {
                id: 0,
                text: "m1 looks like a message".into(),
            },
            Wire::Delivered { id: 7 },
            Wire::Ping { id: u32::MAX },
            Wire::Pong { id: 3 },
        ] {
            assert_eq!(Wire::decode(&wire.encode()), Some(wire));
        }
    }

    #[test]
    fn anything_else_is_ignored_not_trusted() {
        for junk in [
            "",
            "m",
            "m7",
            "mx hi",
            "d",
            "d-1",
            "d+1",
            "p1.5",
            "q 1",
            "x1",
            "d99999999999",
        ] {
            assert_eq!(Wire::decode(junk), None, "{junk:?}");
        }
        let long = format!("m1 {}", "a".repeat(MAX_TEXT + 1));
        assert_eq!(Wire::decode(&long), None);
    }

    #[test]
    fn lines_and_pings_are_timed_by_their_own_answers() {
        let mut out = Outbox::default();
        let line = out.text("  hi  ", 100.0).unwrap();
        assert_eq!(
            line,
            Wire::Text {
                id: 0,
                text: "hi".into()
            }
        );
        let ping = out.ping(110.0);
        assert_eq!(ping, Wire::Ping { id: 1 });
        // A pong for a line's number, or a receipt for a ping's, answers nothing.
        assert_eq!(out.answered(&Wire::Pong { id: 0 }, 120.0), None);
        assert_eq!(out.answered(&Wire::Delivered { id: 1 }, 120.0), None);
        assert_eq!(out.answered(&reply(&ping).unwrap(), 112.5), Some(2.5));
        assert_eq!(out.answered(&reply(&line).unwrap(), 130.0), Some(30.0));
        // Each answer counts once.
        assert_eq!(out.answered(&Wire::Delivered { id: 0 }, 140.0), None);
    }

    #[test]
    fn empty_and_oversized_lines_are_not_sent() {
        let mut out = Outbox::default();
        assert_eq!(out.text(" \n ", 0.0), Err(Unsendable::Empty));
        let long = "a".repeat(MAX_TEXT + 1);
        assert_eq!(out.text(&long, 0.0), Err(Unsendable::TooLong(MAX_TEXT + 1)));
        assert!(out.text(&"a".repeat(MAX_TEXT), 0.0).is_ok());
    }

    #[test]
    fn unanswered_messages_are_forgotten_past_a_bound() {
        let mut out = Outbox::default();
        for i in 0..1_000 {
            out.ping(f64::from(i));
        }
        assert_eq!(out.pending.len(), PENDING);
        assert_eq!(out.answered(&Wire::Pong { id: 0 }, 0.0), None);
        assert_eq!(out.answered(&Wire::Pong { id: 999 }, 1_000.0), Some(1.0));
    }

    #[test]
    fn only_lines_and_pings_get_a_reply() {
        assert_eq!(reply(&Wire::Delivered { id: 1 }), None);
        assert_eq!(reply(&Wire::Pong { id: 1 }), None);
    }
}
