//! Who else is in a group call and how each call is doing, in plain Rust: the tiles' words, when
//! the call as a whole is reconnecting, and how the upload is split between the calls.

use crate::signaling::by_peer::ByPeer;
use loopback_signal::{PeerId, PeerName};

/// The upload a page splits between its calls unless its person sets another: a mesh page sends
/// one copy of its camera per other person, and 4 Mbit/s is what a modest home uplink (cable or
/// fibre's lowest tiers, good DSL) sustains with room to spare for the rest of the house.
pub const DEFAULT_UPLOAD_KBPS: u32 = 4_000;
/// No call's video is capped below this by the split: under it a camera's picture turns to mush,
/// and the person is told the budget is too small for the room instead.
pub const MIN_SHARE_KBPS: u32 = 150;

/// One other person in the call, as the page shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    pub name: PeerName,
    /// What the page calls them while they have no name ("Person 3", "Tab 2").
    pub unnamed: String,
    /// Their way to the room is lost; their seat is kept meanwhile.
    pub away: bool,
    /// The media's path to them is lost and being restored.
    pub trouble: bool,
    /// The peer connection's `connectionState`.
    pub state: String,
}

/// Everyone else in the call, by the id the room gave them.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    people: ByPeer<Person>,
}

impl Roster {
    pub fn add(&mut self, peer: PeerId, name: PeerName, unnamed: String) {
        self.people.insert(
            peer,
            Person {
                name,
                unnamed,
                state: "new".to_owned(),
                ..Person::default()
            },
        );
    }

    pub fn remove(&mut self, peer: PeerId) -> Option<Person> {
        self.people.remove(peer)
    }

    /// Gives `from`'s entry the id `to` (the same person back under a new id).
    pub fn rename_id(&mut self, from: PeerId, to: PeerId) {
        if let Some(person) = self.people.remove(from) {
            self.people.insert(to, person);
        }
    }

    pub fn get_mut(&mut self, peer: PeerId) -> Option<&mut Person> {
        self.people.get_mut(peer)
    }

    pub fn get(&self, peer: PeerId) -> Option<&Person> {
        self.people.get(peer)
    }

    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.people.ids()
    }

    /// What `peer` is called on the page: their name, else what the room calls them ("Person N"
    /// by the server's number, "Tab N" by the tab's seat).
    pub fn label(&self, peer: PeerId) -> String {
        match self.people.get(peer) {
            Some(p) if !p.name.is_empty() => p.name.to_string(),
            Some(p) if !p.unnamed.is_empty() => p.unnamed.clone(),
            _ => format!("Person {peer}"),
        }
    }

    /// Who said a chat line: in a call of two unnamed people, "Them", as it always was.
    pub fn speaker(&self, peer: PeerId) -> String {
        let unnamed = self.people.get(peer).is_none_or(|p| p.name.is_empty());
        if unnamed && self.people.len() <= 1 {
            "Them".to_owned()
        } else {
            self.label(peer)
        }
    }

    /// A tile's caption: who, and how their call is doing when it is not simply up.
    pub fn caption(&self, peer: PeerId) -> String {
        let Some(person) = self.people.get(peer) else {
            return String::new();
        };
        let who = if person.name.is_empty() && self.people.len() <= 1 {
            "Remote".to_owned()
        } else {
            self.label(peer)
        };
        let how = if person.away || person.trouble {
            Some("reconnecting…")
        } else {
            match person.state.as_str() {
                "connected" => None,
                "new" | "connecting" => Some("connecting…"),
                "disconnected" => Some("reconnecting…"),
                "failed" => Some("no path"),
                _ => None,
            }
        };
        match how {
            Some(how) => format!("{who} · {how}"),
            None => who,
        }
    }

    /// Whether `peer`'s tile carries the "reconnecting" mark.
    pub fn reconnecting(&self, peer: PeerId) -> bool {
        self.people
            .get(peer)
            .is_some_and(|p| p.away || p.trouble || p.state == "disconnected")
    }

    /// Whether the call as a whole is repairing itself, which holds the controls that need the
    /// way to the others: this page's signaling is lost, or every call is. One call of several
    /// in trouble marks its tile only; the others go on.
    pub fn call_reconnecting(&self, signaling_up: bool) -> bool {
        !signaling_up || (!self.is_empty() && self.ids().all(|peer| self.reconnecting(peer)))
    }
}

