//! Rooms between tabs of one browser, no server: up to `capacity` tabs, each pair its own call.

use crate::message::{PeerName, Signal};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tab's id, drawn at random once per tab by the page. JavaScript numbers are exact only up to
/// [`MAX_TAB_ID`], so ids stay at or below it: [`TabRoom::new`] cuts them to 53 bits, and a
/// message with a larger one comes from no tab of this page and is ignored.
pub type TabId = u64;

/// The largest tab id: 2^53 - 1, JavaScript's `Number.MAX_SAFE_INTEGER`.
pub const MAX_TAB_ID: TabId = (1 << 53) - 1;

/// How long a tab keeps the place of a peer whose page went away (a reload, most often) for it
/// to come back: a reload and a camera reopened take a second or two; a tab closed for good
/// is called gone after this.
pub const TAB_GRACE_MS: u32 = 10_000;

/// The fewest tabs a room holds: one call.
pub const MIN_CAPACITY: usize = 2;

/// The most tabs a room holds: each tab sends its camera once per peer, and past eight a mesh is
/// the wrong tool, as for the server's rooms.
pub const MAX_CAPACITY: usize = 8;

/// How many other tabs one tab keeps track of, in calls and kept away together. A room holds at
/// most [`MAX_CAPACITY`] tabs, plus for a moment the ones leaving as others take their seats and
/// the ones kept after going away; only a hostile page of this origin, posting hellos under made-up
/// ids, reaches this, and it must not make this tab start a call for every one of them.
const MAX_KNOWN: usize = 32;

/// What tabs post on the room's channel, as JSON tagged by `type`. Every tab on the channel hears
/// every message but its own; one addressed `to` another tab is for that tab only.
///
/// Every message names its sender's `visit`: how many times that tab has entered the room, counting
/// the pages before a reload (the page keeps it in its ticket, [`ReturnTicket`]). One page's
/// messages arrive in order, but an old page's last ones may come after its reloaded page's first
/// (they are two senders to the channel), and a tab may leave and enter again before its old
/// messages are heard: the visit tells each message's time apart, so nothing said to or by an
/// earlier visit of a tab ever reaches the call of a later one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TabMessage {
    /// `from` enters the room at `seat`, as a newcomer or back after a reload, called `name` (or
    /// nothing yet): every tab there welcomes it and starts a call with it.
    Hello {
        from: TabId,
        visit: u32,
        seat: u8,
        #[serde(default, skip_serializing_if = "PeerName::is_empty")]
        name: PeerName,
    },
    /// `from`, in the room at `seat`, answers the hello of `to`'s visit `to_visit`: the two are in
    /// a call (`from` started its end on hearing the hello, `to` starts its own on this).
    Welcome {
        from: TabId,
        visit: u32,
        seat: u8,
        #[serde(default, skip_serializing_if = "PeerName::is_empty")]
        name: PeerName,
        to: TabId,
        #[serde(rename = "toVisit")]
        to_visit: u32,
    },
    /// For the call between `from` and `to`, these two visits of theirs.
    Signal {
        from: TabId,
        visit: u32,
        to: TabId,
        #[serde(rename = "toVisit")]
        to_visit: u32,
        signal: Signal,
    },
    /// `from`'s person is called `name` from now on.
    Named {
        from: TabId,
        visit: u32,
        name: PeerName,
    },
    /// `from` left the room (its person hung up): its calls are over.
    Leave { from: TabId, visit: u32 },
    /// `from`'s page is going away (closed, or reloading, which a page cannot tell apart): the
    /// tabs in a call with it keep its place for [`TAB_GRACE_MS`], for it to come back.
    Away { from: TabId, visit: u32 },
}

impl TabMessage {
    /// Who sent it, on which visit.
    fn sender(&self) -> (TabId, u32) {
        match *self {
            TabMessage::Hello { from, visit, .. }
            | TabMessage::Welcome { from, visit, .. }
            | TabMessage::Signal { from, visit, .. }
            | TabMessage::Named { from, visit, .. }
            | TabMessage::Leave { from, visit }
            | TabMessage::Away { from, visit } => (from, visit),
        }
    }

    /// The one visit of one tab it is for, if it is for one.
    fn addressee(&self) -> Option<(TabId, u32)> {
        match *self {
            TabMessage::Welcome { to, to_visit, .. } | TabMessage::Signal { to, to_visit, .. } => {
                Some((to, to_visit))
            }
            TabMessage::Hello { .. }
            | TabMessage::Named { .. }
            | TabMessage::Leave { .. }
            | TabMessage::Away { .. } => None,
        }
    }
}

/// What the page does after a call to a [`TabRoom`], in order. Each call in the room is the one
/// between this tab and `peer`; the others go on whatever happens to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TabAction {
    /// Post this on the room's channel.
    Post(TabMessage),
    /// `peer` is in the room: start a call with it, with this role in perfect negotiation.
    PeerJoined { peer: TabId, polite: bool },
    /// `peer` left (or did not come back in time): end the call with it.
    PeerLeft { peer: TabId },
    /// From `from`'s end of the call with it.
    Signal { from: TabId, signal: Signal },
    /// `peer`'s person is called `name` from now on ([`TabRoom::name_of`] says so too).
    PeerNamed { peer: TabId, name: PeerName },
    /// `peer`'s page went away: its place is kept, and its call waits, until it comes back
    /// ([`TabAction::PeerReturned`]) or the grace runs out ([`TabAction::PeerLeft`]).
    PeerAway { peer: TabId },
    /// `peer`'s page came back as a new page: its old call is gone with the old page, so end it
    /// and start a new one, with the same role as before.
    PeerReturned { peer: TabId, polite: bool },
    /// Call [`TabRoom::wake`] with `wait` after `after_ms`, unless the tab is dropped first.
    /// Several may be pending at once (one per peer kept away); a wake for a wait that has ended
    /// since does nothing.
    WakeUp { after_ms: u32, wait: u32 },
}

/// Why a signal cannot be sent: that tab is not in a call with this one (not in the room, not
/// yet heard from, or its page went away and its call with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoPeer;

impl fmt::Display for NoPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("That tab is not in a call with this one.")
    }
}

/// What a page going away leaves for the page that reloads it (in the tab's `sessionStorage`,
/// which survives the reload), to come back as the same tab: same id, so the same role in each
/// call, and a later visit, so that nothing meant for the old page reaches the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnTicket {
    /// The tab's id: the new page makes its room with it ([`TabRoom::new`]).
    pub me: TabId,
    /// The old page's visit.
    pub visit: u32,
    /// The seat the old page held: the new page asks for that one first.
    pub seat: u8,
}

/// Where this tab stands with another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// In a call.
    Call,
    /// Its page went away: its place is kept until the wake-up `wait`.
    Kept { wait: u32 },
}

/// Another tab this one is in a call with, or keeps the place of.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Other {
    id: TabId,
    /// Its visit this tab knows of: its messages from earlier visits are stale.
    visit: u32,
    seat: u8,
    /// What its person is called; empty until they say.
    name: PeerName,
    link: Link,
}

/// One tab's place in a room shared with up to `capacity - 1` other tabs over a
/// `BroadcastChannel`: a pure state machine whose methods return what the page must do.
///
/// **Admission is the page's.** Before [`join`](Self::join) the page takes a seat: the Web Lock
/// `seat k` of the room for the first `k` in `0..capacity` that `navigator.locks.request(name,
/// {ifAvailable: true}, …)` grants, held until the tab leaves or its page goes; a page that gets
/// none tells its person the room is full and never joins. The browser grants each lock name to
/// one page of the origin at a time, so no more than `capacity` tabs are ever in the room, and a
/// seat freed is free at once. The machine trusts the seat it is given. No exact rule could be
/// drawn from messages alone: a `BroadcastChannel` has no list of who listens and no bound on how
/// late a message comes, so a tab can never know it has heard from everyone present, and two
/// tabs entering at once would each count the same free place. A lock is the one arbiter the
/// tabs share.
///
/// **Membership.** A tab entering says hello (with its seat); every tab in the room starts a call
/// with it at once and answers with a welcome addressed to it, on which the newcomer starts its
/// end. So a newcomer learns everyone present from their welcomes, including tabs that came
/// before its channel was open. Two tabs entering at once each hear the other's hello: each starts
/// on the hello it hears and ignores the welcome that follows, so each pair still has one call,
/// started once on each side. A tab hears every hello posted after it entered and before it
/// left, and one of two tabs in the room together entered after the other had (its hello came
/// later), so once the messages are heard every two tabs in the room are in a call with each
/// other, a full mesh.
///
/// **Roles** for perfect negotiation come from the ids alone: in each pair the tab with the
/// smaller id is impolite (it makes the first offer) and the other polite. Both ends agree without
/// asking, whoever came first, and a reloaded tab, having its old id, has its old role in every
/// pair. Messages from a tab with this tab's own id (a 1 in 2^53 chance) are ignored, so two such
/// tabs never pair.
///
/// **Leaving and coming back.** A tab that hangs up says so ([`TabMessage::Leave`]), and each
/// peer ends its call with it. A page going away ([`go_away`](Self::go_away), on `pagehide`) says
/// [`TabMessage::Away`] and leaves a [`ReturnTicket`]; its peers keep its place for
/// [`TAB_GRACE_MS`], and its reloaded page, after taking a seat again, enters with
/// [`rejoin`](Self::rejoin): a hello from a later visit of the same tab. Each peer that kept it
/// (or still had it in a call, if the goodbye was lost) starts a new call with it with the same
/// role ([`TabAction::PeerReturned`]); a tab that never knew it, or forgot it after the grace,
/// takes it as a newcomer. A page that vanished without a word is reported by the page
/// ([`gone`](Self::gone), from the Web Lock each tab holds under its id) and is kept the same way.
/// A place kept is a call waiting, not a seat: the old page's seat lock goes with the old page,
/// and a newcomer asking in the moment before the new page asks again (for the same seat first)
/// may take it; the reloaded page, finding every seat taken, is then told the room is full, and
/// its peers give its place up after the grace.
///
/// This relies on what a `BroadcastChannel` guarantees, one page's messages heard in the order it
/// posted them, and on nothing across pages, whose messages the visits sort out; and, for
/// [`gone`](Self::gone), on the order in which the browser grants a tab's lock (see there).
#[derive(Clone, Debug)]
pub struct TabRoom {
    me: TabId,
    capacity: usize,
    /// The seat this tab holds in the room; `None` out of it.
    seat: Option<u8>,
    /// This tab's latest visit: its current one while in the room.
    visit: u32,
    /// What this tab's person is called, told to every tab in the room.
    name: PeerName,
    /// The tabs in a call with this one, or kept away, in the order they came.
    others: Vec<Other>,
    /// The last wake-up asked for: each wait has its own number, and a wake for one that has
    /// ended is stale.
    waits: u32,
}

