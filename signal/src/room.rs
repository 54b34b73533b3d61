//! Rooms: two seats each, one polite and one impolite, and a room lives only while a seat is in it.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// How many peers a room holds: a call is between two.
pub const CAPACITY: usize = 2;
/// The longest room name: a fresh room link's 128 random bits take 22 characters.
pub const MAX_NAME: usize = 64;

/// A room's name: 1 to [`MAX_NAME`] ASCII letters, digits, `-` or `_`, so it is safe in a URL, a
/// log line and a `BroadcastChannel` name as it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);

/// Why a string is not a room name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadRoomName {
    Empty,
    TooLong,
    BadCharacter,
}

impl fmt::Display for BadRoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadRoomName::Empty => "the room name is empty",
            BadRoomName::TooLong => "the room name is longer than 64 characters",
            BadRoomName::BadCharacter => "the room name may hold only letters, digits, '-' and '_'",
        })
    }
}

impl TryFrom<String> for RoomName {
    type Error = BadRoomName;

    fn try_from(name: String) -> Result<Self, BadRoomName> {
        if name.is_empty() {
            Err(BadRoomName::Empty)
        } else if name.len() > MAX_NAME {
            Err(BadRoomName::TooLong)
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            Err(BadRoomName::BadCharacter)
        } else {
            Ok(RoomName(name))
        }
    }
}

impl From<RoomName> for String {
    fn from(name: RoomName) -> String {
        name.0
    }
}

impl RoomName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A seat's place in a room after joining it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Joined<S> {
    /// The seat's role in perfect negotiation: the polite peer gives way when both offer at once.
    pub polite: bool,
    /// The seat already there, if any (its page may be connected or away): the call can start.
    pub other: Option<S>,
}

/// Why a seat cannot be added to a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// Two seats are in it already (a seat whose page is away still counts).
    Full,
    /// This seat is in it already.
    AlreadyInside,
}

#[derive(Debug)]
struct Seat<S> {
    seat: S,
    polite: bool,
}

/// Every room with a seat in it, by name. `S` identifies a seat: a place in a room that outlives
/// the connection holding it (the server's seat id; a tab id between tabs). Whether a seat's page
/// is connected is not a room rule: a seat is in its room until it goes.
#[derive(Debug)]
pub struct Rooms<S> {
    rooms: HashMap<RoomName, Vec<Seat<S>>>,
}

impl<S> Default for Rooms<S> {
    fn default() -> Self {
        Self {
            rooms: HashMap::new(),
        }
    }
}

impl<S: Copy + Eq> Rooms<S> {
    /// Puts `seat` in `room`. The roles always differ: next to a seat the newcomer takes the role
    /// that is free; in an empty room it gets the role it `wish`es for (a page carrying on a call
    /// the server forgot), impolite by default.
    pub fn join(
        &mut self,
        room: &RoomName,
        seat: S,
        wish: Option<bool>,
    ) -> Result<Joined<S>, JoinError> {
        let seats = self.rooms.entry(room.clone()).or_default();
        if seats.iter().any(|s| s.seat == seat) {
            return Err(JoinError::AlreadyInside);
        }
        if seats.len() >= CAPACITY {
            return Err(JoinError::Full);
        }
        let other = seats.first().map(|s| (s.seat, s.polite));
        let polite = match other {
            Some((_, other_polite)) => !other_polite,
            None => wish.unwrap_or(false),
        };
        seats.push(Seat { seat, polite });
        Ok(Joined {
            polite,
            other: other.map(|(seat, _)| seat),
        })
    }

    /// Takes `seat` out of `room`, freeing its role; returns the seat left behind, whose page must
    /// be told. A room whose last seat goes is gone.
    pub fn leave(&mut self, room: &RoomName, seat: S) -> Option<S> {
        let seats = self.rooms.get_mut(room)?;
        seats.retain(|s| s.seat != seat);
        let other = seats.first().map(|s| s.seat);
        if seats.is_empty() {
            self.rooms.remove(room);
        }
        other
    }

    /// The other seat in `seat`'s room, if there is one.
    pub fn other(&self, room: &RoomName, seat: S) -> Option<S> {
        let seats = self.rooms.get(room)?;
        if !seats.iter().any(|s| s.seat == seat) {
            return None;
        }
        seats.iter().map(|s| s.seat).find(|s| *s != seat)
    }

