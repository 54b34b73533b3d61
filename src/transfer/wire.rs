//! The file channel's messages. Offers and answers are text, a letter and a number like the
//! chat's (`"o3 1048576 photo.jpg"`, `"a3"`), readable in any channel inspector; the file's
//! bytes are binary messages, each a 12-byte header (the transfer's number and the chunk's
//! offset, big-endian) before the bytes themselves.

use std::fmt::Write;

/// Bytes before a chunk's data: the transfer (4) and where in the file the chunk starts (8).
pub const HEADER: usize = 12;

/// The longest file name offered, in bytes: what file systems take.
pub const MAX_NAME: usize = 255;

/// The longest text message a well-behaved end sends (an offer with the longest name), with
/// room to spare: anything longer is not read at all.
pub const MAX_CONTROL: usize = 512;

/// The most data a chunk carries. A data channel sends a message's fragments back to back
/// (without SCTP's message interleaving, which browsers do not negotiate), so a chat line or a
/// ping on another channel waits behind at most one chunk: 64 KiB is 5 ms at 100 Mbit/s.
pub const MAX_CHUNK: usize = 64 * 1024;

/// What every browser has taken since data channels exist, for a connection that does not say.
pub const SAFE_MESSAGE: usize = 16 * 1024;

/// The data in each chunk, from the connection's `sctp.maxMessageSize` (`None` when the browser
/// does not say; 0 means no limit).
pub fn chunk_size(max_message_size: Option<f64>) -> usize {
    let most = match max_message_size {
        Some(max) if max == 0.0 || max >= (MAX_CHUNK + HEADER) as f64 => MAX_CHUNK + HEADER,
        Some(max) if max > (HEADER as f64) && max.is_finite() => max as usize,
        _ => SAFE_MESSAGE,
    };
    most - HEADER
}

/// One text message on the file channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// "May I send you this file?"
    Offer {
        id: u32,
        size: u64,
        name: String,
    },
    Accept {
        id: u32,
    },
    Refuse {
        id: u32,
    },
    /// The sender stops the transfer; the receiver drops what it has.
    Cancel {
        id: u32,
    },
    /// The receiver stops it (its own letter: each end numbers the files it sends, so a stop
    /// must say whose file it means).
    Stop {
        id: u32,
    },
    /// The receiver has `bytes` of the file: the sender's bar shows what arrived, not what left.
    Ack {
        id: u32,
        bytes: u64,
    },
    /// Every byte is sent; this is the SHA-256 of the whole file.
    End {
        id: u32,
        sha256: [u8; 32],
    },
    /// The file arrived whole: its hash matches.
    Verified {
        id: u32,
    },
    /// The file did not arrive whole, or the other end broke the protocol: nothing is kept.
    Broken {
        id: u32,
    },
}

impl Control {
    pub fn id(&self) -> u32 {
        match self {
            Control::Offer { id, .. }
            | Control::Accept { id }
            | Control::Refuse { id }
            | Control::Cancel { id }
            | Control::Stop { id }
            | Control::Ack { id, .. }
            | Control::End { id, .. }
            | Control::Verified { id }
            | Control::Broken { id } => *id,
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Control::Offer { id, size, name } => format!("o{id} {size} {name}"),
            Control::Accept { id } => format!("a{id}"),
            Control::Refuse { id } => format!("r{id}"),
            Control::Cancel { id } => format!("c{id}"),
            Control::Stop { id } => format!("s{id}"),
            Control::Ack { id, bytes } => format!("k{id} {bytes}"),
            Control::End { id, sha256 } => format!("e{id} {}", hex(sha256)),
            Control::Verified { id } => format!("v{id}"),
            Control::Broken { id } => format!("x{id}"),
        }
    }

    /// `None` for anything this page would not send: the other end may be another program.
    pub fn decode(message: &str) -> Option<Self> {
        let mut chars = message.chars();
        let kind = chars.next()?;
        let rest = chars.as_str();
        let (id, arg) = match rest.split_once(' ') {
            Some((id, arg)) => (number(id)?, Some(arg)),
            None => (number(rest)?, None),
        };
        let id = u32::try_from(id).ok()?;
        Some(match (kind, arg) {
            ('o', Some(arg)) => {
                let (size, name) = arg.split_once(' ')?;
                if name.len() > MAX_NAME || clean_name(name) != name {
                    return None;
                }
                Control::Offer {
                    id,
                    size: number(size)?,
                    name: name.to_owned(),
                }
            }
            ('k', Some(bytes)) => Control::Ack {
                id,
                bytes: number(bytes)?,
            },
            ('e', Some(digest)) => Control::End {
                id,
                sha256: unhex(digest)?,
            },
            ('a', None) => Control::Accept { id },
            ('r', None) => Control::Refuse { id },
            ('c', None) => Control::Cancel { id },
            ('s', None) => Control::Stop { id },
            ('v', None) => Control::Verified { id },
            ('x', None) => Control::Broken { id },
            _ => return None,
        })
    }
}

