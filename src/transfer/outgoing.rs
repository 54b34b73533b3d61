//! The sending end of one file: offered, sent chunk by chunk once accepted, then its hash.

use super::wire::{clean_name, Control};
use super::{Stage, Violation};

#[derive(Debug)]
pub struct Outgoing {
    pub id: u32,
    pub name: String,
    pub size: u64,
    /// The data in each chunk (see [`super::wire::chunk_size`]).
    chunk: usize,
    sent: u64,
    /// What the receiver says it has.
    arrived: u64,
    stage: Stage,
}

impl Outgoing {
    /// A file to offer, and the offer to send.
    pub fn new(id: u32, name: &str, size: u64, chunk: usize) -> (Self, Control) {
        let name = clean_name(name);
        let offer = Control::Offer {
            id,
            size,
            name: name.clone(),
        };
        let outgoing = Self {
            id,
            name,
            size,
            chunk: chunk.max(1),
            sent: 0,
            arrived: 0,
            stage: Stage::Asking,
        };
        (outgoing, offer)
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The bytes the receiver has.
    pub fn arrived(&self) -> u64 {
        self.arrived
    }

    /// The next chunk to send (offset, length), while the receiver wants them.
    pub fn next_chunk(&self) -> Option<(u64, usize)> {
        if self.stage != Stage::Moving || self.sent >= self.size {
            return None;
        }
        let left = self.size - self.sent;
        Some((self.sent, left.min(self.chunk as u64) as usize))
    }

    /// The chunk [`Self::next_chunk`] gave went out.
    pub fn sent(&mut self, bytes: usize) {
        self.sent = (self.sent + bytes as u64).min(self.size);
    }

    /// Once every byte went out: the end, with the hash of what was sent.
    pub fn end(&mut self, sha256: [u8; 32]) -> Option<Control> {
        if self.stage != Stage::Moving || self.sent < self.size {
            return None;
        }
        self.stage = Stage::Checking;
        Some(Control::End {
            id: self.id,
            sha256,
        })
    }

    /// This end stops it: the message that tells the other end, if it can still be stopped.
    /// Once the end is sent the receiver may already have the file whole: a cancel then would
    /// leave each end believing something different, so there is none.
    pub fn cancel(&mut self) -> Option<Control> {
        if self.stage.is_over() || self.stage == Stage::Checking {
            return None;
        }
        self.stage = Stage::Cancelled { by_them: false };
        Some(Control::Cancel { id: self.id })
    }

    /// Sending failed on this side (the file could not be read, the channel refused a chunk):
    /// the message that tells the receiver to drop what it has.
    pub fn fail(&mut self) -> Option<Control> {
        if self.stage.is_over() {
            return None;
        }
        self.stage = Stage::Broken;
        Some(Control::Cancel { id: self.id })
    }

    /// The channel closed.
    pub fn lost(&mut self) {
        if !self.stage.is_over() {
            self.stage = Stage::Lost;
        }
    }

    /// The receiver's answer to this transfer (the caller matched its id). A nonsensical answer
    /// ends the transfer as broken, and the caller tells the other end.
    pub fn answer(&mut self, control: &Control) -> Result<(), Violation> {
        if self.stage.is_over() {
            // Crossed messages: a cancel and an ack in flight at once. Nothing to do.
            return Ok(());
        }
        match (control, self.stage) {
            (Control::Accept { .. }, Stage::Asking) => self.stage = Stage::Moving,
            (Control::Refuse { .. }, Stage::Asking) => self.stage = Stage::Refused,
            (Control::Stop { .. }, _) => self.stage = Stage::Cancelled { by_them: true },
            (Control::Broken { .. }, _) => self.stage = Stage::Broken,
            (&Control::Ack { bytes, .. }, Stage::Moving | Stage::Checking) => {
                if bytes > self.sent || bytes < self.arrived {
                    self.stage = Stage::Broken;
                    return Err(Violation::OutOfTurn("a count of bytes never sent"));
                }
                self.arrived = bytes;
            }
            (Control::Verified { .. }, Stage::Checking) => {
                self.arrived = self.size;
                self.stage = Stage::Done;
            }
            _ => {
                self.stage = Stage::Broken;
                return Err(Violation::OutOfTurn("an answer"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(size: u64, chunk: usize) -> Outgoing {
        let (mut out, _) = Outgoing::new(3, "a.bin", size, chunk);
        assert_eq!(out.answer(&Control::Accept { id: 3 }), Ok(()));
        out
    }

    #[test]
    fn an_offer_then_chunks_then_the_hash() {
        let (mut out, offer) = Outgoing::new(3, "/tmp/a.bin", 10, 4);
        assert_eq!(
            offer,
            Control::Offer {
                id: 3,
                size: 10,
                name: "a.bin".into()
            }
        );
        assert_eq!(out.next_chunk(), None, "nothing before the answer");
        assert_eq!(out.end([1; 32]), None);
        out.answer(&Control::Accept { id: 3 }).unwrap();
        let mut chunks = vec![];
        while let Some((offset, len)) = out.next_chunk() {
            chunks.push((offset, len));
            out.sent(len);
        }
        assert_eq!(chunks, [(0, 4), (4, 4), (8, 2)]);
        out.answer(&Control::Ack { id: 3, bytes: 8 }).unwrap();
        assert_eq!(out.arrived(), 8);
        assert_eq!(
            out.end([1; 32]),
            Some(Control::End {
                id: 3,
                sha256: [1; 32]
            })
        );
        assert_eq!(out.stage(), Stage::Checking);
        assert_eq!(out.cancel(), None, "past the end, nothing to cancel");
        out.answer(&Control::Verified { id: 3 }).unwrap();
        assert_eq!((out.stage(), out.arrived()), (Stage::Done, 10));
    }

    #[test]
    fn an_empty_file_ends_at_once() {
        let mut out = accepted(0, 4);
        assert_eq!(out.next_chunk(), None);
        assert!(out.end([0; 32]).is_some());
    }

    #[test]
    fn refused_cancelled_or_lost_sends_nothing_more() {
        let (mut out, _) = Outgoing::new(1, "a", 10, 4);
        out.answer(&Control::Refuse { id: 1 }).unwrap();
        assert_eq!((out.stage(), out.next_chunk()), (Stage::Refused, None));

        let mut out = accepted(10, 4);
        assert_eq!(out.cancel(), Some(Control::Cancel { id: 3 }));
        assert_eq!(out.cancel(), None, "said once");
        assert_eq!(out.stage(), Stage::Cancelled { by_them: false });
        // Their ack crossed the cancel: no harm.
        assert_eq!(out.answer(&Control::Ack { id: 3, bytes: 0 }), Ok(()));
        assert_eq!(out.next_chunk(), None);

        let mut out = accepted(10, 4);
        out.answer(&Control::Stop { id: 3 }).unwrap();
        assert_eq!(out.stage(), Stage::Cancelled { by_them: true });
        assert_eq!(out.cancel(), None, "nothing to tell them");

        let mut out = accepted(10, 4);
        assert_eq!(out.fail(), Some(Control::Cancel { id: 3 }));
        assert_eq!((out.stage(), out.fail()), (Stage::Broken, None));

        let mut out = accepted(10, 4);
        out.lost();
        assert_eq!((out.stage(), out.next_chunk()), (Stage::Lost, None));
    }

    #[test]
    fn a_bad_receivers_answers_break_the_transfer() {
        let mut out = accepted(10, 4);
        out.sent(4);
        assert!(
            out.answer(&Control::Ack { id: 3, bytes: 5 }).is_err(),
            "never sent"
        );
        assert_eq!(out.stage(), Stage::Broken);

        let mut out = accepted(10, 4);
        out.sent(4);
        out.answer(&Control::Ack { id: 3, bytes: 4 }).unwrap();
        assert!(
            out.answer(&Control::Ack { id: 3, bytes: 2 }).is_err(),
            "backwards"
        );

        let mut out = accepted(10, 4);
        assert!(
            out.answer(&Control::Verified { id: 3 }).is_err(),
            "before the end"
        );

        let (mut out, _) = Outgoing::new(1, "a", 10, 4);
        assert!(
            out.answer(&Control::Ack { id: 1, bytes: 0 }).is_err(),
            "before the answer"
        );

        let mut out = accepted(4, 4);
        out.sent(4);
        out.end([0; 32]);
        out.answer(&Control::Broken { id: 3 }).unwrap();
        assert_eq!(out.stage(), Stage::Broken, "their hash did not match");
    }
}
