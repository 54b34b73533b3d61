//! Rooms: up to `size` seats, each pair of them one polite and one impolite end, and a room lives
//! only while a seat is in it.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// How many people a room holds unless the server is told otherwise: in a mesh of six pages each
/// sends five copies of its camera, about what a home uplink carries (README, "Group calls").
pub const DEFAULT_SIZE: usize = 6;
/// The most a room may be made to hold: every page sends `size - 1` copies of its media, and past
/// eight a mesh is the wrong tool (a media server forwards one copy instead).
pub const MAX_SIZE: usize = 8;
/// The longest room name: a fresh room link's 128 random bits take 22 characters.
pub const MAX_NAME: usize = 64;

/// A person's id in a room, given by the room in the order people join (from 1), never chosen by
/// a page: what a page says always goes out as from, and to, such an id.
pub type PeerId = u64;

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

/// Someone else in the room, as a newcomer (or a page back from away) learns of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Other<S> {
    pub seat: S,
    pub peer: PeerId,
    /// This seat's role toward that one in perfect negotiation (that one has the other role).
    pub polite: bool,
}

/// A seat's place in a room after joining it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined<S> {
    /// The seat's id in the room, which the others know it by.
    pub peer: PeerId,
    /// Everyone already there, oldest first (their pages may be connected or away): a call starts
    /// with each.
    pub others: Vec<Other<S>>,
}

/// Why a seat cannot be added to a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// The room holds as many seats as it may (a seat whose page is away still counts).
    Full,
    /// This seat is in it already.
    AlreadyInside,
}

#[derive(Debug)]
struct Seat<S> {
    seat: S,
    peer: PeerId,
    /// Of two seats, the one with the higher rank is the polite end. Ranks are distinct within a
    /// room, so the two ends of every pair always have opposite roles, and both read them from the
    /// same two numbers.
    rank: i64,
}

#[derive(Debug)]
struct Room<S> {
    /// Oldest first.
    seats: Vec<Seat<S>>,
    next_peer: PeerId,
    /// Where newcomers go: above everyone (polite toward each: they answer the offers of those
    /// already there, the default) or below (impolite toward each). Set by the first seat's wish,
    /// so that two pages carrying on a call the server forgot get their old roles back in
    /// whichever order they join again.
    newcomers_polite: bool,
}

impl<S: Copy + Eq> Room<S> {
    fn others(&self, seat: S) -> Vec<Other<S>> {
        let Some(me) = self.seats.iter().find(|s| s.seat == seat) else {
            return Vec::new();
        };
        self.seats
            .iter()
            .filter(|s| s.seat != seat)
            .map(|s| Other {
                seat: s.seat,
                peer: s.peer,
                polite: polite(me.rank, s.rank),
            })
            .collect()
    }
}

/// The role of the seat ranked `mine` toward the one ranked `theirs` (ranks are distinct within a
/// room): the higher is the polite end, so both ends read opposite roles from the same two numbers.
/// Rooms in one server's memory and rooms shared through Redis rank seats alike.
pub fn polite(mine: i64, theirs: i64) -> bool {
    mine > theirs
}

/// Every room with a seat in it, by name. `S` identifies a seat: a place in a room that outlives
/// the connection holding it (the server's seat id). Whether a seat's page is connected is not a
/// room rule: a seat is in its room until it goes.
#[derive(Debug)]
pub struct Rooms<S> {
    size: usize,
    rooms: HashMap<RoomName, Room<S>>,
}

impl<S> Default for Rooms<S> {
    fn default() -> Self {
        Self::with_size(DEFAULT_SIZE)
    }
}

impl<S> Rooms<S> {
    /// Rooms of `size` seats, 2 to [`MAX_SIZE`] (a figure outside is brought inside).
    pub fn with_size(size: usize) -> Self {
        Self {
            size: size.clamp(2, MAX_SIZE),
            rooms: HashMap::new(),
        }
    }

    /// How many seats a room holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many rooms have a seat in them.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }
}

impl<S: Copy + Eq> Rooms<S> {
    /// Puts `seat` in `room` with the room's next peer id. The newcomer takes one role toward
    /// everyone already there, so its arrival starts one negotiation per pair, made by the
    /// impolite end. In an empty room it may `wish` for the role it had in a call the server
    /// forgot, which the next newcomers then complement.
    pub fn join(
        &mut self,
        room: &RoomName,
        seat: S,
        wish: Option<bool>,
    ) -> Result<Joined<S>, JoinError> {
        let size = self.size;
        let r = self.rooms.entry(room.clone()).or_insert_with(|| Room {
            seats: Vec::new(),
            next_peer: 1,
            newcomers_polite: true,
        });
        if r.seats.iter().any(|s| s.seat == seat) {
            return Err(JoinError::AlreadyInside);
        }
        if r.seats.len() >= size {
            return Err(JoinError::Full);
        }
        if r.seats.is_empty() {
            // A first seat wishing to be polite toward whoever comes: they come in below it.
            r.newcomers_polite = !wish.unwrap_or(false);
        }
        let ranks = r.seats.iter().map(|s| s.rank);
        let rank = if r.newcomers_polite {
            ranks.max().map_or(0, |top| top + 1)
        } else {
            ranks.min().map_or(0, |bottom| bottom - 1)
        };
        let peer = r.next_peer;
        r.next_peer += 1;
        r.seats.push(Seat { seat, peer, rank });
        Ok(Joined {
            peer,
            others: r.others(seat),
        })
    }