/// How the upload is split: each of `senders` calls gets an equal share of `budget_kbps`, never
/// more than the person's own cap, nor less than [`MIN_SHARE_KBPS`]. `None`: no cap at all (a
/// call of two with no cap set goes as fast as the browser likes, as it always did).
pub fn share_kbps(budget_kbps: u32, senders: usize, cap: Option<u32>) -> Option<u32> {
    if senders <= 1 {
        return cap;
    }
    let share = (budget_kbps / senders as u32).max(MIN_SHARE_KBPS);
    Some(cap.map_or(share, |cap| cap.min(share)))
}

/// Whether `budget_kbps` is too small for `senders` calls (each would get less than the least
/// share): the page says so.
pub fn budget_too_small(budget_kbps: u32, senders: usize) -> bool {
    senders > 1 && budget_kbps / (senders as u32) < MIN_SHARE_KBPS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> PeerName {
        PeerName::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn a_call_of_two_reads_as_it_always_did() {
        let mut roster = Roster::default();
        roster.add(1, PeerName::default(), "Person 1".into());
        assert_eq!(roster.speaker(1), "Them");
        assert_eq!(roster.caption(1), "Remote · connecting…");
        roster.get_mut(1).unwrap().state = "connected".into();
        assert_eq!(roster.caption(1), "Remote");
    }

    #[test]
    fn in_a_group_people_are_named_or_numbered() {
        let mut roster = Roster::default();
        roster.add(1, name("Ada"), "Person 1".into());
        roster.add(4, PeerName::default(), "Person 4".into());
        assert_eq!(roster.speaker(1), "Ada");
        assert_eq!(roster.speaker(4), "Person 4");
        // Between tabs an unnamed person is known by their tab's seat.
        roster.add(9, PeerName::default(), "Tab 3".into());
        assert_eq!(roster.label(9), "Tab 3");
        roster.remove(9);
        for peer in [1, 4] {
            roster.get_mut(peer).unwrap().state = "connected".into();
        }
        assert_eq!(roster.caption(4), "Person 4");
        roster.get_mut(1).unwrap().away = true;
        assert_eq!(roster.caption(1), "Ada · reconnecting…");
        assert!(roster.reconnecting(1) && !roster.reconnecting(4));
        // A name with markup is text: the caption holds it as typed, and the page sets it as
        // text content.
        roster.add(5, name("<img src=x onerror=alert(1)>"), "Person 5".into());
        assert_eq!(roster.label(5), "<img src=x onerror=alert(1)>");
        roster.rename_id(5, 7);
        assert_eq!(roster.label(7), "<img src=x onerror=alert(1)>");
        assert!(roster.get(5).is_none());
    }

    #[test]
    fn the_call_reconnects_as_a_whole_only_when_every_call_does() {
        let mut roster = Roster::default();
        assert!(!roster.call_reconnecting(true));
        assert!(roster.call_reconnecting(false), "the signaling is lost");
        roster.add(1, PeerName::default(), "Person 1".into());
        roster.add(2, PeerName::default(), "Person 2".into());
        roster.get_mut(1).unwrap().trouble = true;
        assert!(!roster.call_reconnecting(true), "one of two: only its tile");
        roster.get_mut(2).unwrap().state = "disconnected".into();
        assert!(roster.call_reconnecting(true));
        roster.remove(2);
        assert!(roster.call_reconnecting(true), "the one left is in trouble");
    }

    #[test]
    fn the_upload_is_shared_between_the_calls() {
        assert_eq!(share_kbps(4_000, 0, None), None);
        assert_eq!(share_kbps(4_000, 1, None), None, "two people: unchanged");
        assert_eq!(share_kbps(4_000, 1, Some(300)), Some(300));
        assert_eq!(share_kbps(4_000, 2, None), Some(2_000));
        assert_eq!(share_kbps(4_000, 5, None), Some(800));
        assert_eq!(
            share_kbps(4_000, 5, Some(500)),
            Some(500),
            "the person's cap"
        );
        assert_eq!(share_kbps(500, 5, None), Some(MIN_SHARE_KBPS));
        assert!(budget_too_small(500, 5));
        assert!(!budget_too_small(4_000, 5));
        assert!(!budget_too_small(100, 1));
    }
}
