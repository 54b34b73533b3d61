//! The receiving end of one file: asked first, then every chunk checked against the offer, and
//! the file's hash against the one the sender computed.

use super::wire::{Control, MAX_CHUNK};
use super::{Stage, Violation};

/// How often the receiver says how much it has: often enough for the sender's bar to move on a
/// slow link too (every 2 s at 1 Mbit/s), rarely enough to cost nothing (256 for 64 MiB).
pub const ACK_EVERY: u64 = 256 * 1024;

#[derive(Debug)]
pub struct Incoming {
    pub id: u32,
    pub name: String,
    pub size: u64,
    received: u64,
    acked: u64,
    stage: Stage,
    /// The sender was told the file is broken.
    said_broken: bool,
}

/// What a chunk does.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Keep its bytes; tell the sender this if there is something to say.
    Keep(Option<Control>),
    /// A chunk of an earlier transfer, sent before that one was cancelled: drop it.
    Stale,
}

impl Incoming {
    /// An offer the other end made (the decoder already checked its name).
    pub fn offered(id: u32, size: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            size,
            received: 0,
            acked: 0,
            stage: Stage::Asking,
            said_broken: false,
        }
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn accept(&mut self) -> Option<Control> {
        self.answer(Stage::Moving, Control::Accept { id: self.id })
    }

    pub fn refuse(&mut self) -> Option<Control> {
        self.answer(Stage::Refused, Control::Refuse { id: self.id })
    }

    fn answer(&mut self, stage: Stage, control: Control) -> Option<Control> {
        if self.stage != Stage::Asking {
            return None;
        }
        self.stage = stage;
        Some(control)
    }

    /// A chunk of `bytes` bytes for transfer `id` at `offset`.
    pub fn chunk(&mut self, id: u32, offset: u64, bytes: usize) -> Result<Taken, Violation> {
        if id != self.id || self.stage.is_over() {
            return Ok(Taken::Stale);
        }
        let checked = self.check_chunk(offset, bytes);
        // Not `violated()` yet: the caller tells the sender, once.
        if checked.is_err() {
            self.stage = Stage::Broken;
        }
        checked
    }

    fn check_chunk(&mut self, offset: u64, bytes: usize) -> Result<Taken, Violation> {
        if self.stage != Stage::Moving {
            return Err(Violation::NotAccepted);
        }
        if bytes == 0 || bytes > MAX_CHUNK {
            return Err(Violation::WrongSize { bytes });
        }
        if offset != self.received {
            return Err(Violation::OutOfOrder {
                expected: self.received,
                got: offset,
            });
        }
        let total = self.received + bytes as u64;
        if total > self.size {
            return Err(Violation::MoreThanOffered {
                offered: self.size,
                got: total,
            });
        }
        self.received = total;
        let ack = (total - self.acked >= ACK_EVERY || total == self.size).then(|| {
            self.acked = total;
            Control::Ack {
                id: self.id,
                bytes: total,
            }
        });
        Ok(Taken::Keep(ack))
    }

    /// The sender says every byte is sent: `Ok(true)` to compare the hashes next, `Ok(false)`
    /// for the end of a file this end already stopped (it crossed the stop).
    pub fn end(&mut self) -> Result<bool, Violation> {
        let ended = match self.stage {
            _ if self.stage.is_over() => return Ok(false),
            Stage::Moving if self.received == self.size => Ok(true),
            Stage::Moving => Err(Violation::EndedShort {
                offered: self.size,
                got: self.received,
            }),
            Stage::Asking => Err(Violation::NotAccepted),
            _ => Err(Violation::OutOfTurn("the end of a file")),
        };
        self.stage = if ended.is_ok() {
            Stage::Checking
        } else {
            Stage::Broken
        };
        ended
    }

    /// The hashes compared: the answer for the sender.
    pub fn checked(&mut self, matches: bool) -> Option<Control> {
        if self.stage != Stage::Checking {
            return None;
        }
        let id = self.id;
        Some(if matches {
            self.stage = Stage::Done;
            Control::Verified { id }
        } else {
            self.stage = Stage::Broken;
            Control::Broken { id }
        })
    }