    /// Takes `seat` out of `room`; returns its peer id and the seats left behind, whose pages
    /// must be told. A room whose last seat goes is gone.
    pub fn leave(&mut self, room: &RoomName, seat: S) -> Option<(PeerId, Vec<S>)> {
        let r = self.rooms.get_mut(room)?;
        let at = r.seats.iter().position(|s| s.seat == seat)?;
        let gone = r.seats.remove(at);
        let left: Vec<S> = r.seats.iter().map(|s| s.seat).collect();
        if left.is_empty() {
            self.rooms.remove(room);
        }
        Some((gone.peer, left))
    }

    /// Everyone else in `seat`'s room, oldest first, with `seat`'s role toward each; empty if
    /// `seat` is not in `room`.
    pub fn others(&self, room: &RoomName, seat: S) -> Vec<Other<S>> {
        self.rooms
            .get(room)
            .map(|r| r.others(seat))
            .unwrap_or_default()
    }

    /// `seat`'s peer id in `room`.
    pub fn peer_of(&self, room: &RoomName, seat: S) -> Option<PeerId> {
        let r = self.rooms.get(room)?;
        r.seats.iter().find(|s| s.seat == seat).map(|s| s.peer)
    }

    /// The seat that holds `peer` in `room`.
    pub fn seat_of(&self, room: &RoomName, peer: PeerId) -> Option<S> {
        let r = self.rooms.get(room)?;
        r.seats.iter().find(|s| s.peer == peer).map(|s| s.seat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::try_from(name.to_owned()).unwrap()
    }

    /// `seat`'s role toward `other`, read from `seat`'s side.
    fn polite(rooms: &Rooms<u32>, seat: u32, other: u32) -> bool {
        let others = rooms.others(&room("r"), seat);
        others.iter().find(|o| o.seat == other).unwrap().polite
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
                peer: 1,
                others: vec![]
            }
        );
        let b = rooms.join(&room("r"), 2, None).unwrap();
        assert_eq!(b.peer, 2);
        assert_eq!(
            b.others,
            vec![Other {
                seat: 1,
                peer: 1,
                polite: true
            }],
            "the newcomer answers: polite"
        );
        assert!(!polite(&rooms, 1, 2), "the one already there offers");
        assert_eq!(rooms.len(), 1);
    }

    #[test]
    fn a_room_fills_at_its_size_and_every_pair_has_one_polite_end() {
        let mut rooms = Rooms::with_size(6);
        for seat in 1..=6 {
            let joined = rooms.join(&room("r"), seat, None).unwrap();
            assert_eq!(joined.others.len() as u32, seat - 1);
            assert!(
                joined.others.iter().all(|o| o.polite),
                "a newcomer has one role toward everyone: one negotiation per pair"
            );
        }
        assert_eq!(rooms.join(&room("r"), 7, None), Err(JoinError::Full));
        assert_eq!(
            rooms.join(&room("r"), 1, None),
            Err(JoinError::AlreadyInside)
        );
        for a in 1..=6 {
            for b in (1..=6).filter(|&b| b != a) {
                assert_ne!(polite(&rooms, a, b), polite(&rooms, b, a), "{a} and {b}");
            }
        }
        // One goes: a seventh fits, with a new id.
        assert_eq!(rooms.leave(&room("r"), 3), Some((3, vec![1, 2, 4, 5, 6])));
        assert_eq!(rooms.join(&room("r"), 7, None).unwrap().peer, 7);
        assert_eq!(rooms.seat_of(&room("r"), 7), Some(7));
        assert_eq!(rooms.seat_of(&room("r"), 3), None);
        assert_eq!(rooms.peer_of(&room("r"), 7), Some(7));
    }

    #[test]
    fn sizes_stay_between_two_and_eight() {
        assert_eq!(Rooms::<u32>::with_size(0).size(), 2);
        assert_eq!(Rooms::<u32>::with_size(100).size(), MAX_SIZE);
        let mut rooms = Rooms::with_size(2);
        rooms.join(&room("r"), 1, None).unwrap();
        rooms.join(&room("r"), 2, None).unwrap();
        assert_eq!(rooms.join(&room("r"), 3, None), Err(JoinError::Full));
        assert!(rooms.others(&room("r"), 3).is_empty(), "not in the room");
    }

    #[test]
    fn a_room_is_gone_when_its_last_peer_leaves() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap();
        rooms.join(&room("s"), 2, None).unwrap();
        assert_eq!(rooms.len(), 2);
        assert_eq!(rooms.leave(&room("r"), 1), Some((1, vec![])));
        assert_eq!(rooms.leave(&room("s"), 2), Some((1, vec![])));
        assert!(rooms.is_empty());
        // Leaving twice, or a room that never was, changes nothing.
        assert_eq!(rooms.leave(&room("r"), 1), None);
        assert_eq!(rooms.leave(&room("nowhere"), 9), None);
        assert!(rooms.is_empty());
        // A room made again numbers from 1.
        assert_eq!(rooms.join(&room("r"), 5, None).unwrap().peer, 1);
    }

    #[test]
    fn rooms_are_separate() {
        let mut rooms = Rooms::default();
        rooms.join(&room("r"), 1, None).unwrap();
        let other_room = rooms.join(&room("s"), 2, None).unwrap();
        assert!(other_room.others.is_empty());
        assert!(rooms.others(&room("r"), 1).is_empty());
        assert_eq!(rooms.seat_of(&room("s"), 1), Some(2));
    }

    #[test]
    fn a_role_wish_in_an_empty_room_is_kept_toward_whoever_comes() {
        // Two pages carrying on a call the server forgot join again, in either order.
        for first_polite in [true, false] {
            let mut rooms = Rooms::default();
            rooms.join(&room("r"), 1, Some(first_polite)).unwrap();
            let second = rooms.join(&room("r"), 2, Some(!first_polite)).unwrap();
            assert_eq!(second.others[0].polite, !first_polite);
            assert_eq!(polite(&rooms, 1, 2), first_polite);
            // And anyone after them comes in the same way.
            let third = rooms.join(&room("r"), 3, None).unwrap();
            assert!(third.others.iter().all(|o| o.polite != first_polite));
        }
        // In a room with someone, a wish does not change the rule.
        let mut rooms = Rooms::default();
        rooms.join(&room("s"), 1, Some(true)).unwrap();
        let second = rooms.join(&room("s"), 2, Some(true)).unwrap();
        assert!(!second.others[0].polite, "the role free toward the first");
    }

    /// A little generator, so the simulator needs no dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn simulator_random_joins_leaves_and_rejoins_keep_every_pair_one_polite_end() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let (mut joins, mut fulls, mut biggest) = (0, 0, 0);
        for _ in 0..200 {
            let size = 2 + (next(&mut state) % 7) as usize;
            let mut rooms = Rooms::with_size(size);
            let mut inside: Vec<u32> = Vec::new();
            let mut ids = std::collections::HashSet::new();
            let mut next_seat = 0u32;
            for _ in 0..60 {
                if next(&mut state) % 10 < 6 {
                    // A newcomer, or someone back as a new seat after the server forgot them,
                    // asking for a role.
                    next_seat += 1;
                    let wish = match next(&mut state) % 3 {
                        0 => None,
                        1 => Some(true),
                        _ => Some(false),
                    };
                    match rooms.join(&room("r"), next_seat, wish) {
                        Ok(joined) => {
                            joins += 1;
                            assert!(ids.insert(joined.peer), "ids are not reused in a room");
                            let roles: Vec<bool> = joined.others.iter().map(|o| o.polite).collect();
                            assert!(roles.windows(2).all(|w| w[0] == w[1]));
                            inside.push(next_seat);
                        }
                        Err(JoinError::Full) => {
                            fulls += 1;
                            assert_eq!(inside.len(), size);
                        }
                        Err(JoinError::AlreadyInside) => unreachable!(),
                    }
                } else if !inside.is_empty() {
                    let at = (next(&mut state) as usize) % inside.len();
                    let gone = inside.remove(at);
                    let (_, mut left) = rooms.leave(&room("r"), gone).unwrap();
                    let mut expected = inside.clone();
                    expected.sort_unstable();
                    left.sort_unstable();
                    assert_eq!(left, expected);
                    if inside.is_empty() {
                        ids.clear();
                    }
                }
                biggest = biggest.max(inside.len());
                for &a in &inside {
                    let others = rooms.others(&room("r"), a);
                    assert_eq!(others.len(), inside.len() - 1);
                    for o in others {
                        let back = rooms.others(&room("r"), o.seat);
                        let mine = back.iter().find(|b| b.seat == a).unwrap();
                        assert_ne!(mine.polite, o.polite, "{a} and {} agree", o.seat);
                    }
                }
            }
        }
        assert!(
            joins > 3000 && fulls > 100 && biggest == MAX_SIZE,
            "{joins} joins, {fulls} full, {biggest} at most"
        );
    }
}
