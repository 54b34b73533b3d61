//! What keeps a seat across a lost connection: the token that claims it back, and the log of
//! signals its page may have missed meanwhile.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;

/// How many characters a [`ResumeToken`] has: 128 bits in base64url without padding.
pub const TOKEN_CHARS: usize = 22;
/// How many signals a seat's [`ReplayLog`] keeps: a call's setup is a few dozen, an ICE restart
/// as many again; more than this while a page is away, and it must start ICE over anyway.
pub const REPLAY_CAPACITY: usize = 256;

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A seat's resume token: 128 random bits as 22 base64url characters (no padding). Whoever shows
/// it may take the seat back, so it is a secret: `Debug` does not print it, and nothing the server
/// says echoes it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResumeToken(String);

/// Why a string is not a resume token. The sentences never quote the string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadToken {
    /// Not 22 characters.
    Length,
    /// A character outside base64url (`A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`).
    Character,
    /// The last character carries bits that 128 bits do not have: not one this server made.
    Trailing,
}

impl fmt::Display for BadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadToken::Length => "a resume token has exactly 22 characters",
            BadToken::Character => {
                "a resume token holds only base64url characters (A-Z, a-z, 0-9, '-', '_')"
            }
            BadToken::Trailing => {
                "a resume token encodes exactly 128 bits: its last character must be A, Q, g or w"
            }
        })
    }
}

impl ResumeToken {
    /// The token for these 128 bits (the server draws them from the operating system).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let mut text = String::with_capacity(TOKEN_CHARS);
        let (mut bits, mut held) = (0u32, 0u32);
        for byte in bytes {
            bits = (bits << 8) | u32::from(byte);
            held += 8;
            while held >= 6 {
                held -= 6;
                text.push(char::from(BASE64URL[((bits >> held) & 63) as usize]));
            }
            bits &= (1 << held) - 1;
        }
        // 128 = 21 × 6 + 2: the last character holds two bits, then zeros.
        text.push(char::from(BASE64URL[((bits << (6 - held)) & 63) as usize]));
        ResumeToken(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ResumeToken {
    type Error = BadToken;

    fn try_from(text: String) -> Result<Self, BadToken> {
        if text.len() != TOKEN_CHARS {
            return Err(BadToken::Length);
        }
        let mut last = 0;
        for byte in text.bytes() {
            last = BASE64URL
                .iter()
                .position(|&b| b == byte)
                .ok_or(BadToken::Character)?;
        }
        // Only the two high bits of the last sextet belong to the 128; the rest must be zero, so
        // that every token has one spelling.
        if last % 16 != 0 {
            return Err(BadToken::Trailing);
        }
        Ok(ResumeToken(text))
    }
}

impl From<ResumeToken> for String {
    fn from(token: ResumeToken) -> String {
        token.0
    }
}

impl fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A secret: logs and panics say there is one, not what it is.
        f.write_str("ResumeToken(…)")
    }
}

/// The signals relayed to one seat, numbered from 0, the last [`REPLAY_CAPACITY`] kept, so that a
/// page coming back on a new connection gets those it had not received, each once.
#[derive(Clone, Debug)]
pub struct ReplayLog<T> {
    capacity: usize,
    /// Each kept signal with its number, in order.
    kept: VecDeque<(u64, T)>,
    /// How many were ever pushed: the next one's number.
    sent: u64,
    /// Signals below this number fell out of the log for want of room: a page that had fewer
    /// missed some. (Those taken out on purpose, their sender gone, are not missing.)
    lost_below: u64,
}

/// What a page gets back on resuming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay<T> {
    /// The signals after the ones the page had, in order.
    pub signals: Vec<T>,
    /// Whether those are all it missed; `false` when some fell out of the log (or the page's count
    /// makes no sense), and the page must restart ICE.
    pub complete: bool,
}

impl<T> Default for ReplayLog<T> {
    fn default() -> Self {
        Self::with_capacity(REPLAY_CAPACITY)
    }
}

impl<T> ReplayLog<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            // Nothing until the first signal: most seats of an idle server never get one, and
            // 16 kept signals' room is 1.5 KiB a seat.
            kept: VecDeque::new(),
            sent: 0,
            lost_below: 0,
        }
    }

    /// Logs one signal; returns its number.
    pub fn push(&mut self, signal: T) -> u64 {
        let number = self.sent;
        self.sent += 1;
        if self.capacity == 0 {
            self.lost_below = self.sent;
            return number;
        }
        if self.kept.len() == self.capacity {
            if let Some((oldest, _)) = self.kept.pop_front() {
                self.lost_below = oldest + 1;
            }
        }
        self.kept.push_back((number, signal));
        number
    }

    /// How many signals were relayed to this seat.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Forgets the signals `gone` picks, because their sender left the room: what it said would
    /// only confuse the page. Not counted as lost.
    pub fn discard(&mut self, gone: impl Fn(&T) -> bool) {
        self.kept.retain(|(_, signal)| !gone(signal));
    }
}