impl TabRoom {
    /// A tab with the id `random` cut to 53 bits, not in the room yet, for a room of `capacity`
    /// tabs (kept between [`MIN_CAPACITY`] and [`MAX_CAPACITY`]). Every tab of a room must be
    /// given the same capacity.
    pub fn new(random: u64, capacity: usize) -> Self {
        TabRoom {
            me: random & MAX_TAB_ID,
            capacity: capacity.clamp(MIN_CAPACITY, MAX_CAPACITY),
            seat: None,
            visit: 0,
            name: PeerName::default(),
            others: Vec::new(),
            waits: 0,
        }
    }

    pub fn me(&self) -> TabId {
        self.me
    }

    /// How many tabs the room holds: its seats are `0..capacity`.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The seat this tab holds, while in the room.
    pub fn seat(&self) -> Option<u8> {
        self.seat
    }

    pub fn is_joined(&self) -> bool {
        self.seat.is_some()
    }

    /// The tabs in a call with this one, in the order they came.
    pub fn peers(&self) -> Vec<TabId> {
        self.ids(|link| link == Link::Call)
    }

    /// The tabs whose page went away and whose place this one keeps for them.
    pub fn away(&self) -> Vec<TabId> {
        self.ids(|link| link != Link::Call)
    }

    /// The seat of a tab in a call with this one or kept away, to lay out its video in the same
    /// place on every tab.
    pub fn seat_of(&self, tab: TabId) -> Option<u8> {
        self.others
            .iter()
            .find(|other| other.id == tab)
            .map(|other| other.seat)
    }

    /// What the person of `tab` said they are called: empty if they have not, or if this tab
    /// does not know `tab`.
    pub fn name_of(&self, tab: TabId) -> PeerName {
        self.others
            .iter()
            .find(|other| other.id == tab)
            .map(|other| other.name.clone())
            .unwrap_or_default()
    }

    /// This tab's person is called `name`: said in its hello, and at once to the tabs in the
    /// room if it is in one.
    pub fn rename(&mut self, name: PeerName) -> Vec<TabAction> {
        if name == self.name {
            return Vec::new();
        }
        self.name = name;
        if !self.is_joined() {
            return Vec::new();
        }
        vec![TabAction::Post(TabMessage::Named {
            from: self.me,
            visit: self.visit,
            name: self.name.clone(),
        })]
    }

    /// Enters the room at `seat`, which the page has taken (see [`TabRoom`]): says hello, and
    /// every tab there will start a call with this one. Nothing if already in the room, or if
    /// the room has no such seat (the page asked for a lock it should not have).
    pub fn join(&mut self, seat: u8) -> Vec<TabAction> {
        if self.is_joined() || usize::from(seat) >= self.capacity {
            return Vec::new();
        }
        self.visit = self.visit.wrapping_add(1);
        self.seat = Some(seat);
        vec![TabAction::Post(TabMessage::Hello {
            from: self.me,
            visit: self.visit,
            seat,
            name: self.name.clone(),
        })]
    }

    /// Enters the room at `seat` as the tab that left `ticket` on going away (this is its
    /// reloaded page, made with the ticket's id): the hello of a later visit, which each tab that
    /// kept its place takes as its return. A ticket of another tab is ignored: a plain join.
    ///
    /// A page that gets no seat for its return, or whose person hangs up before it entered,
    /// drops this room with the ticket: a later Call is a newcomer's, with a fresh id. (A plain
    /// [`join`](Self::join) under the old id would repeat the old page's visit, which the tabs
    /// keeping it would take for the old page.)
    pub fn rejoin(&mut self, seat: u8, ticket: ReturnTicket) -> Vec<TabAction> {
        if !self.is_joined() && ticket.me == self.me {
            self.visit = self.visit.max(ticket.visit);
        }
        self.join(seat)
    }

    /// The page is going away, perhaps to come back ([`rejoin`](Self::rejoin)): the tabs in a call
    /// with this one are asked to keep its place. Returns, with the actions, the ticket for the
    /// page that comes back; a tab alone in the room just leaves it, and gets none.
    pub fn go_away(&mut self) -> (Vec<TabAction>, Option<ReturnTicket>) {
        let Some(seat) = self.seat else {
            return (Vec::new(), None);
        };
        if self.others.is_empty() {
            return (self.leave(), None);
        }
        let ticket = ReturnTicket {
            me: self.me,
            visit: self.visit,
            seat,
        };
        let away = TabMessage::Away {
            from: self.me,
            visit: self.visit,
        };
        self.out();
        (vec![TabAction::Post(away)], Some(ticket))
    }

    /// The page of `tab` is gone (the browser granted this page the Web Lock that `tab`'s page
    /// held under its id), whether or not its goodbye came: if it was in a call with this one,
    /// as if it had said it was going away (it may be reloading).
    ///
    /// The page must call this before handing over any message posted after the lock was
    /// granted: the browser then gives the lock to the reloaded page, which posts nothing before
    /// it holds it, so a return is never taken for the old page going.
    pub fn gone(&mut self, tab: TabId) -> Vec<TabAction> {
        match self.others.iter().position(|other| other.id == tab) {
            Some(i) if self.others[i].link == Link::Call => self.keep(i),
            _ => Vec::new(),
        }
    }

    /// The time of the wake-up `wait` has come: the tab whose place was kept until then did not
    /// come back, and is gone.
    pub fn wake(&mut self, wait: u32) -> Vec<TabAction> {
        let kept = Link::Kept { wait };
        match self.others.iter().position(|other| other.link == kept) {
            Some(i) => {
                let other = self.others.remove(i);
                vec![TabAction::PeerLeft { peer: other.id }]
            }
            None => Vec::new(),
        }
    }

    /// Leaves the room, telling the others, and ignores everything until [`join`](Self::join).
    /// The page ends its calls itself, and lets go of its seat.
    pub fn leave(&mut self) -> Vec<TabAction> {
        if !self.is_joined() {
            return Vec::new();
        }
        let leave = TabMessage::Leave {
            from: self.me,
            visit: self.visit,
        };
        self.out();
        vec![TabAction::Post(leave)]
    }

    /// The message that carries `signal` to `to`, for the call between the two.
    /// Nothing goes to a tab whose page went away: its call went with it.
    pub fn send(&self, to: TabId, signal: Signal) -> Result<TabMessage, NoPeer> {
        match self.others.iter().find(|other| other.id == to) {
            Some(other) if other.link == Link::Call => Ok(TabMessage::Signal {
                from: self.me,
                visit: self.visit,
                to,
                to_visit: other.visit,
                signal,
            }),
            _ => Err(NoPeer),
        }
    }

    /// Hears a message posted by another page on the room's channel.
    pub fn receive(&mut self, message: TabMessage) -> Vec<TabAction> {
        let (from, visit) = message.sender();
        let for_someone_else = message
            .addressee()
            .is_some_and(|to| to != (self.me, self.visit));
        if !self.is_joined() || from == self.me || from > MAX_TAB_ID || for_someone_else {
            return Vec::new();
        }
        match message {
            TabMessage::Hello { seat, name, .. } => self.announced(from, visit, seat, name, true),
            TabMessage::Welcome { seat, name, .. } => {
                self.announced(from, visit, seat, name, false)
            }
            TabMessage::Named { name, .. } => match self.current(from, visit) {
                Some(i) if self.others[i].name != name => {
                    self.others[i].name = name.clone();
                    vec![TabAction::PeerNamed { peer: from, name }]
                }
                _ => Vec::new(),
            },
            TabMessage::Signal { signal, .. } => match self.current(from, visit) {
                Some(i) if self.others[i].link == Link::Call => {
                    vec![TabAction::Signal { from, signal }]
                }
                _ => Vec::new(),
            },
            TabMessage::Leave { .. } => match self.current(from, visit) {
                Some(i) => {
                    self.others.remove(i);
                    vec![TabAction::PeerLeft { peer: from }]
                }
                None => Vec::new(),
            },
            TabMessage::Away { .. } => match self.current(from, visit) {
                Some(i) if self.others[i].link == Link::Call => self.keep(i),
                _ => Vec::new(),
            },
        }
    }

    /// `from` says it is in the room on `visit`, called `name`, by its hello (to be answered) or
    /// its welcome.
    fn announced(
        &mut self,
        from: TabId,
        visit: u32,
        seat: u8,
        name: PeerName,
        hello: bool,
    ) -> Vec<TabAction> {
        if usize::from(seat) >= self.capacity {
            return Vec::new();
        }
        let polite = self.me > from;
        let fresh = Other {
            id: from,
            visit,
            seat,
            name,
            link: Link::Call,
        };
        let mut actions = Vec::new();
        let started = match self.others.iter_mut().find(|other| other.id == from) {
            // Heard before (its welcome after its hello crossed ours), or from an older page.
            Some(other) if visit <= other.visit => return actions,
            // A later visit of a tab this one knows: its page was reloaded, and whatever call
            // there was went with the old page. (A welcome can say so first: this tab heard a
            // late message of the old page after forgetting it, and the new page answered its
            // hello.)
            Some(other) => {
                *other = fresh;
                TabAction::PeerReturned { peer: from, polite }
            }
            None => {
                if self.others.len() >= MAX_KNOWN {
                    match self.forget_longest_kept() {
                        Some(left) => actions.push(left),
                        None => return actions,
                    }
                }
                self.others.push(fresh);
                TabAction::PeerJoined { peer: from, polite }
            }
        };
        // The welcome goes first, so that it reaches the newcomer before any signal of the call.
        if hello {
            actions.push(TabAction::Post(TabMessage::Welcome {
                from: self.me,
                visit: self.visit,
                seat: self.seat.unwrap_or_default(),
                name: self.name.clone(),
                to: from,
                to_visit: visit,
            }));
        }
        actions.push(started);
        actions
    }

    /// Where `from` is among the others if `visit` is the one this tab knows: anything from
    /// another visit is stale.
    fn current(&self, from: TabId, visit: u32) -> Option<usize> {
        self.others
            .iter()
            .position(|other| other.id == from && other.visit == visit)
    }

    /// Keeps the place of the tab at `i`, in a call until now, for its page to come back.
    fn keep(&mut self, i: usize) -> Vec<TabAction> {
        let wait = self.next_wait();
        let Some(other) = self.others.get_mut(i) else {
            return Vec::new();
        };
        other.link = Link::Kept { wait };
        vec![
            TabAction::PeerAway { peer: other.id },
            TabAction::WakeUp {
                after_ms: TAB_GRACE_MS,
                wait,
            },
        ]
    }