    /// How many rooms have a seat in them.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::try_from(name.to_owned()).unwrap()
    }

    #[test]
    fn room_names_are_url_safe_and_bounded() {
        assert!(RoomName::try_from("a".to_owned()).is_ok());
        assert!(RoomName::try_from("kX3-9_fQ2mP0aZr7Yb1cDw".to_owned()).is_ok());
        assert_eq!(RoomName::try_from(String::new()), Err(BadRoomName::Empty));
        assert_eq!(
            RoomName::try_from("x".repeat(65)),
            Err(BadRoomName::TooLong)
        );
        assert!(RoomName::try_from("x".repeat(64)).is_ok());
        for bad in ["a b", "a/b", "../x", "é", "a\u{0}", "<script>", "a?b=c"] {
            assert_eq!(
                RoomName::try_from(bad.to_owned()),
                Err(BadRoomName::BadCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn two_peers_meet_with_opposite_roles() {
        let mut rooms = Rooms::default();
        let a = rooms.join(&room("r"), 1, None).unwrap();
        assert_eq!(
            a,
            Joined {
                polite: false,
                other: None
            }
        );
        let b = rooms.join(&room("r"), 2, None).unwrap();
        assert_eq!(
            b,
            Joined {
                polite: true,
                other: Some(1)
            }
        );
        assert_eq!(rooms.other(&room("r"), 1), Some(2));
        assert_eq!(rooms.other(&room("r"), 2), Some(1));
        assert_eq!(rooms.len(), 1);
    }

    #[test]
    fn a_third_peer_finds_the_room_full() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap();
        rooms.join(&room("r"), 2, None).unwrap();
        assert_eq!(rooms.join(&room("r"), 3, None), Err(JoinError::Full));
        assert_eq!(rooms.other(&room("r"), 3), None, "not in the room");
        assert_eq!(
            rooms.join(&room("r"), 1, None),
            Err(JoinError::AlreadyInside)
        );
    }

    #[test]
    fn whoever_comes_next_takes_the_role_that_is_free() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap(); // impolite
        rooms.join(&room("r"), 2, None).unwrap(); // polite
        assert_eq!(rooms.leave(&room("r"), 1), Some(2));
        // Peer 2 stays polite: the newcomer must be impolite.
        let c = rooms.join(&room("r"), 3, None).unwrap();
        assert_eq!(
            c,
            Joined {
                polite: false,
                other: Some(2)
            }
        );
    }

    #[test]
    fn a_room_is_gone_when_its_last_peer_leaves() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap();
        rooms.join(&room("s"), 2, None).unwrap();
        assert_eq!(rooms.len(), 2);
        assert_eq!(rooms.leave(&room("r"), 1), None);
        assert_eq!(rooms.leave(&room("s"), 2), None);
        assert!(rooms.is_empty());
        // Leaving twice, or a room that never was, changes nothing.
        assert_eq!(rooms.leave(&room("r"), 1), None);
        assert_eq!(rooms.leave(&room("nowhere"), 9), None);
        assert!(rooms.is_empty());
    }

    #[test]
    fn rooms_are_separate() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap();
        let other_room = rooms.join(&room("s"), 2, None).unwrap();
        assert_eq!(other_room.other, None);
        assert_eq!(rooms.other(&room("r"), 1), None);
    }

    #[test]
    fn a_seat_counts_until_it_goes_and_then_frees_its_role() {
        // The server keeps a seat whose page lost its connection: it still fills the room and
        // keeps its role, so the page can come back to it.
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap();
        rooms.join(&room("r"), 2, None).unwrap();
        assert_eq!(rooms.join(&room("r"), 3, Some(false)), Err(JoinError::Full));
        // Seat 1 (impolite) goes for good: its role is the one free.
        assert_eq!(rooms.leave(&room("r"), 1), Some(2));
        assert_eq!(
            rooms.join(&room("r"), 3, Some(true)),
            Ok(Joined {
                polite: false,
                other: Some(2)
            }),
            "the wish would make two polite peers: ignored"
        );
    }

    #[test]
    fn a_role_wish_is_honored_when_the_roles_still_differ() {
        let mut rooms = Rooms::default();
        assert_eq!(
            rooms.join(&room("r"), 1, Some(true)),
            Ok(Joined {
                polite: true,
                other: None
            }),
            "an empty room: any wish goes"
        );
        assert_eq!(
            rooms.join(&room("r"), 2, Some(false)),
            Ok(Joined {
                polite: false,
                other: Some(1)
            }),
            "the opposite role: honored"
        );
        let mut rooms = Rooms::default();
        rooms.join(&room("s"), 1, Some(true)).unwrap();
        assert_eq!(
            rooms.join(&room("s"), 2, Some(true)),
            Ok(Joined {
                polite: false,
                other: Some(1)
            }),
            "the same role: the free one instead"
        );
        let mut rooms = Rooms::default();
        rooms.join(&room("t"), 1, Some(true)).unwrap();
        assert!(
            !rooms.join(&room("t"), 2, None).unwrap().polite,
            "no wish: the free role"
        );
    }
}