impl<T: Clone> ReplayLog<T> {
    /// The signals after the first `received`, for a page that got that many.
    pub fn after(&self, received: u64) -> Replay<T> {
        if received > self.sent {
            // The page counts signals the server never sent it: its state is not this seat's.
            return Replay {
                signals: Vec::new(),
                complete: false,
            };
        }
        Replay {
            signals: self
                .kept
                .iter()
                .filter(|(number, _)| *number >= received)
                .map(|(_, signal)| signal.clone())
                .collect(),
            complete: received >= self.lost_below,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> Result<ResumeToken, BadToken> {
        ResumeToken::try_from(text.to_owned())
    }

    #[test]
    fn tokens_are_128_bits_in_base64url() {
        assert_eq!(
            ResumeToken::from_bytes([0; 16]).as_str(),
            "AAAAAAAAAAAAAAAAAAAAAA"
        );
        assert_eq!(
            ResumeToken::from_bytes([0xff; 16]).as_str(),
            "_____________________w"
        );
        let counting: [u8; 16] = std::array::from_fn(|i| i as u8);
        // base64 of 00 01 … 0f is AAECAwQFBgcICQoLDA0ODw== (RFC 4648 §5: same letters here).
        assert_eq!(
            ResumeToken::from_bytes(counting).as_str(),
            "AAECAwQFBgcICQoLDA0ODw"
        );
        let mixed: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(0x9d) ^ 0xfb);
        let made = ResumeToken::from_bytes(mixed);
        assert_eq!(made.as_str().len(), TOKEN_CHARS);
        assert_eq!(token(made.as_str()), Ok(made));
    }

    #[test]
    fn only_22_base64url_characters_are_a_token() {
        assert!(token("AAECAwQFBgcICQoLDA0ODw").is_ok());
        assert!(token("-_-_-_-_-_-_-_-_-_-_-Q").is_ok());
        assert_eq!(token(""), Err(BadToken::Length));
        assert_eq!(token("AAECAwQFBgcICQoLDA0OD"), Err(BadToken::Length));
        assert_eq!(token("AAECAwQFBgcICQoLDA0ODwA"), Err(BadToken::Length));
        assert_eq!(token("AAECAwQFBgcICQoLDA0ODw=="), Err(BadToken::Length));
        for bad in [
            "AAECAwQFBgcICQoLDA0O+w",
            "AAECAwQFBgcICQoLDA0O/w",
            "AAECAwQFBgcICQoLDA0O=w",
            "AAECAwQFBgcICQoLDA0O w",
        ] {
            assert_eq!(token(bad), Err(BadToken::Character), "{bad}");
        }
        // Multi-byte characters are not base64url either, whatever their length in bytes.
        assert!(token("ééééééééééé").is_err());
        // 132 bits spelled: the last character's low bits are not zero.
        assert_eq!(token("AAECAwQFBgcICQoLDA0ODx"), Err(BadToken::Trailing));
        assert_eq!(token("AAECAwQFBgcICQoLDA0OD_"), Err(BadToken::Trailing));
    }

    #[test]
    fn a_token_is_a_json_string_and_never_printed() {
        let made = ResumeToken::from_bytes([7; 16]);
        let json = serde_json::to_string(&made).unwrap();
        assert_eq!(json, format!("\"{}\"", made.as_str()));
        assert_eq!(
            serde_json::from_str::<ResumeToken>(&json).unwrap(),
            made.clone()
        );
        assert!(serde_json::from_str::<ResumeToken>("\"short\"").is_err());
        assert!(serde_json::from_str::<ResumeToken>("7").is_err());
        assert!(!format!("{made:?}").contains(made.as_str()));
        let error = serde_json::from_str::<ResumeToken>("\"AAECAwQFBgcICQoLDA0ODx\"")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("AAECAwQFBgcICQoLDA0ODx"), "{error}");
    }

    #[test]
    fn signals_are_numbered_and_replayed_after_what_the_page_has() {
        let mut log = ReplayLog::default();
        assert_eq!(
            log.after(0),
            Replay {
                signals: vec![],
                complete: true
            }
        );
        assert_eq!(log.push('a'), 0);
        assert_eq!(log.push('b'), 1);
        assert_eq!(log.push('c'), 2);
        assert_eq!(log.sent(), 3);
        assert_eq!(log.after(0).signals, vec!['a', 'b', 'c']);
        assert_eq!(log.after(1).signals, vec!['b', 'c']);
        assert_eq!(
            log.after(3),
            Replay {
                signals: vec![],
                complete: true
            }
        );
        assert!(log.after(2).complete);
    }

    #[test]
    fn signals_that_fell_out_of_the_log_make_the_replay_incomplete() {
        let mut log = ReplayLog::with_capacity(2);
        for n in 0..5 {
            log.push(n);
        }
        // Kept: 3 and 4. A page that had 0, 1 and 2 missed just those two, and gets them.
        assert_eq!(
            log.after(3),
            Replay {
                signals: vec![3, 4],
                complete: true
            }
        );
        assert_eq!(
            log.after(1),
            Replay {
                signals: vec![3, 4],
                complete: false
            }
        );
        // A count beyond what was sent is not this seat's: nothing to replay, and not whole.
        assert_eq!(
            log.after(6),
            Replay {
                signals: vec![],
                complete: false
            }
        );
        // The full-size log overflows the same way.
        let mut log = ReplayLog::default();
        for n in 0..REPLAY_CAPACITY + 1 {
            log.push(n);
        }
        let replay = log.after(0);
        assert!(!replay.complete);
        assert_eq!(replay.signals.len(), REPLAY_CAPACITY);
        assert_eq!(replay.signals[0], 1);
        assert!(log.after(1).complete);
    }

    #[test]
    fn what_a_departed_peer_said_is_dropped_not_lost() {
        let mut log = ReplayLog::default();
        log.push((1, "from the one who left"));
        log.push((2, "from one who stays"));
        log.push((1, "from the one who left"));
        log.discard(|(from, _)| *from == 1);
        assert_eq!(
            log.after(0),
            Replay {
                signals: vec![(2, "from one who stays")],
                complete: true
            }
        );
        assert_eq!(log.push((3, "from a newcomer")), 3, "numbering goes on");
        assert_eq!(log.after(2).signals, vec![(3, "from a newcomer")]);
        assert!(log.after(2).complete);
    }
}