    /// Makes room among the others by giving up the place kept longest, if any is kept.
    fn forget_longest_kept(&mut self) -> Option<TabAction> {
        let i = self
            .others
            .iter()
            .enumerate()
            .filter_map(|(i, other)| match other.link {
                Link::Kept { wait } => Some((wait, i)),
                Link::Call => None,
            })
            .min()
            .map(|(_, i)| i)?;
        let other = self.others.remove(i);
        Some(TabAction::PeerLeft { peer: other.id })
    }

    fn ids(&self, which: impl Fn(Link) -> bool) -> Vec<TabId> {
        self.others
            .iter()
            .filter(|other| which(other.link))
            .map(|other| other.id)
            .collect()
    }

    fn out(&mut self) {
        self.seat = None;
        self.others.clear();
    }

    /// A new wake-up's number; each wait is told apart by its own.
    fn next_wait(&mut self) -> u32 {
        self.waits = self.waits.wrapping_add(1);
        self.waits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SdpType;
    use serde_json::json;
    use std::collections::{BTreeMap, BTreeSet, VecDeque};

    const A: TabId = 10;
    const B: TabId = 20;
    const C: TabId = 30;
    const D: TabId = 40;
    /// The capacity the page gives its rooms.
    const SIX: usize = 6;

    fn post(message: TabMessage) -> TabAction {
        TabAction::Post(message)
    }

    fn hello(from: TabId, visit: u32, seat: u8) -> TabMessage {
        TabMessage::Hello {
            from,
            visit,
            seat,
            name: PeerName::default(),
        }
    }

    fn welcome(from: TabId, visit: u32, seat: u8, to: TabId, to_visit: u32) -> TabMessage {
        TabMessage::Welcome {
            from,
            visit,
            seat,
            name: PeerName::default(),
            to,
            to_visit,
        }
    }

    fn signal(from: TabId, visit: u32, to: TabId, to_visit: u32) -> TabMessage {
        TabMessage::Signal {
            from,
            visit,
            to,
            to_visit,
            signal: offer(),
        }
    }

    fn offer() -> Signal {
        Signal::Description {
            sdp_type: SdpType::Offer,
            sdp: "v=0\r\n".into(),
        }
    }

    fn joined_at(me: TabId, seat: u8) -> TabRoom {
        let mut tab = TabRoom::new(me, SIX);
        tab.join(seat);
        tab
    }

    /// A tab at seat 0 in a call with each of `peers` (on their first visit, at seats 1, 2, …),
    /// as after hearing their hellos.
    fn in_call(me: TabId, peers: &[TabId]) -> TabRoom {
        let mut tab = joined_at(me, 0);
        for (seat, &peer) in (1..).zip(peers) {
            tab.receive(hello(peer, 1, seat));
        }
        assert_eq!(tab.peers(), peers);
        tab
    }

    /// The wake-up that actions ask for.
    fn wake_of(actions: &[TabAction]) -> u32 {
        actions
            .iter()
            .find_map(|a| match a {
                TabAction::WakeUp { wait, .. } => Some(*wait),
                _ => None,
            })
            .expect("a wake-up")
    }

    #[test]
    fn the_wire_format_is_json_tagged_by_type_with_ids_as_numbers() {
        let examples = [
            (
                hello(A, 1, 0),
                json!({"type": "hello", "from": 10, "visit": 1, "seat": 0}),
            ),
            (
                welcome(A, 1, 0, B, 2),
                json!({"type": "welcome", "from": 10, "visit": 1, "seat": 0,
                    "to": 20, "toVisit": 2}),
            ),
            (
                signal(A, 1, B, 2),
                json!({"type": "signal", "from": 10, "visit": 1, "to": 20, "toVisit": 2,
                    "signal": {"kind": "description", "type": "offer", "sdp": "v=0\r\n"}}),
            ),
            (
                TabMessage::Leave { from: A, visit: 3 },
                json!({"type": "leave", "from": 10, "visit": 3}),
            ),
            (
                TabMessage::Away { from: A, visit: 3 },
                json!({"type": "away", "from": 10, "visit": 3}),
            ),
            (
                hello(MAX_TAB_ID, u32::MAX, 7),
                json!({"type": "hello", "from": 9_007_199_254_740_991u64,
                    "visit": 4_294_967_295u32, "seat": 7}),
            ),
        ];
        for (message, value) in examples {
            assert_eq!(serde_json::to_value(&message).unwrap(), value);
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<TabMessage>(&text).unwrap(), message);
        }
        assert_eq!(
            serde_json::to_string(&hello(A, 1, 2)).unwrap(),
            r#"{"type":"hello","from":10,"visit":1,"seat":2}"#
        );

        // The ticket a page keeps for its reload.
        let ticket = ReturnTicket {
            me: A,
            visit: 2,
            seat: 5,
        };
        let value = json!({"me": 10, "visit": 2, "seat": 5});
        assert_eq!(serde_json::to_value(ticket).unwrap(), value);
        assert_eq!(
            serde_json::from_value::<ReturnTicket>(value).unwrap(),
            ticket
        );
        assert!(serde_json::from_value::<ReturnTicket>(
            json!({"me": 10, "visit": 2, "seat": 5, "peer": 20})
        )
        .is_err());
    }

    fn named(name: &str) -> PeerName {
        PeerName::try_from(name.to_owned()).unwrap()
    }

    #[test]
    fn names_travel_in_hellos_and_welcomes_and_on_their_own() {
        // The wire: a name where there is one, nothing where there is none.
        let hello_named = TabMessage::Hello {
            from: A,
            visit: 1,
            seat: 0,
            name: named("Ada <b>"),
        };
        let value = json!({"type": "hello", "from": 10, "visit": 1, "seat": 0, "name": "Ada <b>"});
        assert_eq!(serde_json::to_value(&hello_named).unwrap(), value);
        assert_eq!(
            serde_json::from_value::<TabMessage>(value).unwrap(),
            hello_named
        );
        let rename = TabMessage::Named {
            from: A,
            visit: 1,
            name: named("Bo"),
        };
        let value = json!({"type": "named", "from": 10, "visit": 1, "name": "Bo"});
        assert_eq!(serde_json::to_value(&rename).unwrap(), value);
        assert_eq!(serde_json::from_value::<TabMessage>(value).unwrap(), rename);
        for bad in [
            json!({"type": "named", "from": 10, "visit": 1, "name": "x".repeat(33)}),
            json!({"type": "named", "from": 10, "visit": 1, "name": "a\u{7}b"}),
            json!({"type": "named", "from": 10, "visit": 1}),
            json!({"type": "hello", "from": 10, "visit": 1, "seat": 0, "name": 5}),
        ] {
            assert!(
                serde_json::from_value::<TabMessage>(bad.clone()).is_err(),
                "{bad}"
            );
        }

        // A tab named before it joins says so in its hello; the one there answers with its own.
        let mut a = TabRoom::new(A, SIX);
        assert_eq!(
            a.rename(named("Ada")),
            vec![],
            "out of the room: nobody to tell"
        );
        let hello = a.join(0);
        assert!(
            matches!(&hello[..], [TabAction::Post(TabMessage::Hello { name, .. })] if name.as_str() == "Ada")
        );
        let mut b = TabRoom::new(B, SIX);
        b.rename(named("Bo"));
        b.join(1);
        let TabAction::Post(message) = hello[0].clone() else {
            unreachable!()
        };
        let answer = b.receive(message);
        assert_eq!(b.name_of(A).as_str(), "Ada");
        let welcome = answer
            .into_iter()
            .find_map(|action| match action {
                TabAction::Post(message @ TabMessage::Welcome { .. }) => Some(message),
                _ => None,
            })
            .expect("a welcome");
        a.receive(welcome);
        assert_eq!(a.name_of(B).as_str(), "Bo");

        // A new name during the call goes to the room, once.
        let renamed = b.rename(named("Bo B."));
        assert_eq!(
            b.rename(named("Bo B.")),
            vec![],
            "the same name again says nothing"
        );
        let TabAction::Post(message) = renamed[0].clone() else {
            unreachable!()
        };
        assert_eq!(
            a.receive(message.clone()),
            vec![TabAction::PeerNamed {
                peer: B,
                name: named("Bo B.")
            }]
        );
        assert_eq!(a.name_of(B).as_str(), "Bo B.");
        assert_eq!(a.receive(message), vec![], "heard again: nothing new");
        // A name from an earlier visit of the tab, or from a tab not in the room, is not taken.
        for stale in [
            TabMessage::Named {
                from: B,
                visit: 0,
                name: named("old page"),
            },
            TabMessage::Named {
                from: C,
                visit: 1,
                name: named("stranger"),
            },
        ] {
            assert_eq!(a.receive(stale), vec![]);
        }
        assert_eq!(a.name_of(B).as_str(), "Bo B.");
        assert!(a.name_of(C).is_empty());
    }

    #[test]
    fn malformed_messages_are_refused() {
        for bad in [
            // Today's messages of two tabs: a page of the old kind is not heard.
            json!({"type": "hello", "from": 10}),
            json!({"type": "welcome", "from": 10, "to": 20}),
            json!({"type": "full", "from": 10, "to": 20}),
            json!({"type": "back", "from": 10, "to": 20}),
            json!({"type": "away", "from": 10, "to": 20}),
            json!({"type": "hello", "from": "10", "visit": 1, "seat": 0}),
            json!({"type": "hello", "from": -1, "visit": 1, "seat": 0}),
            json!({"type": "hello", "from": 1.5, "visit": 1, "seat": 0}),
            json!({"type": "hello", "from": 10, "visit": -1, "seat": 0}),
            json!({"type": "hello", "from": 10, "visit": 4_294_967_296u64, "seat": 0}),
            json!({"type": "hello", "from": 10, "visit": 1, "seat": 256}),
            json!({"type": "hello", "from": 10, "visit": 1}),
            json!({"type": "hello", "from": 10, "visit": 1, "seat": 0, "to": 20}),
            json!({"type": "welcome", "from": 10, "visit": 1, "seat": 0, "to": 20}),
            json!({"type": "welcome", "from": 10, "visit": 1, "seat": 0, "to": 20, "to_visit": 1}),
            json!({"type": "signal", "from": 10, "visit": 1, "to": 20, "toVisit": 1}),
            json!({"type": "signal", "from": 10, "visit": 1, "to": 20, "toVisit": 1,
                "signal": {"kind": "nonsense"}}),
            json!({"type": "leave", "from": 10}),
            json!({"type": "leave", "from": 10, "visit": 1, "reason": "bye"}),
            json!({"type": "join", "from": 10, "visit": 1}),
            json!({"from": 10, "visit": 1}),
            json!("hello"),
            json!(null),
        ] {
            assert!(
                serde_json::from_value::<TabMessage>(bad.clone()).is_err(),
                "accepted {bad}"
            );
        }
    }