    /// This end stops it: the message that tells the sender, if it was still going.
    pub fn cancel(&mut self) -> Option<Control> {
        if self.stage.is_over() {
            return None;
        }
        self.stage = Stage::Cancelled { by_them: false };
        Some(Control::Stop { id: self.id })
    }

    /// The sender stopped it.
    pub fn cancelled(&mut self) {
        if !self.stage.is_over() {
            self.stage = Stage::Cancelled { by_them: true };
        }
    }

    /// The other end broke the protocol (a chunk or an end refused, or a message that is no
    /// chunk at all): what to tell it, once. A file already over stays as it ended: a stray
    /// message cannot take a finished file away.
    pub fn violated(&mut self) -> Option<Control> {
        if self.stage.is_over() && self.stage != Stage::Broken || self.said_broken {
            return None;
        }
        self.stage = Stage::Broken;
        self.said_broken = true;
        Some(Control::Broken { id: self.id })
    }

    /// The channel closed.
    pub fn lost(&mut self) {
        if !self.stage.is_over() {
            self.stage = Stage::Lost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiving(size: u64) -> Incoming {
        let mut incoming = Incoming::offered(2, size, "a.bin");
        assert_eq!(incoming.accept(), Some(Control::Accept { id: 2 }));
        incoming
    }

    #[test]
    fn asked_then_chunks_then_checked() {
        let mut incoming = Incoming::offered(2, 3 * ACK_EVERY, "a.bin");
        assert_eq!(incoming.stage(), Stage::Asking);
        incoming.accept();
        assert_eq!(incoming.accept(), None, "answered once");
        let chunk = MAX_CHUNK as u64;
        let mut acks = vec![];
        let mut offset = 0;
        while offset < incoming.size {
            match incoming.chunk(2, offset, MAX_CHUNK) {
                Ok(Taken::Keep(Some(Control::Ack { bytes, .. }))) => acks.push(bytes),
                Ok(Taken::Keep(None)) => {}
                other => panic!("{other:?}"),
            }
            offset += chunk;
        }
        assert_eq!(acks, [ACK_EVERY, 2 * ACK_EVERY, 3 * ACK_EVERY]);
        assert_eq!(incoming.end(), Ok(true));
        assert_eq!(incoming.stage(), Stage::Checking);
        assert_eq!(incoming.checked(true), Some(Control::Verified { id: 2 }));
        assert_eq!(incoming.stage(), Stage::Done);
    }

    #[test]
    fn the_last_chunk_is_acked_and_an_empty_file_needs_none() {
        let mut incoming = receiving(10);
        assert_eq!(
            incoming.chunk(2, 0, 10),
            Ok(Taken::Keep(Some(Control::Ack { id: 2, bytes: 10 })))
        );
        let mut empty = receiving(0);
        assert_eq!(empty.end(), Ok(true));
    }

    #[test]
    fn a_hash_that_does_not_match_keeps_nothing() {
        let mut incoming = receiving(1);
        incoming.chunk(2, 0, 1).unwrap();
        incoming.end().unwrap();
        assert_eq!(incoming.checked(false), Some(Control::Broken { id: 2 }));
        assert_eq!(incoming.stage(), Stage::Broken);
    }

    #[test]
    fn refused_files_send_nothing_back() {
        let mut incoming = Incoming::offered(2, 10, "a");
        assert_eq!(incoming.refuse(), Some(Control::Refuse { id: 2 }));
        assert_eq!(incoming.accept(), None);
        assert_eq!(
            incoming.chunk(2, 0, 5),
            Ok(Taken::Stale),
            "dropped, not kept"
        );
    }

    #[test]
    fn chunks_of_a_cancelled_file_are_dropped() {
        let mut incoming = receiving(10);
        incoming.chunk(2, 0, 5).unwrap();
        assert_eq!(incoming.cancel(), Some(Control::Stop { id: 2 }));
        assert_eq!(incoming.stage(), Stage::Cancelled { by_them: false });
        assert_eq!(incoming.chunk(2, 5, 5), Ok(Taken::Stale));
        assert_eq!(incoming.chunk(1, 0, 5), Ok(Taken::Stale), "an older file's");

        assert_eq!(incoming.end(), Ok(false), "an end that crossed the stop");
        assert_eq!(incoming.stage(), Stage::Cancelled { by_them: false });

        let mut incoming = receiving(10);
        incoming.cancelled();
        assert_eq!(incoming.stage(), Stage::Cancelled { by_them: true });
        assert_eq!(incoming.cancel(), None);
    }

    /// What a bad sender does to a fresh transfer of 10 bytes.
    type Send = fn(&mut Incoming) -> Result<Taken, Violation>;

    #[test]
    fn a_bad_senders_chunks_break_the_transfer() {
        let cases: [(&str, Send, Violation); 5] = [
            (
                "empty",
                |i| i.chunk(2, 0, 0),
                Violation::WrongSize { bytes: 0 },
            ),
            (
                "too large",
                |i| i.chunk(2, 0, MAX_CHUNK + 1),
                Violation::WrongSize {
                    bytes: MAX_CHUNK + 1,
                },
            ),
            (
                "out of order",
                |i| {
                    i.chunk(2, 0, 4)?;
                    i.chunk(2, 8, 4)
                },
                Violation::OutOfOrder {
                    expected: 4,
                    got: 8,
                },
            ),
            (
                "repeated",
                |i| {
                    i.chunk(2, 0, 4)?;
                    i.chunk(2, 0, 4)
                },
                Violation::OutOfOrder {
                    expected: 4,
                    got: 0,
                },
            ),
            (
                "more than offered",
                |i| {
                    i.chunk(2, 0, 8)?;
                    i.chunk(2, 8, 8)
                },
                Violation::MoreThanOffered {
                    offered: 10,
                    got: 16,
                },
            ),
        ];
        for (what, send, violation) in cases {
            let mut incoming = receiving(10);
            assert_eq!(send(&mut incoming), Err(violation), "{what}");
            assert_eq!(incoming.stage(), Stage::Broken, "{what}");
            assert_eq!(
                incoming.violated(),
                Some(Control::Broken { id: 2 }),
                "{what}"
            );
        }
    }

    #[test]
    fn bytes_before_the_answer_or_an_early_end_break_it() {
        let mut incoming = Incoming::offered(2, 10, "a");
        assert_eq!(incoming.chunk(2, 0, 4), Err(Violation::NotAccepted));

        let mut incoming = receiving(10);
        incoming.chunk(2, 0, 4).unwrap();
        assert_eq!(
            incoming.end(),
            Err(Violation::EndedShort {
                offered: 10,
                got: 4
            })
        );
        assert_eq!(incoming.stage(), Stage::Broken);
        assert_eq!(incoming.checked(true), None, "never offered as done");

        let mut incoming = Incoming::offered(2, 0, "a");
        assert_eq!(incoming.end(), Err(Violation::NotAccepted));
    }

    #[test]
    fn a_finished_file_stays_whatever_comes_after() {
        let mut done = receiving(1);
        done.chunk(2, 0, 1).unwrap();
        done.end().unwrap();
        done.checked(true);
        assert_eq!(done.violated(), None, "junk after the end");
        assert_eq!(done.chunk(2, 1, 1), Ok(Taken::Stale));
        assert_eq!(done.end(), Ok(false));
        assert_eq!(done.stage(), Stage::Done);

        let mut refused = Incoming::offered(2, 10, "a");
        refused.refuse();
        assert_eq!(refused.violated(), None);
        assert_eq!(refused.stage(), Stage::Refused);
    }

    #[test]
    fn a_broken_file_is_said_broken_once() {
        let mut incoming = receiving(10);
        assert!(incoming.chunk(2, 4, 4).is_err());
        assert_eq!(incoming.violated(), Some(Control::Broken { id: 2 }));
        assert_eq!(incoming.violated(), None);
        assert_eq!(
            incoming.end(),
            Ok(false),
            "a broken file's end changes nothing"
        );
        assert_eq!(incoming.stage(), Stage::Broken);
    }

    #[test]
    fn a_closed_channel_loses_what_was_going() {
        let mut incoming = receiving(10);
        incoming.lost();
        assert_eq!(incoming.stage(), Stage::Lost);
        let mut done = receiving(0);
        done.end().unwrap();
        done.checked(true);
        done.lost();
        assert_eq!(done.stage(), Stage::Done, "a finished file stays");
    }
}
