//! What the page's address asks for, in plain Rust: `?room=NAME` for a room call, `&relay=1` for
//! TURN only, and fresh room names of 128 random bits for new room links.

use loopback_core::query::{asked, Asked};
use loopback_signal::room::BadRoomName;
use loopback_signal::RoomName;

/// What Call does on this page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The tutorial: two peers in this page.
    Loopback,
    /// A call to the other page in `room`.
    Room { room: RoomName, relay_only: bool },
}

/// The mode a query string (`location.search`, with or without its `?`) asks for. A `room` that
/// is not a valid name is an error, not a silent loopback.
pub fn mode(search: &str) -> Result<Mode, BadRoomName> {
    let Asked { room, relay_only } = asked(search);
    match room {
        None => Ok(Mode::Loopback),
        Some(name) => Ok(Mode::Room {
            room: RoomName::try_from(name.to_owned())?,
            relay_only,
        }),
    }
}

/// The query string of a room link.
pub fn query(room: &RoomName, relay_only: bool) -> String {
    if relay_only {
        format!("?room={room}&relay=1")
    } else {
        format!("?room={room}")
    }
}

/// A room name from 16 random bytes: 22 characters of unpadded base64url, unguessable.
pub fn fresh_room(random: [u8; 16]) -> RoomName {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut held = 0;
    let mut name = String::with_capacity(22);
    for byte in random {
        bits = (bits << 8) | u32::from(byte);
        held += 8;
        while held >= 6 {
            held -= 6;
            name.push(char::from(ALPHABET[((bits >> held) & 63) as usize]));
        }
    }
    if held > 0 {
        name.push(char::from(ALPHABET[((bits << (6 - held)) & 63) as usize]));
    }
    // Every character comes from the alphabet above, which room names accept.
    RoomName::try_from(name).unwrap_or_else(|_| unreachable!("base64url is a valid room name"))
}

/// Whether `room` is a name someone could guess: the room's name is all that keeps strangers
/// out of it, and a person's own words (`test`, `family-call`) are on every guesser's list.
/// A fresh room's name (22 base64url characters, 128 bits) is not. Short names are taken as
/// guessable, and so are lowercase words, joined or not (`our-secret-meeting-place`): drawn
/// names mix cases (all 22 characters lowercase: one name in 100,000).
pub fn guessable(room: &RoomName) -> bool {
    let name = room.as_str();
    let mixed_case = name.bytes().any(|b| b.is_ascii_uppercase());
    let digits = name.bytes().any(|b| b.is_ascii_digit());
    let words = name.bytes().any(|b| matches!(b, b'-' | b'_' | b'.'));
    name.len() < 16 || (!mixed_case && (words || !digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::try_from(name.to_owned()).unwrap()
    }

    #[test]
    fn no_room_is_the_tutorials_loopback() {
        assert_eq!(mode(""), Ok(Mode::Loopback));
        assert_eq!(mode("?"), Ok(Mode::Loopback));
        assert_eq!(mode("?relay=1&x=2"), Ok(Mode::Loopback));
    }

    #[test]
    fn a_room_and_relay_are_read_from_the_query() {
        assert_eq!(
            mode("?room=abc"),
            Ok(Mode::Room {
                room: room("abc"),
                relay_only: false
            })
        );
        assert_eq!(
            mode("?x=1&room=abc&relay=1"),
            Ok(Mode::Room {
                room: room("abc"),
                relay_only: true
            })
        );
        assert_eq!(
            mode("room=abc&relay=0"),
            Ok(Mode::Room {
                room: room("abc"),
                relay_only: false
            })
        );
    }

    #[test]
    fn a_bad_room_name_is_an_error() {
        assert_eq!(mode("?room="), Err(BadRoomName::Empty));
        assert_eq!(mode("?room=a%20b"), Err(BadRoomName::BadCharacter));
        assert_eq!(mode("?room=<x>"), Err(BadRoomName::BadCharacter));
    }

    #[test]
    fn room_links_round_trip() {
        let r = room("kX3-9_fQ2mP0aZr7Yb1cDw");
        assert_eq!(
            mode(&query(&r, false)),
            Ok(Mode::Room {
                room: r.clone(),
                relay_only: false
            })
        );
        assert_eq!(
            mode(&query(&r, true)),
            Ok(Mode::Room {
                room: r,
                relay_only: true
            })
        );
    }

    #[test]
    fn fresh_rooms_are_22_characters_of_base64url() {
        assert_eq!(fresh_room([0; 16]).as_str(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(fresh_room([255; 16]).as_str(), "_____________________w");
        // RFC 4648's test vector "foobar", zero-padded to 16 bytes.
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(b"foobar");
        assert!(fresh_room(bytes).as_str().starts_with("Zm9vYmFy"));
        let a = fresh_room(*b"0123456789abcdef");
        let b = fresh_room(*b"0123456789abcdeg");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
    }

    #[test]
    fn names_people_type_are_guessable_and_drawn_ones_are_not() {
        let name = |n: &str| RoomName::try_from(n.to_owned()).unwrap();
        for typed in [
            "test",
            "family-call",
            "our-secret-meeting-place",
            "kitchen_table",
        ] {
            assert!(guessable(&name(typed)), "{typed}");
        }
        // Never a warning on a fresh link, whatever was drawn.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..10_000 {
            let mut random = [0u8; 16];
            for byte in &mut random {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = (state >> 32) as u8;
            }
            let drawn = fresh_room(random);
            assert!(!guessable(&drawn), "{drawn}");
        }
        assert!(!guessable(&name("k3xq9v2mzt7wbr4hjp1c")));
    }
}