    #[test]
    fn ids_beyond_javascript_numbers_are_cut_or_ignored_and_so_is_this_tabs_own() {
        assert_eq!(TabRoom::new(u64::MAX, SIX).me(), MAX_TAB_ID);
        assert_eq!(TabRoom::new(MAX_TAB_ID + 1 + A, SIX).me(), A);
        let mut tab = joined_at(A, 0);
        let too_big = MAX_TAB_ID + 1;
        for message in [
            hello(too_big, 1, 1),
            welcome(too_big, 1, 1, A, 1),
            welcome(B, 1, 1, A + (1 << 53), 1),
            TabMessage::Leave {
                from: u64::MAX,
                visit: 1,
            },
            // Its own id, from another tab: the two cannot tell each other apart.
            hello(A, 1, 1),
            hello(A, 2, 1),
            welcome(A, 1, 1, A, 1),
        ] {
            assert_eq!(tab.receive(message.clone()), vec![], "{message:?}");
        }
        assert!(tab.is_joined());
        assert_eq!(tab.peers(), Vec::<TabId>::new());
    }

    #[test]
    fn a_room_holds_two_to_eight_tabs_and_a_seat_beyond_it_is_refused() {
        assert_eq!(TabRoom::new(A, 0).capacity(), MIN_CAPACITY);
        assert_eq!(TabRoom::new(A, 1).capacity(), 2);
        assert_eq!(TabRoom::new(A, 6).capacity(), 6);
        assert_eq!(TabRoom::new(A, 9).capacity(), MAX_CAPACITY);
        assert_eq!(TabRoom::new(A, usize::MAX).capacity(), 8);

        // The page asked for a lock it should not have: the tab stays out.
        let mut tab = TabRoom::new(A, SIX);
        assert_eq!(tab.join(6), vec![]);
        assert_eq!(tab.join(u8::MAX), vec![]);
        assert!(!tab.is_joined());
        assert_eq!(tab.join(5), vec![post(hello(A, 1, 5))]);
        assert_eq!(tab.seat(), Some(5));

        // A tab claiming a seat this room has not (a page made for another capacity) is not heard.
        assert_eq!(tab.receive(hello(B, 1, 6)), vec![]);
        assert_eq!(tab.receive(welcome(B, 1, 6, A, 1)), vec![]);
        assert_eq!(tab.peers(), Vec::<TabId>::new());

        // Two tabs on one seat (a page without Web Locks): the machine trusts what it is told.
        assert_eq!(tab.receive(hello(B, 1, 5)).len(), 2);
        assert_eq!(tab.seat_of(B), Some(5));
    }

    #[test]
    fn a_tab_alone_says_hello_and_has_nobody_to_signal() {
        let mut tab = TabRoom::new(A, SIX);
        assert!(!tab.is_joined());
        assert_eq!(tab.seat(), None);
        assert_eq!(tab.send(B, offer()), Err(NoPeer));
        assert_eq!(tab.join(0), vec![post(hello(A, 1, 0))]);
        assert!(tab.is_joined());
        assert_eq!(tab.join(0), vec![], "joining twice changes nothing");
        assert_eq!(tab.join(1), vec![]);
        assert_eq!(tab.seat(), Some(0));
        assert_eq!(tab.peers(), Vec::<TabId>::new());
        assert_eq!(tab.send(B, offer()), Err(NoPeer));
        assert_eq!(
            NoPeer.to_string(),
            "That tab is not in a call with this one."
        );
    }

    #[test]
    fn the_tabs_present_welcome_a_newcomer_and_each_pair_starts_one_call() {
        let mut a = joined_at(A, 0);
        let mut b = TabRoom::new(B, SIX);
        assert_eq!(b.join(1), vec![post(hello(B, 1, 1))]);
        assert_eq!(
            a.receive(hello(B, 1, 1)),
            vec![
                post(welcome(A, 1, 0, B, 1)),
                TabAction::PeerJoined {
                    peer: B,
                    polite: false
                }
            ],
            "the welcome goes first, before any signal of the call"
        );
        assert_eq!(a.peers(), [B]);
        assert_eq!(a.seat_of(B), Some(1));
        assert_eq!(
            b.receive(welcome(A, 1, 0, B, 1)),
            vec![TabAction::PeerJoined {
                peer: A,
                polite: true
            }]
        );
        assert_eq!(b.peers(), [A]);
        assert_eq!(b.seat_of(A), Some(0));

        // A third: both answer, and it learns both from their welcomes.
        let mut c = joined_at(C, 2);
        for tab in [&mut a, &mut b] {
            let actions = tab.receive(hello(C, 1, 2));
            let me = tab.me();
            assert_eq!(
                actions,
                vec![
                    post(welcome(me, 1, tab.seat().unwrap(), C, 1)),
                    TabAction::PeerJoined {
                        peer: C,
                        polite: false
                    }
                ]
            );
        }
        assert_eq!(
            c.receive(welcome(B, 1, 1, C, 1)),
            vec![TabAction::PeerJoined {
                peer: B,
                polite: true
            }]
        );
        assert_eq!(
            c.receive(welcome(A, 1, 0, C, 1)),
            vec![TabAction::PeerJoined {
                peer: A,
                polite: true
            }]
        );
        assert_eq!(c.peers(), [B, A], "in the order they answered");
        assert_eq!(a.peers(), [B, C]);

        // Signals pass within each pair, each to the visit it knows.
        assert_eq!(b.send(A, offer()), Ok(signal(B, 1, A, 1)));
        assert_eq!(
            a.receive(b.send(A, offer()).unwrap()),
            vec![TabAction::Signal {
                from: B,
                signal: offer()
            }]
        );
        assert_eq!(c.send(D, offer()), Err(NoPeer));
    }

    #[test]
    fn roles_come_from_the_ids_the_smaller_one_impolite_whoever_came_first() {
        for order in [[A, B, C, D], [D, C, B, A], [B, D, A, C]] {
            let mut browser = Browser::with_ids(&order, SIX);
            for tab in 0..4 {
                browser.call(tab);
                browser.settle_in_order();
            }
            assert_eq!(browser.check(), 4);
            for p in 0..4 {
                let me = browser.id(p);
                for (&peer, call) in &browser.pages[p].calls {
                    assert_eq!(call.polite, me > peer, "{me} with {peer}");
                }
            }
        }
    }

    #[test]
    fn two_tabs_entering_at_once_start_one_call_each() {
        // Each hears the other's hello before the other's welcome.
        let mut a = joined_at(A, 0);
        let mut b = joined_at(B, 1);
        assert_eq!(
            a.receive(hello(B, 1, 1)),
            vec![
                post(welcome(A, 1, 0, B, 1)),
                TabAction::PeerJoined {
                    peer: B,
                    polite: false
                }
            ]
        );
        assert_eq!(
            b.receive(hello(A, 1, 0)),
            vec![
                post(welcome(B, 1, 1, A, 1)),
                TabAction::PeerJoined {
                    peer: A,
                    polite: true
                }
            ]
        );
        assert_eq!(a.receive(welcome(B, 1, 1, A, 1)), vec![]);
        assert_eq!(b.receive(welcome(A, 1, 0, B, 1)), vec![]);
        assert_eq!((a.peers(), b.peers()), (vec![B], vec![A]));
    }

    #[test]
    fn tabs_entering_at_once_start_exactly_one_call_per_pair() {
        let mut crossings = 0;
        for mut rng in seeds(1000) {
            let n = 2 + rng.below(SIX - 1);
            let mut browser = Browser::new(rng, SIX, n);
            for tab in 0..n {
                browser.call(tab);
            }
            browser.settle();
            assert_eq!(browser.check(), n);
            for p in 0..n {
                assert_eq!(browser.pages[p].starts.len(), n - 1);
                for (&peer, &starts) in &browser.pages[p].starts {
                    assert_eq!(starts, 1, "{} started {starts} calls with {peer}", p);
                }
            }
            crossings += browser.counts.crossings;
        }
        assert!(crossings > 1000, "only {crossings} crossing hellos");
    }

    #[test]
    fn a_welcome_or_a_signal_for_another_visit_is_ignored() {
        // A welcome to this tab's visit before it left and came back.
        let mut a = joined_at(A, 0);
        a.leave();
        assert_eq!(a.join(0), vec![post(hello(A, 2, 0))]);
        assert_eq!(a.receive(welcome(B, 1, 1, A, 1)), vec![]);
        assert_eq!(a.receive(signal(B, 1, A, 1)), vec![]);
        assert_eq!(a.peers(), Vec::<TabId>::new());
        assert_eq!(a.receive(welcome(B, 1, 1, A, 3)), vec![], "nor a later one");
        assert_eq!(a.receive(welcome(B, 1, 1, A, 2)).len(), 1);

        // A signal from a visit of the peer other than the one in the call, or to another visit
        // of this tab, is not for this call.
        let mut a = in_call(A, &[B]);
        assert_eq!(a.receive(signal(B, 2, A, 1)), vec![]);
        assert_eq!(a.receive(signal(B, 0, A, 1)), vec![]);
        assert_eq!(a.receive(signal(B, 1, A, 2)), vec![]);
        assert_eq!(a.receive(signal(C, 1, A, 1)), vec![], "from a stranger");
        assert_eq!(
            a.receive(signal(B, 1, A, 1)),
            vec![TabAction::Signal {
                from: B,
                signal: offer()
            }]
        );
    }

    #[test]
    fn messages_for_other_tabs_are_ignored() {
        let mut a = in_call(A, &[B]);
        for message in [
            welcome(B, 1, 1, C, 1),
            welcome(C, 1, 2, B, 1),
            signal(B, 1, C, 1),
            signal(C, 1, B, 1),
            TabMessage::Leave { from: C, visit: 1 },
            TabMessage::Away { from: C, visit: 1 },
        ] {
            assert_eq!(a.receive(message.clone()), vec![], "{message:?}");
        }
        assert_eq!(a.peers(), [B]);
        assert_eq!(a.gone(C), vec![]);
    }

    #[test]
    fn a_peer_leaving_ends_only_its_call() {
        let mut a = in_call(A, &[B, C, D]);
        assert_eq!(
            a.receive(TabMessage::Leave { from: B, visit: 2 }),
            vec![],
            "not the visit in the call"
        );
        assert_eq!(
            a.receive(TabMessage::Leave { from: C, visit: 1 }),
            vec![TabAction::PeerLeft { peer: C }]
        );
        assert_eq!(a.peers(), [B, D]);
        assert_eq!(a.send(C, offer()), Err(NoPeer));
        assert_eq!(a.receive(TabMessage::Leave { from: C, visit: 1 }), vec![]);
        assert_eq!(a.seat_of(C), None);
        // It may come back: a newcomer again.
        assert_eq!(
            a.receive(hello(C, 2, 4))[1],
            TabAction::PeerJoined {
                peer: C,
                polite: false
            }
        );
    }

