//! Rooms: two peers each, one polite and one impolite, and a room lives only while someone is in it.

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

/// A peer's place in a room after joining it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Joined<P> {
    /// The peer's role in perfect negotiation: the polite peer gives way when both offer at once.
    pub polite: bool,
    /// The peer already there, if any: the call can start.
    pub other: Option<P>,
}

/// Why a peer cannot join a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// Two peers are in it already.
    Full,
    /// This peer is in it already.
    AlreadyInside,
}

#[derive(Debug)]
struct Seat<P> {
    peer: P,
    polite: bool,
}

/// Every room with someone in it, by name. `P` identifies a peer (a connection id, a tab id).
#[derive(Debug)]
pub struct Rooms<P> {
    rooms: HashMap<RoomName, Vec<Seat<P>>>,
}

impl<P> Default for Rooms<P> {
    fn default() -> Self {
        Self {
            rooms: HashMap::new(),
        }
    }
}

impl<P: Copy + Eq> Rooms<P> {
    /// Puts `peer` in `room`. The first peer is impolite; the second takes the other role, so the
    /// two always differ, also when one left and someone new came in.
    pub fn join(&mut self, room: &RoomName, peer: P) -> Result<Joined<P>, JoinError> {
        let seats = self.rooms.entry(room.clone()).or_default();
        if seats.iter().any(|s| s.peer == peer) {
            return Err(JoinError::AlreadyInside);
        }
        if seats.len() >= CAPACITY {
            return Err(JoinError::Full);
        }
        let other = seats.first().map(|s| (s.peer, s.polite));
        let polite = other.is_some_and(|(_, polite)| !polite);
        seats.push(Seat { peer, polite });
        Ok(Joined {
            polite,
            other: other.map(|(peer, _)| peer),
        })
    }

    /// Takes `peer` out of `room`; returns the peer left behind, who must be told. A room whose
    /// last peer leaves is gone.
    pub fn leave(&mut self, room: &RoomName, peer: P) -> Option<P> {
        let seats = self.rooms.get_mut(room)?;
        seats.retain(|s| s.peer != peer);
        let other = seats.first().map(|s| s.peer);
        if seats.is_empty() {
            self.rooms.remove(room);
        }
        other
    }

    /// The other peer in `peer`'s room, if there is one.
    pub fn other(&self, room: &RoomName, peer: P) -> Option<P> {
        let seats = self.rooms.get(room)?;
        if !seats.iter().any(|s| s.peer == peer) {
            return None;
        }
        seats.iter().map(|s| s.peer).find(|p| *p != peer)
    }

    /// How many rooms have someone in them.
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
        let a = rooms.join(&room("r"), 1).unwrap();
        assert_eq!(
            a,
            Joined {
                polite: false,
                other: None
            }
        );
        let b = rooms.join(&room("r"), 2).unwrap();
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
        rooms.join(&room("r"), 1).unwrap();
        rooms.join(&room("r"), 2).unwrap();
        assert_eq!(rooms.join(&room("r"), 3), Err(JoinError::Full));
        assert_eq!(rooms.other(&room("r"), 3), None, "not in the room");
        assert_eq!(rooms.join(&room("r"), 1), Err(JoinError::AlreadyInside));
    }

    #[test]
    fn whoever_comes_next_takes_the_role_that_is_free() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1).unwrap(); // impolite
        rooms.join(&room("r"), 2).unwrap(); // polite
        assert_eq!(rooms.leave(&room("r"), 1), Some(2));
        // Peer 2 stays polite: the newcomer must be impolite.
        let c = rooms.join(&room("r"), 3).unwrap();
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
        rooms.join(&room("r"), 1).unwrap();
        rooms.join(&room("s"), 2).unwrap();
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
        rooms.join(&room("r"), 1).unwrap();
        let other_room = rooms.join(&room("s"), 2).unwrap();
        assert_eq!(other_room.other, None);
        assert_eq!(rooms.other(&room("r"), 1), None);
    }
}