/// Where a chunk belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u32,
    pub offset: u64,
}

impl Header {
    pub fn bytes(self) -> [u8; HEADER] {
        let mut out = [0; HEADER];
        out[..4].copy_from_slice(&self.id.to_be_bytes());
        out[4..].copy_from_slice(&self.offset.to_be_bytes());
        out
    }

    /// The header at the start of a binary message; `None` if the message is shorter.
    pub fn read(message: &[u8]) -> Option<Self> {
        let id = u32::from_be_bytes(message.get(..4)?.try_into().ok()?);
        let offset = u64::from_be_bytes(message.get(4..HEADER)?.try_into().ok()?);
        Some(Self { id, offset })
    }
}

/// A file's name as offered: no folders, no control characters, at most [`MAX_NAME`] bytes, never
/// empty. The receiver's browser cleans it again when saving; this keeps the page's own text sane.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean = String::new();
    // Bidirectional marks go too: `invoice\u{202E}fdp.exe` would read as "invoiceexe.pdf".
    let shown = |c: &char| {
        !c.is_control()
            && !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    for c in base.trim().chars().filter(shown) {
        if clean.len() + c.len_utf8() > MAX_NAME {
            break;
        }
        clean.push(c);
    }
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".to_owned()
    } else {
        clean
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_survives_the_wire() {
        for control in [
            Control::Offer {
                id: 1,
                size: 64 << 20,
                name: "holiday photos 2026.zip".into(),
            },
            Control::Offer {
                id: u32::MAX,
                size: 0,
                name: "a1 looks like an answer".into(),
            },
            Control::Accept { id: 1 },
            Control::Refuse { id: 2 },
            Control::Cancel { id: 3 },
            Control::Stop { id: 3 },
            Control::Ack {
                id: 4,
                bytes: u64::MAX,
            },
            Control::End {
                id: 5,
                sha256: [0xab; 32],
            },
            Control::Verified { id: 6 },
            Control::Broken { id: 7 },
        ] {
            assert_eq!(Control::decode(&control.encode()), Some(control));
        }
    }

    #[test]
    fn anything_else_is_ignored_not_trusted() {
        let long_name = format!("o1 5 {}", "n".repeat(MAX_NAME + 1));
        let short_hash = format!("e1 {}", "a".repeat(62));
        for junk in [
            "",
            "a",
            "a-1",
            "a1 extra",
            "o1",
            "o1 5",
            "o1 -5 name",
            "o1 5 ../../etc/passwd",
            "o1 5 line\nbreak",
            "o99999999999 5 name",
            "k1",
            "k1 1.5",
            "e1 zz",
            "m1 hello",
            long_name.as_str(),
            short_hash.as_str(),
        ] {
            assert_eq!(Control::decode(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_chunk_says_which_file_and_where() {
        let header = Header {
            id: 0x0102_0304,
            offset: 5 << 32 | 6,
        };
        let bytes = header.bytes();
        assert_eq!(bytes, [1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 6]);
        assert_eq!(Header::read(&bytes), Some(header));
        assert_eq!(Header::read(&bytes[..11]), None);
    }

    #[test]
    fn chunks_fit_the_connection_and_the_chat_stays_quick() {
        // Chromium says 262144; Firefox 1073741823; 0 is "no limit".
        assert_eq!(chunk_size(Some(262_144.0)), MAX_CHUNK);
        assert_eq!(chunk_size(Some(1_073_741_823.0)), MAX_CHUNK);
        assert_eq!(chunk_size(Some(0.0)), MAX_CHUNK);
        // A small limit is kept, header included.
        assert_eq!(chunk_size(Some(16_384.0)), 16_384 - HEADER);
        // Nothing said, or nonsense: what every browser takes.
        for unknown in [None, Some(-1.0), Some(f64::NAN), Some(4.0)] {
            assert_eq!(chunk_size(unknown), SAFE_MESSAGE - HEADER, "{unknown:?}");
        }
    }

    #[test]
    fn names_lose_their_folders_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\me\\cv.pdf"), "cv.pdf");
        assert_eq!(clean_name("/home/me/notes.txt"), "notes.txt");
        assert_eq!(clean_name(" tab\there.txt "), "tabhere.txt");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(Control::decode("o1 5 a\u{2066}b"), None);
        assert_eq!(clean_name(""), "file");
        let long = "é".repeat(200);
        let clean = clean_name(&long);
        assert!(clean.len() <= MAX_NAME && clean.chars().all(|c| c == 'é'));
    }
}