    #[test]
    fn a_tab_that_left_ignores_everything_and_comes_back_on_a_new_visit() {
        let mut a = in_call(A, &[B, C]);
        assert_eq!(
            a.leave(),
            vec![post(TabMessage::Leave { from: A, visit: 1 })]
        );
        assert!(!a.is_joined());
        assert_eq!(a.seat(), None);
        assert_eq!(a.peers(), Vec::<TabId>::new());
        assert_eq!(a.send(B, offer()), Err(NoPeer));
        for message in [
            hello(D, 1, 3),
            welcome(B, 1, 1, A, 1),
            signal(B, 1, A, 1),
            TabMessage::Leave { from: B, visit: 1 },
            TabMessage::Away { from: C, visit: 1 },
        ] {
            assert_eq!(a.receive(message.clone()), vec![], "{message:?}");
        }
        assert_eq!(a.gone(B), vec![]);
        assert_eq!(a.leave(), vec![], "leaving twice says nothing");
        assert_eq!(a.go_away(), (vec![], None));
        assert_eq!(a.join(3), vec![post(hello(A, 2, 3))]);
    }

    #[test]
    fn a_page_going_away_is_kept_its_place_until_the_grace_runs_out() {
        let mut a = in_call(A, &[B, C]);
        let actions = a.receive(TabMessage::Away { from: B, visit: 1 });
        let wait = wake_of(&actions);
        assert_eq!(
            actions,
            vec![
                TabAction::PeerAway { peer: B },
                TabAction::WakeUp {
                    after_ms: TAB_GRACE_MS,
                    wait
                }
            ]
        );
        assert_eq!(a.peers(), [C]);
        assert_eq!(a.away(), [B]);
        assert_eq!(a.seat_of(B), Some(1), "its place is kept");
        assert_eq!(a.send(B, offer()), Err(NoPeer), "no call to signal");
        // Its messages are not for a call any more; told twice, nothing new.
        assert_eq!(a.receive(signal(B, 1, A, 1)), vec![]);
        assert_eq!(a.receive(TabMessage::Away { from: B, visit: 1 }), vec![]);
        assert_eq!(a.gone(B), vec![]);
        assert_eq!(a.receive(hello(B, 1, 1)), vec![], "an old hello");
        // A second one going: a wait of its own.
        let other = wake_of(&a.gone(C));
        assert_ne!(other, wait);
        assert_eq!(a.away(), [B, C]);

        assert_eq!(a.wake(wait.wrapping_sub(1)), vec![], "a stale wake-up");
        assert_eq!(a.wake(wait), vec![TabAction::PeerLeft { peer: B }]);
        assert_eq!(a.wake(wait), vec![], "woken twice");
        assert_eq!(a.away(), [C]);
        assert_eq!(a.wake(other), vec![TabAction::PeerLeft { peer: C }]);
        assert!(a.is_joined());

        // Back after the grace: a newcomer, in a new call (not a return).
        assert_eq!(
            a.receive(hello(B, 2, 1)),
            vec![
                post(welcome(A, 1, 0, B, 2)),
                TabAction::PeerJoined {
                    peer: B,
                    polite: false
                }
            ]
        );

        // Leaving for good while its place is kept: gone at once.
        let mut a = in_call(A, &[B]);
        a.receive(TabMessage::Away { from: B, visit: 1 });
        assert_eq!(
            a.receive(TabMessage::Leave { from: B, visit: 1 }),
            vec![TabAction::PeerLeft { peer: B }]
        );
        assert_eq!(a.away(), Vec::<TabId>::new());
    }

    #[test]
    fn a_reloaded_tab_returns_to_every_peer_that_kept_it_with_its_roles() {
        // B (impolite with C, polite with A) reloads.
        let mut b = in_call(B, &[A, C]);
        let (actions, ticket) = b.go_away();
        assert_eq!(actions, vec![post(TabMessage::Away { from: B, visit: 1 })]);
        assert_eq!(
            ticket,
            Some(ReturnTicket {
                me: B,
                visit: 1,
                seat: 0
            })
        );
        assert!(!b.is_joined());
        let ticket = ticket.unwrap();

        let mut a = in_call(A, &[B]);
        let mut c = in_call(C, &[B]);
        a.receive(TabMessage::Away { from: B, visit: 1 });
        // C's goodbye was lost: C still has B in a call, and the old call went with the page.
        let mut b = TabRoom::new(ticket.me, SIX);
        assert_eq!(b.rejoin(4, ticket), vec![post(hello(B, 2, 4))]);
        assert_eq!(
            a.receive(hello(B, 2, 4)),
            vec![
                post(welcome(A, 1, 0, B, 2)),
                TabAction::PeerReturned {
                    peer: B,
                    polite: false
                }
            ]
        );
        assert_eq!(
            c.receive(hello(B, 2, 4)),
            vec![
                post(welcome(C, 1, 0, B, 2)),
                TabAction::PeerReturned {
                    peer: B,
                    polite: true
                }
            ]
        );
        assert_eq!((a.peers(), a.away()), (vec![B], vec![]));
        assert_eq!(a.seat_of(B), Some(4), "at its new seat");
        // To the new page every call is new, with the roles the old page had.
        assert_eq!(
            b.receive(welcome(A, 1, 0, B, 2)),
            vec![TabAction::PeerJoined {
                peer: A,
                polite: true
            }]
        );
        assert_eq!(
            b.receive(welcome(C, 1, 0, B, 2)),
            vec![TabAction::PeerJoined {
                peer: C,
                polite: false
            }]
        );
        // Signals go to the new page's visit.
        assert_eq!(a.send(B, offer()), Ok(signal(A, 1, B, 2)));

        // A ticket of another tab, or rejoining while in the room: a plain join.
        let mut d = TabRoom::new(D, SIX);
        assert_eq!(d.rejoin(1, ticket), vec![post(hello(D, 1, 1))]);
        assert_eq!(d.rejoin(2, ticket), vec![]);
        // The ticket of an old page whose tab has since entered more often counts from the later.
        let mut b = TabRoom::new(B, SIX);
        b.join(0);
        b.leave();
        b.join(0);
        b.leave();
        assert_eq!(b.rejoin(0, ticket), vec![post(hello(B, 3, 0))]);
    }

    #[test]
    fn a_tab_alone_going_away_just_leaves() {
        let mut a = joined_at(A, 2);
        assert_eq!(
            a.go_away(),
            (vec![post(TabMessage::Leave { from: A, visit: 1 })], None)
        );
        assert!(!a.is_joined());
        // One whose every peer is away is in a call still, waiting: its reload comes back.
        let mut a = in_call(A, &[B]);
        a.gone(B);
        let (actions, ticket) = a.go_away();
        assert_eq!(actions, vec![post(TabMessage::Away { from: A, visit: 1 })]);
        assert!(ticket.is_some());
    }

    #[test]
    fn a_page_gone_without_a_word_is_kept_like_one_that_said_so() {
        let mut a = in_call(A, &[B, C]);
        assert_eq!(a.gone(D), vec![]);
        let actions = a.gone(B);
        assert_eq!(actions[0], TabAction::PeerAway { peer: B });
        assert_eq!(a.peers(), [C]);
        assert_eq!(a.away(), [B]);
        assert_eq!(a.gone(B), vec![], "told twice");
        assert_eq!(
            a.wake(wake_of(&actions)),
            vec![TabAction::PeerLeft { peer: B }]
        );
        assert_eq!(a.peers(), [C]);
    }

    #[test]
    fn late_messages_of_an_old_page_change_nothing() {
        // B's old page's last words come after its reloaded page's hello (two senders).
        let mut a = in_call(A, &[B]);
        a.receive(hello(B, 2, 1));
        assert_eq!(a.peers(), [B]);
        for message in [
            TabMessage::Away { from: B, visit: 1 },
            TabMessage::Leave { from: B, visit: 1 },
            signal(B, 1, A, 1),
            hello(B, 1, 1),
            welcome(B, 1, 1, A, 1),
        ] {
            assert_eq!(a.receive(message.clone()), vec![], "{message:?}");
        }
        assert_eq!(a.peers(), [B]);
        assert_eq!(
            a.receive(signal(B, 2, A, 1)),
            vec![TabAction::Signal {
                from: B,
                signal: offer()
            }]
        );
    }

    #[test]
    fn a_welcome_from_a_later_visit_of_a_tab_in_a_call_starts_the_call_again() {
        // A forgot B after the grace, then heard the old page's late hello (and took it for a
        // newcomer); B's new page, hearing A's hello, welcomes it from its later visit.
        let mut a = joined_at(A, 0);
        a.receive(hello(B, 1, 1));
        assert_eq!(
            a.receive(welcome(B, 2, 3, A, 1)),
            vec![TabAction::PeerReturned {
                peer: B,
                polite: false
            }]
        );
        assert_eq!(a.send(B, offer()), Ok(signal(A, 1, B, 2)));
        assert_eq!(a.seat_of(B), Some(3));
        assert_eq!(a.receive(welcome(B, 2, 3, A, 1)), vec![], "heard again");
    }

    #[test]
    fn a_flood_of_strangers_never_starts_more_than_a_bounded_number_of_calls() {
        let mut a = joined_at(A, 0);
        let mut started = 0;
        for id in 100..1100 {
            started += a
                .receive(hello(id, 1, 1))
                .iter()
                .filter(|action| matches!(action, TabAction::PeerJoined { .. }))
                .count();
        }
        assert_eq!(started, MAX_KNOWN);
        assert_eq!(a.peers().len(), MAX_KNOWN);
        // A place kept is given up, the longest kept first, to make room for a newcomer.
        a.gone(100);
        a.gone(101);
        assert_eq!(
            a.receive(hello(5000, 1, 1)),
            vec![
                TabAction::PeerLeft { peer: 100 },
                post(welcome(A, 1, 0, 5000, 1)),
                TabAction::PeerJoined {
                    peer: 5000,
                    polite: false
                }
            ]
        );
        assert_eq!(a.away(), [101]);
    }

    #[test]
    fn hostile_messages_never_panic_nor_break_the_bounds() {
        for mut rng in seeds(200) {
            let mut tab = TabRoom::new(rng.next(), 2 + rng.below(7));
            let seat = rng.below(tab.capacity()) as u8;
            tab.join(seat);
            let ids = [tab.me(), A, B, C, MAX_TAB_ID, MAX_TAB_ID + 1, rng.next()];
            for _ in 0..300 {
                let id = |rng: &mut Rng| ids[rng.below(ids.len())];
                let visit = |rng: &mut Rng| [0, 1, 2, u32::MAX][rng.below(4)];
                let seat = |rng: &mut Rng| rng.below(10) as u8;
                let message = match rng.below(6) {
                    0 => hello(id(&mut rng), visit(&mut rng), seat(&mut rng)),
                    1 => welcome(
                        id(&mut rng),
                        visit(&mut rng),
                        seat(&mut rng),
                        id(&mut rng),
                        visit(&mut rng),
                    ),
                    2 => signal(id(&mut rng), visit(&mut rng), id(&mut rng), visit(&mut rng)),
                    3 => TabMessage::Leave {
                        from: id(&mut rng),
                        visit: visit(&mut rng),
                    },
                    4 => TabMessage::Away {
                        from: id(&mut rng),
                        visit: visit(&mut rng),
                    },
                    _ => {
                        let other = id(&mut rng);
                        tab.gone(other);
                        tab.wake(rng.below(8) as u32);
                        continue;
                    }
                };
                tab.receive(message);
                assert!(tab.peers().len() + tab.away().len() <= MAX_KNOWN);
                assert!(!tab.peers().contains(&tab.me()));
                assert!(tab.peers().iter().all(|&peer| peer <= MAX_TAB_ID));
            }
        }
    }

    #[test]
    fn heard_twice_in_any_order_nothing_starts_twice() {
        for backwards in [false, true] {
            let mut browser = Browser::with_ids(&[A, B, C, D], SIX);
            for tab in 0..4 {
                browser.call(tab);
            }
            browser.settle_in_order();
            assert_eq!(browser.check(), 4);
            for p in 0..4 {
                let mut heard = browser.pages[p].heard.clone();
                if backwards {
                    heard.reverse();
                }
                for message in heard {
                    let actions = browser.pages[p].room.receive(message);
                    browser.carry_out(p, actions, false);
                }
            }
            browser.settle_in_order();
            assert_eq!(browser.check(), 4);
            for p in 0..4 {
                assert!(browser.pages[p].starts.values().all(|&n| n == 1));
            }
        }
    }

    #[test]
    fn seats_admit_exactly_capacity_and_a_seat_freed_is_taken_again() {
        for mut rng in seeds(300) {
            let mut browser = Browser::new(rng.clone(), SIX, 8);
            let mut order: Vec<usize> = (0..8).collect();
            for i in (1..8).rev() {
                order.swap(i, rng.below(i + 1));
            }
            for &tab in &order {
                browser.call(tab);
            }
            browser.settle();
            assert_eq!(browser.check(), SIX);
            assert_eq!(
                browser.counts.full, 2,
                "the last two to ask are told the room is full"
            );
            let out: Vec<usize> = (0..8)
                .filter(|&tab| !browser.pages[tab].room.is_joined())
                .collect();
            let mut last_two = [order[6], order[7]];
            last_two.sort();
            assert_eq!(out, last_two);
            // One hangs up; one who was told the room is full calls again and is let in.
            browser.hang_up(order[rng.below(6)]);
            browser.call(out[0]);
            browser.call(out[1]);
            browser.settle();
            assert_eq!(browser.check(), SIX);
            assert_eq!(browser.counts.full, 3);
        }
    }

    #[test]
    fn every_capacity_from_two_to_eight_fills_to_a_full_mesh() {
        for capacity in MIN_CAPACITY..=MAX_CAPACITY {
            for rng in seeds(50) {
                let mut browser = Browser::new(rng, capacity, MAX_CAPACITY + 1);
                for tab in 0..=MAX_CAPACITY {
                    browser.call(tab);
                }
                browser.settle();
                assert_eq!(browser.check(), capacity);
                assert_eq!(browser.counts.full, MAX_CAPACITY + 1 - capacity);
            }
        }
    }

    #[test]
    fn a_reload_in_a_full_room_returns_to_every_peer_with_its_roles() {
        let mut returns = 0;
        for mut rng in seeds(500) {
            let mut browser = Browser::new(rng.clone(), SIX, SIX + 1);
            for tab in 0..SIX {
                browser.call(tab);
            }
            browser.settle();
            assert_eq!(browser.check(), SIX);
            let tab = rng.below(SIX);
            let old = browser.tabs[tab].unwrap();
            let me = browser.id(old);
            let roles: BTreeMap<TabId, bool> = browser.pages[old]
                .calls
                .iter()
                .map(|(&peer, call)| (peer, call.polite))
                .collect();
            browser.reload(tab, false);
            // A seventh tab asks meanwhile: the seat is taken again at once by the reloaded page.
            browser.call(SIX);
            browser.settle();
            assert_eq!(browser.check(), SIX);
            assert!(!browser.pages[browser.tabs[SIX].unwrap()].room.is_joined());
            let new = browser.tabs[tab].unwrap();
            assert_eq!(browser.id(new), me);
            let again: BTreeMap<TabId, bool> = browser.pages[new]
                .calls
                .iter()
                .map(|(&peer, call)| (peer, call.polite))
                .collect();
            assert_eq!(again, roles, "the same role with each peer");
            returns += browser.counts.returns;
            // Every peer started one new call with it, and kept the others.
            for p in (0..SIX).filter(|&p| p != tab) {
                let page = &browser.pages[browser.tabs[p].unwrap()];
                for (&peer, &starts) in &page.starts {
                    assert_eq!(starts, if peer == me { 2 } else { 1 });
                }
            }
        }
        assert!(returns >= 500 * (SIX - 1) * 9 / 10, "{returns} returns");
    }

    #[test]
    fn a_reloaded_page_whose_seat_was_taken_meanwhile_is_told_the_room_is_full() {
        let mut browser = Browser::with_ids(&[A, B, C], 2);
        browser.call(0);
        browser.call(1);
        browser.settle_in_order();
        assert_eq!(browser.check(), 2);
        // B's page goes; before its new page asks for a seat, C takes it.
        browser.reload(1, true);
        browser.call(2);
        browser.settle_in_order();
        assert_eq!(browser.counts.full, 1);
        let b = browser.tabs[1].unwrap();
        assert!(!browser.pages[b].room.is_joined());
        // A kept B's place, then started a call with C; after the grace, B is gone.
        let a = browser.tabs[0].unwrap();
        assert_eq!(browser.pages[a].room.peers(), [C]);
        assert_eq!(browser.pages[a].room.away(), [B]);
        browser.settle_all();
        browser.check();
        assert_eq!(browser.pages[a].room.away(), Vec::<TabId>::new());
    }

    #[test]
    fn any_comings_and_goings_keep_a_full_mesh() {
        let mut most = 0;
        for mut rng in seeds(1000) {
            let n = 2 + rng.below(MAX_CAPACITY - 1);
            let mut browser = Browser::new(rng.clone(), SIX, n);
            for _ in 0..100 {
                let tab = rng.below(n);
                match rng.below(10) {
                    0 | 1 => browser.call(tab),
                    2 if rng.below(3) == 0 => browser.hang_up(tab),
                    3 => browser.send_any(tab),
                    _ => browser.step(),
                }
            }
            browser.settle();
            browser.check();
            most = most.max(browser.counts.most_in_room);
        }
        assert_eq!(most, SIX, "the room never filled");
    }

    #[test]
    fn reloads_closes_and_crashes_at_any_moment_keep_the_room_consistent() {
        let mut counts = Counts::default();
        for mut rng in seeds(1500) {
            let n = 2 + rng.below(MAX_CAPACITY - 1);
            let mut browser = Browser::new(rng.clone(), SIX, n);
            for _ in 0..150 {
                let tab = rng.below(n);
                match rng.below(20) {
                    0..=2 => browser.call(tab),
                    3 if rng.below(3) == 0 => browser.hang_up(tab),
                    4 | 5 => {
                        let later = rng.below(3) == 0;
                        browser.reload(tab, later);
                    }
                    6 if rng.below(3) == 0 => browser.close(tab),
                    7 if rng.below(3) == 0 => browser.crash(tab),
                    8 => {
                        let which = rng.below(8);
                        browser.wake(tab, which);
                    }
                    9 => browser.send_any(tab),
                    _ => browser.step(),
                }
            }
            browser.settle();
            browser.check();
            browser.settle_all();
            browser.check();
            counts.add(&browser.counts);
        }
        println!("{counts:?}");
        let Counts {
            joined,
            returns,
            crossings,
            stale,
            gone,
            lost,
            expired,
            full,
            most_in_room,
            restarts,
            reloads,
        } = counts;
        assert!(joined > 10_000, "{joined} calls started");
        assert!(reloads > 10_000, "{reloads} reloads");
        assert!(returns > 1_000, "only {returns} returns");
        assert!(crossings > 500, "only {crossings} crossing hellos");
        assert!(stale > 500, "only {stale} stale messages");
        assert!(gone > 500, "only {gone} pages found gone by their lock");
        assert!(lost > 500, "only {lost} goodbyes lost");
        assert!(expired > 500, "only {expired} graces run out");
        assert!(full > 100, "only {full} tabs told the room is full");
        assert!(restarts > 0, "no call started again on a later welcome");
        assert_eq!(most_in_room, SIX);
    }

    /// What happened in a simulated browser, to check that a test reaches what it means to.
    #[derive(Clone, Debug, Default)]
    struct Counts {
        /// Calls started ([`TabAction::PeerJoined`]).
        joined: usize,
        returns: usize,
        /// Welcomes heard from a tab already in a call with this one: their hellos crossed.
        crossings: usize,
        /// Messages for or from a visit other than the current one.
        stale: usize,
        /// Peers found gone by their presence lock (and kept).
        gone: usize,
        /// Goodbyes lost on the way, as a closing tab's often are.
        lost: usize,
        /// Places kept until the grace ran out.
        expired: usize,
        /// Tabs that found no free seat.
        full: usize,
        most_in_room: usize,
        /// Calls started again on a welcome from a later visit of the peer.
        restarts: usize,
        reloads: usize,
    }

    impl Counts {
        fn add(&mut self, other: &Counts) {
            self.joined += other.joined;
            self.returns += other.returns;
            self.crossings += other.crossings;
            self.stale += other.stale;
            self.gone += other.gone;
            self.lost += other.lost;
            self.expired += other.expired;
            self.full += other.full;
            self.most_in_room = self.most_in_room.max(other.most_in_room);
            self.restarts += other.restarts;
            self.reloads += other.reloads;
        }
    }

    /// One of a page's calls, as the page keeps it from the room's actions.
    #[derive(Clone, Debug)]
    struct Call {
        /// Unique in the browser: the signals of this call say it.
        id: u64,
        polite: bool,
        /// The peer's page went away; the call waits.
        away: bool,
        /// The calls at the other end whose signals this one heard: one at most.
        heard_from: BTreeSet<u64>,
    }

    /// One page of a browser tab: a reload makes a new one in the same tab.
    struct Page {
        room: TabRoom,
        alive: bool,
        /// The seat lock it holds, from Call to HangUp or the page's end.
        seat: Option<u8>,
        /// Waits for its presence lock to enter the room, with the ticket of the page it reloads.
        entering: Option<Option<ReturnTicket>>,
        /// A reloaded page that has not asked for a seat yet.
        returning: Option<ReturnTicket>,
        calls: BTreeMap<TabId, Call>,
        /// How many calls it started with each peer.
        starts: BTreeMap<TabId, usize>,
        wakes: Vec<u32>,
        heard: Vec<TabMessage>,
    }

    /// A holder of, or a request for, a tab's presence lock (Web Locks, one queue per name).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Lock {
        /// The tab's page, holding it while in the room.
        Page(usize),
        /// Another page watching it: granted means the pages before are gone.
        Watch(usize),
    }

    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// `to` hears the next message of `from`.
        Deliver { to: usize, from: usize },
        /// The watch of `watcher` on `tab`'s lock is granted.
        Gone { watcher: usize, tab: TabId },
        /// The page's presence lock is granted: it enters.
        Enter(usize),
        /// A reloaded page asks for a seat.
        Return(usize),
    }

    /// A browser with tabs of one room, as the page drives a [`TabRoom`]: the room's
    /// `BroadcastChannel` (each page's messages reach the others in order, whose is heard next is
    /// the test's choice, and a page's last messages may be lost), the seat locks, each tab's
    /// presence lock and the watches on it, and timers.
    struct Browser {
        rng: Rng,
        capacity: usize,
        /// Every page ever, dead ones too.
        pages: Vec<Page>,
        /// The page each tab shows; `None` once closed.
        tabs: Vec<Option<usize>>,
        /// `queues[(to, from)]`: what page `from` posted that page `to` has not heard yet.
        queues: BTreeMap<(usize, usize), VecDeque<TabMessage>>,
        /// `seats[k]`: the page holding the lock `seat k`.
        seats: Vec<Option<usize>>,
        /// Each tab id's presence lock: its holder first, then the requests in order.
        locks: BTreeMap<TabId, VecDeque<Lock>>,
        ids: BTreeSet<TabId>,
        calls: u64,
        counts: Counts,
    }

    impl Browser {
        fn new(mut rng: Rng, capacity: usize, tabs: usize) -> Self {
            let ids = rng.ids(tabs);
            Self::with(rng, &ids, capacity)
        }

        fn with_ids(ids: &[TabId], capacity: usize) -> Self {
            Self::with(Rng(0x2545_F491_4F6C_DD1D), ids, capacity)
        }

        fn with(rng: Rng, ids: &[TabId], capacity: usize) -> Self {
            let mut browser = Browser {
                rng,
                capacity,
                pages: Vec::new(),
                tabs: Vec::new(),
                queues: BTreeMap::new(),
                seats: vec![None; capacity],
                locks: BTreeMap::new(),
                ids: BTreeSet::new(),
                calls: 0,
                counts: Counts::default(),
            };
            for &id in ids {
                let page = browser.new_page(id);
                browser.tabs.push(Some(page));
            }
            browser
        }

        fn new_page(&mut self, id: TabId) -> usize {
            self.ids.insert(id);
            self.pages.push(Page {
                room: TabRoom::new(id, self.capacity),
                alive: true,
                seat: None,
                entering: None,
                returning: None,
                calls: BTreeMap::new(),
                starts: BTreeMap::new(),
                wakes: Vec::new(),
                heard: Vec::new(),
            });
            self.pages.len() - 1
        }

        /// An id no page has had.
        fn fresh_id(&mut self) -> TabId {
            loop {
                let id = self.rng.next() & MAX_TAB_ID;
                if !self.ids.contains(&id) {
                    return id;
                }
            }
        }

        fn id(&self, page: usize) -> TabId {
            self.pages[page].room.me()
        }

        /// The live page of `tab`, opening a new one in a closed tab.
        fn page(&mut self, tab: usize) -> usize {
            match self.tabs[tab] {
                Some(page) if self.pages[page].alive => page,
                _ => {
                    let id = self.fresh_id();
                    let page = self.new_page(id);
                    self.tabs[tab] = Some(page);
                    page
                }
            }
        }

        /// The person clicks Call: the page takes a seat, or says the room is full; with a seat,
        /// it asks for its presence lock, and enters once it holds it.
        fn call(&mut self, tab: usize) {
            let page = self.page(tab);
            let p = &self.pages[page];
            if p.seat.is_some() || p.returning.is_some() {
                return;
            }
            if self.take_seat(page, None) {
                self.ask_presence(page, None);
            } else {
                self.counts.full += 1;
            }
        }

        /// `navigator.locks.request("seat k", {ifAvailable: true})` for the seat wished for,
        /// then for each seat in turn.
        fn take_seat(&mut self, page: usize, wish: Option<u8>) -> bool {
            let seats = wish.into_iter().chain(0..self.capacity as u8);
            for seat in seats {
                let Some(holder) = self.seats.get_mut(usize::from(seat)) else {
                    continue;
                };
                if holder.is_none() {
                    *holder = Some(page);
                    self.pages[page].seat = Some(seat);
                    return true;
                }
            }
            false
        }

        fn ask_presence(&mut self, page: usize, ticket: Option<ReturnTicket>) {
            let id = self.id(page);
            self.locks
                .entry(id)
                .or_default()
                .push_back(Lock::Page(page));
            self.pages[page].entering = Some(ticket);
        }

        fn enter(&mut self, page: usize) {
            let Some(ticket) = self.pages[page].entering.take() else {
                return;
            };
            let seat = self.pages[page].seat.expect("a seat before the presence");
            let room = &mut self.pages[page].room;
            let actions = match ticket {
                Some(ticket) => room.rejoin(seat, ticket),
                None => room.join(seat),
            };
            self.carry_out(page, actions, false);
            let in_room = self.pages.iter().filter(|p| p.alive && p.room.is_joined());
            let in_room = in_room.count();
            self.counts.most_in_room = self.counts.most_in_room.max(in_room);
        }

        /// The person hangs up: the page leaves, ends its calls and lets go of its locks.
        fn hang_up(&mut self, tab: usize) {
            let page = self.page(tab);
            let actions = self.pages[page].room.leave();
            self.carry_out(page, actions, false);
            let returning = matches!(self.pages[page].entering, Some(Some(_)))
                || self.pages[page].returning.take().is_some();
            self.release(page);
            self.pages[page].calls.clear();
            self.sync_watches(page);
            if returning {
                // A return given up before it entered: the ticket is forgotten, and the page's
                // next Call is a newcomer's, under an id of its own (see `TabRoom::rejoin`).
                self.fresh_room(page);
            }
            // Otherwise the room is used again, with the same id on a later visit: the page makes
            // a new one with a fresh id, but the machine must cope with either.
        }

        fn fresh_room(&mut self, page: usize) {
            let id = self.fresh_id();
            self.ids.insert(id);
            self.pages[page].room = TabRoom::new(id, self.capacity);
        }

        fn release(&mut self, page: usize) {
            if let Some(seat) = self.pages[page].seat.take() {
                self.seats[usize::from(seat)] = None;
            }
            self.pages[page].entering = None;
            let id = self.id(page);
            if let Some(queue) = self.locks.get_mut(&id) {
                queue.retain(|&lock| lock != Lock::Page(page));
            }
        }

        /// The page goes (`pagehide`): its goodbye may be lost on the way.
        fn go(&mut self, page: usize) -> Option<ReturnTicket> {
            let (actions, ticket) = self.pages[page].room.go_away();
            self.carry_out(page, actions, true);
            self.kill(page);
            ticket
        }

        /// The page reloads: a new page in the tab, with the old tab's id if it left a ticket,
        /// which asks for its old seat (at once, or `later`, so others may take it meanwhile).
        fn reload(&mut self, tab: usize, later: bool) {
            let old = self.page(tab);
            self.counts.reloads += 1;
            let ticket = self.go(old);
            let id = match ticket {
                Some(ticket) => ticket.me,
                None => self.fresh_id(),
            };
            let page = self.new_page(id);
            self.tabs[tab] = Some(page);
            self.pages[page].returning = ticket;
            if !later {
                self.come_back(page);
            }
        }

        fn come_back(&mut self, page: usize) {
            let Some(ticket) = self.pages[page].returning.take() else {
                return;
            };
            if self.take_seat(page, Some(ticket.seat)) {
                self.ask_presence(page, Some(ticket));
            } else {
                // As the page does: no seat, no return; its person's next Call is a newcomer's,
                // under an id of its own.
                self.counts.full += 1;
                self.fresh_room(page);
            }
        }

        fn close(&mut self, tab: usize) {
            let page = self.page(tab);
            self.go(page);
            self.tabs[tab] = None;
        }

        /// The page dies without a word or a ticket; the tab shows a new page, out of the room.
        fn crash(&mut self, tab: usize) {
            let page = self.page(tab);
            self.kill(page);
        }

        fn kill(&mut self, page: usize) {
            self.release(page);
            let dead = &mut self.pages[page];
            dead.alive = false;
            dead.returning = None;
            dead.wakes.clear();
            dead.calls.clear();
            for queue in self.locks.values_mut() {
                queue.retain(|&lock| lock != Lock::Watch(page));
            }
            // What was on its way to it is lost with it; what it posted is still on its way.
            self.queues.retain(|&(to, _), _| to != page);
        }

        /// Does what the page does with the room's actions, checking each against its calls.
        fn carry_out(&mut self, page: usize, actions: Vec<TabAction>, lossy: bool) {
            let me = self.id(page);
            for action in actions {
                match action {
                    TabAction::Post(message) => {
                        for to in 0..self.pages.len() {
                            if to == page || !self.pages[to].alive {
                                continue;
                            }
                            if lossy && self.rng.below(3) == 0 {
                                self.counts.lost += 1;
                                continue;
                            }
                            let queue = self.queues.entry((to, page)).or_default();
                            queue.push_back(message.clone());
                        }
                    }
                    TabAction::PeerJoined { peer, polite } => {
                        assert_eq!(polite, me > peer, "{me}'s role with {peer}");
                        let call = self.new_call(polite);
                        let calls = &mut self.pages[page].calls;
                        assert!(
                            calls.insert(peer, call).is_none(),
                            "{me} started a second call with {peer}"
                        );
                        *self.pages[page].starts.entry(peer).or_default() += 1;
                        self.counts.joined += 1;
                    }
                    TabAction::PeerReturned { peer, polite } => {
                        assert_eq!(polite, me > peer, "{me}'s role with {peer}, back");
                        let call = self.new_call(polite);
                        let calls = &mut self.pages[page].calls;
                        let old = calls.insert(peer, call);
                        assert!(old.is_some(), "{me}: {peer} came back to no call");
                        *self.pages[page].starts.entry(peer).or_default() += 1;
                        self.counts.returns += 1;
                    }
                    TabAction::PeerLeft { peer } => {
                        let calls = &mut self.pages[page].calls;
                        assert!(calls.remove(&peer).is_some(), "{me}: {peer} left no call");
                    }
                    TabAction::PeerNamed { peer, .. } => {
                        let calls = &self.pages[page].calls;
                        assert!(calls.contains_key(&peer), "{me}: {peer} named, no call");
                    }
                    TabAction::PeerAway { peer } => {
                        let call = self.pages[page].calls.get_mut(&peer);
                        let call = call.expect("a call with the tab that went away");
                        assert!(!call.away, "{me}: {peer} went away twice");
                        call.away = true;
                    }
                    TabAction::Signal { from, signal } => {
                        let call = self.pages[page].calls.get_mut(&from);
                        let call = call.expect("a call for the signal");
                        assert!(!call.away, "{me}: a signal from {from}, away");
                        call.heard_from.insert(call_of(&signal));
                        assert_eq!(
                            call.heard_from.len(),
                            1,
                            "{me} heard two calls of {from} in one"
                        );
                    }
                    TabAction::WakeUp { after_ms, wait } => {
                        assert_eq!(after_ms, TAB_GRACE_MS);
                        self.pages[page].wakes.push(wait);
                    }
                }
            }
            self.sync_watches(page);
        }

        fn new_call(&mut self, polite: bool) -> Call {
            self.calls += 1;
            Call {
                id: self.calls,
                polite,
                away: false,
                heard_from: BTreeSet::new(),
            }
        }

        /// As the page does: a watch on the presence lock of each tab in a call with it, and
        /// none on any other.
        fn sync_watches(&mut self, page: usize) {
            if !self.pages[page].alive {
                return;
            }
            let peers: BTreeSet<TabId> = self.pages[page].room.peers().into_iter().collect();
            for &peer in &peers {
                let queue = self.locks.entry(peer).or_default();
                if !queue.contains(&Lock::Watch(page)) {
                    queue.push_back(Lock::Watch(page));
                }
            }
            for (id, queue) in &mut self.locks {
                if !peers.contains(id) {
                    queue.retain(|&lock| lock != Lock::Watch(page));
                }
            }
        }

        /// Signals to one of the tabs in a call with the tab's page (or whose place it keeps).
        fn send_any(&mut self, tab: usize) {
            let page = self.page(tab);
            let room = &self.pages[page].room;
            let others: Vec<TabId> = room.peers().into_iter().chain(room.away()).collect();
            if !others.is_empty() {
                let to = others[self.rng.below(others.len())];
                self.send(page, to);
            }
        }

        fn send(&mut self, page: usize, to: TabId) {
            let call = self.pages[page].calls.get(&to);
            let in_call = call.filter(|call| !call.away).map(|call| call.id);
            let message = self.pages[page].room.send(to, probe(in_call.unwrap_or(0)));
            assert_eq!(message.is_ok(), in_call.is_some(), "send to {to}");
            if let Ok(message) = message {
                self.carry_out(page, vec![TabAction::Post(message)], false);
            }
        }

        /// A timer of `page`'s fires; false if it has none.
        fn wake(&mut self, tab: usize, which: usize) -> bool {
            let page = self.page(tab);
            let wakes = &mut self.pages[page].wakes;
            if wakes.is_empty() {
                return false;
            }
            let wait = wakes.remove(which % wakes.len());
            let actions = self.pages[page].room.wake(wait);
            if !actions.is_empty() {
                self.counts.expired += 1;
            }
            self.carry_out(page, actions, false);
            true
        }

        fn steps(&self) -> Vec<Step> {
            let mut steps: Vec<Step> = self
                .queues
                .iter()
                .filter(|(_, queue)| !queue.is_empty())
                .map(|(&(to, from), _)| Step::Deliver { to, from })
                .collect();
            for (&tab, queue) in &self.locks {
                match queue.front() {
                    Some(&Lock::Watch(watcher)) => steps.push(Step::Gone { watcher, tab }),
                    Some(&Lock::Page(page)) if self.pages[page].entering.is_some() => {
                        steps.push(Step::Enter(page));
                    }
                    _ => {}
                }
            }
            for (page, p) in self.pages.iter().enumerate() {
                if p.alive && p.returning.is_some() {
                    steps.push(Step::Return(page));
                }
            }
            steps
        }

        fn take(&mut self, step: Step) {
            match step {
                Step::Deliver { to, from } => self.deliver(to, from),
                Step::Gone { watcher, tab } => {
                    let queue = self.locks.entry(tab).or_default();
                    assert_eq!(queue.pop_front(), Some(Lock::Watch(watcher)));
                    let actions = self.pages[watcher].room.gone(tab);
                    if !actions.is_empty() {
                        self.counts.gone += 1;
                    }
                    self.carry_out(watcher, actions, false);
                }
                Step::Enter(page) => self.enter(page),
                Step::Return(page) => self.come_back(page),
            }
        }

        fn deliver(&mut self, to: usize, from: usize) {
            let Some(queue) = self.queues.get_mut(&(to, from)) else {
                return;
            };
            let Some(message) = queue.pop_front() else {
                return;
            };
            if queue.is_empty() {
                self.queues.remove(&(to, from));
            }
            let room = &self.pages[to].room;
            if room.is_joined() {
                let (sender, visit) = message.sender();
                let known = room.others.iter().find(|other| other.id == sender);
                let stale_to = matches!(
                    message.addressee(),
                    Some((id, v)) if id == room.me && v != room.visit
                );
                if stale_to || known.is_some_and(|other| visit < other.visit) {
                    self.counts.stale += 1;
                }
                let is_welcome = matches!(message, TabMessage::Welcome { .. });
                if is_welcome && !stale_to && room.current(sender, visit).is_some() {
                    self.counts.crossings += 1;
                }
            }
            self.pages[to].heard.push(message.clone());
            let actions = self.pages[to].room.receive(message.clone());
            if matches!(message, TabMessage::Welcome { .. })
                && actions
                    .iter()
                    .any(|a| matches!(a, TabAction::PeerReturned { .. }))
            {
                self.counts.restarts += 1;
            }
            self.carry_out(to, actions, false);
        }

        /// One step of the browser's, chosen at random among those it can take.
        fn step(&mut self) {
            let steps = self.steps();
            if !steps.is_empty() {
                let step = steps[self.rng.below(steps.len())];
                self.take(step);
            }
        }

        fn settle_with(&mut self, random: bool) {
            for _ in 0..100_000 {
                let steps = self.steps();
                if steps.is_empty() {
                    return;
                }
                let i = if random {
                    self.rng.below(steps.len())
                } else {
                    0
                };
                self.take(steps[i]);
            }
            panic!("the tabs are still talking after 100000 steps");
        }

        /// Every message heard, every lock granted, in a random order; timers are left.
        fn settle(&mut self) {
            self.settle_with(true);
        }

        fn settle_in_order(&mut self) {
            self.settle_with(false);
        }

        /// Settles, and fires the timers too, until nothing is left of either.
        fn settle_all(&mut self) {
            loop {
                self.settle();
                let waiting: Vec<usize> = (0..self.tabs.len())
                    .filter(|&tab| {
                        self.tabs[tab].is_some_and(|page| !self.pages[page].wakes.is_empty())
                    })
                    .collect();
                if waiting.is_empty() {
                    return;
                }
                let tab = waiting[self.rng.below(waiting.len())];
                let which = self.rng.below(8);
                self.wake(tab, which);
            }
        }

        /// What holds however things went, once everything is heard: the room is a full mesh
        /// of the tabs in it (each pair one call, mutual, one polite end, each end hearing only
        /// the other's current call), nobody has a call with a tab not in the room, and each
        /// page's calls are what its room says. Returns how many tabs are in the room.
        fn check(&mut self) -> usize {
            assert!(self.steps().is_empty());
            let joined: Vec<usize> = (0..self.pages.len())
                .filter(|&p| self.pages[p].alive && self.pages[p].room.is_joined())
                .collect();
            assert!(joined.len() <= self.capacity);
            let by_id: BTreeMap<TabId, usize> = joined.iter().map(|&p| (self.id(p), p)).collect();
            assert_eq!(by_id.len(), joined.len());
            for &a in &joined {
                let page = &self.pages[a];
                let (me, room) = (self.id(a), &page.room);
                let seat = room.seat().expect("a seat");
                assert_eq!(page.seat, Some(seat));
                assert_eq!(self.seats[usize::from(seat)], Some(a));
                let peers = room.peers();
                let away = room.away();
                for (&id, &b) in &by_id {
                    if b != a {
                        assert!(peers.contains(&id), "{me} and {id} in the room, no call");
                    }
                }
                for &peer in &peers {
                    let b = *by_id.get(&peer).expect("a call with a tab not in the room");
                    assert_eq!(room.seat_of(peer), self.pages[b].seat);
                }
                for kept in &away {
                    assert!(!by_id.contains_key(kept), "{me} keeps {kept}, in the room");
                }
                let calls: BTreeSet<TabId> = page.calls.keys().copied().collect();
                let known: BTreeSet<TabId> = peers.iter().chain(&away).copied().collect();
                assert_eq!(calls, known, "{me}'s calls");
                for (peer, call) in &page.calls {
                    assert_eq!(call.away, away.contains(peer));
                    assert_eq!(call.polite, me > *peer);
                }
            }
            for page in self.pages.iter().filter(|p| p.alive && !p.room.is_joined()) {
                assert!(page.calls.is_empty());
                assert!(page.room.others.is_empty());
            }
            // Each end of each call signals once more: each hears only the other's current call.
            for &a in &joined {
                for peer in self.pages[a].room.peers() {
                    self.send(a, peer);
                }
            }
            self.settle();
            for &b in &joined {
                for (peer, call) in self.pages[b].calls.iter().filter(|(_, c)| !c.away) {
                    let theirs = &self.pages[by_id[peer]].calls[&self.id(b)];
                    assert_eq!(call.heard_from, BTreeSet::from([theirs.id]));
                }
            }
            joined.len()
        }
    }

    /// A signal that names the call it comes from.
    fn probe(call: u64) -> Signal {
        Signal::Description {
            sdp_type: SdpType::Offer,
            sdp: format!("call {call}"),
        }
    }

    fn call_of(signal: &Signal) -> u64 {
        match signal {
            Signal::Description { sdp, .. } => sdp
                .strip_prefix("call ")
                .and_then(|call| call.parse().ok())
                .expect("a probe"),
            other => panic!("not a probe: {other:?}"),
        }
    }

    /// xorshift64: enough to shuffle deliveries, seeded so that a failure can be replayed.
    #[derive(Clone)]
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// `n` different tab ids, as pages draw them.
        fn ids(&mut self, n: usize) -> Vec<TabId> {
            let mut ids: Vec<TabId> = Vec::new();
            while ids.len() < n {
                let id = self.next() & MAX_TAB_ID;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids
        }
    }

    fn seeds(n: u64) -> impl Iterator<Item = Rng> {
        (1..=n).map(|seed| Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
}
