//! Rooms between tabs of one browser: two tabs pair up over a `BroadcastChannel`, no server.

use crate::message::Signal;
use serde::{Deserialize, Serialize};
use std::{fmt, mem};

/// A tab's id, drawn at random once per tab by the page. JavaScript numbers are exact only up to
/// [`MAX_TAB_ID`], so ids stay at or below it: [`TabRoom::new`] cuts them to 53 bits, and a
/// message with a larger one comes from no tab of this page and is ignored.
pub type TabId = u64;

/// The largest tab id: 2^53 - 1, JavaScript's `Number.MAX_SAFE_INTEGER`.
pub const MAX_TAB_ID: TabId = (1 << 53) - 1;

/// How long a tab keeps the seat of a peer whose page went away (a reload, most often) for it
/// to come back: a reload and a camera reopened take a second or two; a tab closed for good
/// is called gone after this.
pub const TAB_GRACE_MS: u32 = 10_000;

/// How long a reloaded tab waits for its old peer to welcome it back before it enters the room
/// as a newcomer: the channel answers within milliseconds when that peer is still there.
pub const RETURN_WAIT_MS: u32 = 2_000;

/// How many hellos a tab remembers while its own welcome is unanswered, to answer them once it
/// knows whether it is taken. Beyond that it says at once that it is.
const MAX_ASKED: usize = 8;

/// What tabs post on the room's channel, as JSON tagged by `type`. Every tab in the room hears
/// every message but its own; one addressed `to` another tab is for that tab only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TabMessage {
    /// `from` is in the room and free: sent on entering it, and again whenever it is alone again.
    Hello { from: TabId },
    /// `from` takes `to` as its peer: an offer answering `to`'s hello, or the answer to `to`'s
    /// offer. The two are paired once each has welcomed the other.
    Welcome { from: TabId, to: TabId },
    /// `from` is taken: it declines `to`'s welcome, or tells `to`, alone, that the room is full.
    Full { from: TabId, to: TabId },
    /// For `from`'s peer `to`.
    Signal {
        from: TabId,
        to: TabId,
        signal: Signal,
    },
    /// `from` left the room: it hung up, or it found the room full.
    Leave { from: TabId },
    /// `from`'s page is going away (closed, or reloading, which a page cannot tell apart):
    /// its peer `to` keeps its seat for [`TAB_GRACE_MS`].
    Away { from: TabId, to: TabId },
    /// `from` is back after [`TabMessage::Away`], a new page with the old tab's id: it asks its
    /// old peer `to` for its seat, as a welcome would.
    Back { from: TabId, to: TabId },
}

impl TabMessage {
    /// Who sent it, and the one tab it is for, if it is for one.
    fn ends(&self) -> (TabId, Option<TabId>) {
        match *self {
            TabMessage::Hello { from } | TabMessage::Leave { from } => (from, None),
            TabMessage::Welcome { from, to }
            | TabMessage::Full { from, to }
            | TabMessage::Signal { from, to, .. }
            | TabMessage::Away { from, to }
            | TabMessage::Back { from, to } => (from, Some(to)),
        }
    }
}

/// What the page does after a call to a [`TabRoom`], in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TabAction {
    /// Post this on the room's channel.
    Post(TabMessage),
    /// The other person is here: start the call with this role in perfect negotiation.
    PeerJoined { polite: bool },
    /// The other person left: end the call and wait in the room for someone else.
    PeerLeft,
    /// From the other person's page.
    Signal(Signal),
    /// Two others are in the room: this tab has left it.
    RoomFull,
    /// The peer's page went away: its seat is kept, and its call waits, until it comes back
    /// ([`TabAction::PeerReturned`]) or the grace runs out ([`TabAction::PeerLeft`]).
    PeerAway,
    /// The peer's page came back as a new page: its old call is gone with the old page, so
    /// start a new one, with the same role as before.
    PeerReturned { polite: bool },
    /// Call [`TabRoom::wake`] with `wait` after `after_ms`, unless the tab is dropped first.
    /// A wake for a wait that has ended since does nothing.
    WakeUp { after_ms: u32, wait: u32 },
}

/// Why a signal cannot be sent: nobody is paired with this tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoPeer;

impl fmt::Display for NoPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nobody else is in the room yet.")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Not in the room: everything heard is ignored.
    Out,
    /// In the room and free.
    Alone,
    /// Welcomed `to` and waits for its answer. Meanwhile it holds at most one other offer, taken
    /// if `to` says no, and remembers who said hello, to tell them once it is taken. A tab back
    /// after a reload waits so for its old peer, until the wake-up `wait` at the latest.
    Offered {
        to: TabId,
        held: Option<TabId>,
        asked: Vec<TabId>,
        wait: Option<u32>,
    },
    /// Paired: each welcomed the other.
    Paired(TabId),
    /// The peer's page went away: its seat is kept for it until the wake-up `wait`.
    Keeping { peer: TabId, wait: u32 },
}

/// One tab's place in a room shared with other tabs over a `BroadcastChannel`: a pure state
/// machine whose methods return what the page must do.
///
/// A tab entering the room says hello, and says it again whenever it is alone again. A free tab
/// hearing a hello welcomes its sender and is then bound to it until it answers; a free tab
/// hearing a welcome welcomes back. A pair is two tabs that welcomed each other, and only then
/// does either start its call: so two tabs entering at once both welcome and both end paired, and
/// a tab still waiting for an answer, which may yet be no, never tells a newcomer that the room is
/// full: it keeps the hellos it hears and answers them once paired. If it gets another welcome
/// meanwhile, it holds it when it comes from a smaller id than the tab it waits for, to take it if
/// that one says no, and declines it otherwise: no ring of tabs can all wait on each other. A
/// paired tab answers hellos and welcomes with `full`; a free tab told `full` leaves, and so does
/// a paired one (a second pair, formed in a race, gives way). A room ends with one pair and
/// everyone else told it is full; which two pair depends on timing when three come at once, and
/// four or more coming at the same moment may all be told the room is full, but never end up as
/// two pairs.
///
/// Roles for perfect negotiation come from the ids, whatever the order of the messages: the tab
/// with the larger id is polite. Messages from a tab with this tab's own id (a 1 in 2^53 chance)
/// are ignored, so two such tabs never pair.
///
/// This relies on what a `BroadcastChannel` guarantees: one tab's messages reach each other tab
/// in the order it posted them. Across senders, any order will do.
#[derive(Clone, Debug)]
pub struct TabRoom {
    me: TabId,
    state: State,
    /// The last wake-up asked for: a wake for any other is stale.
    waits: u32,
}

impl TabRoom {
    /// A tab with the id `random` cut to 53 bits, not in the room yet.
    pub fn new(random: u64) -> Self {
        TabRoom {
            me: random & MAX_TAB_ID,
            state: State::Out,
            waits: 0,
        }
    }

    pub fn me(&self) -> TabId {
        self.me
    }

    /// The tab this one is in a call with (or keeps the seat of).
    pub fn peer(&self) -> Option<TabId> {
        match self.state {
            State::Paired(peer) | State::Keeping { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// The tab this one is in a call with now (not one whose seat it keeps).
    pub fn in_call_with(&self) -> Option<TabId> {
        match self.state {
            State::Paired(peer) => Some(peer),
            _ => None,
        }
    }

    pub fn is_joined(&self) -> bool {
        self.state != State::Out
    }

    /// Enters the room, alone until another tab pairs with this one. Nothing if already in it.
    pub fn join(&mut self) -> Vec<TabAction> {
        if self.is_joined() {
            return Vec::new();
        }
        self.alone()
    }

    /// Enters the room again as the tab that went away from `peer` (this tab's page is the
    /// reloaded one, and this room has the old tab's id): asks `peer` for the seat, and enters as
    /// a newcomer if it says no or does not answer within [`RETURN_WAIT_MS`].
    pub fn rejoin(&mut self, peer: TabId) -> Vec<TabAction> {
        if self.is_joined() || peer == self.me || peer > MAX_TAB_ID {
            return self.join();
        }
        let wait = self.next_wait();
        self.state = State::Offered {
            to: peer,
            held: None,
            asked: Vec::new(),
            wait: Some(wait),
        };
        vec![
            TabAction::Post(TabMessage::Back {
                from: self.me,
                to: peer,
            }),
            TabAction::WakeUp {
                after_ms: RETURN_WAIT_MS,
                wait,
            },
        ]
    }

    /// The page is going away, perhaps to come back ([`rejoin`](Self::rejoin)): the peer, if
    /// any, is asked to keep the seat; anyone else just hears that this tab left.
    /// Returns, with the actions, the peer to ask for the seat when the page comes back.
    pub fn go_away(&mut self) -> (Vec<TabAction>, Option<TabId>) {
        match self.state {
            State::Paired(peer) => {
                self.state = State::Out;
                let away = TabMessage::Away {
                    from: self.me,
                    to: peer,
                };
                (vec![TabAction::Post(away)], Some(peer))
            }
            _ => (self.leave(), None),
        }
    }

    /// The page of `tab` is gone (its browser said so), whether or not its goodbye came: for a
    /// peer, as if it had said it was going away (it may be reloading); for a tab this one
    /// waits for, as if it had said no.
    pub fn gone(&mut self, tab: TabId) -> Vec<TabAction> {
        match self.state {
            State::Paired(peer) if peer == tab => self.away(tab),
            State::Offered { to, .. } if to == tab => self.turned_down(),
            _ => Vec::new(),
        }
    }

    /// The time of the wake-up `wait` has come: a peer that did not come back is gone, and a
    /// reloaded tab whose old peer did not answer enters the room as a newcomer.
    pub fn wake(&mut self, wait: u32) -> Vec<TabAction> {
        match self.state {
            State::Keeping { wait: w, .. } if w == wait => {
                let mut actions = vec![TabAction::PeerLeft];
                actions.extend(self.alone());
                actions
            }
            State::Offered { wait: Some(w), .. } if w == wait => self.turned_down(),
            _ => Vec::new(),
        }
    }

    /// Leaves the room, telling the peer, and ignores everything until [`join`](Self::join).
    pub fn leave(&mut self) -> Vec<TabAction> {
        if !self.is_joined() {
            return Vec::new();
        }
        self.state = State::Out;
        vec![self.post_leave()]
    }

    /// The message that carries `signal` to the peer.
    /// Nothing goes to a peer whose page went away: its call went with it.
    pub fn send(&self, signal: Signal) -> Result<TabMessage, NoPeer> {
        let State::Paired(to) = self.state else {
            return Err(NoPeer);
        };
        Ok(TabMessage::Signal {
            from: self.me,
            to,
            signal,
        })
    }

    /// Hears a message posted by another tab on the room's channel.
    pub fn receive(&mut self, message: TabMessage) -> Vec<TabAction> {
        let (from, to) = message.ends();
        if !self.is_joined()
            || from == self.me
            || from > MAX_TAB_ID
            || to.is_some_and(|to| to != self.me)
        {
            return Vec::new();
        }
        match message {
            TabMessage::Hello { .. } => self.hello(from),
            TabMessage::Welcome { .. } => self.welcome(from),
            TabMessage::Full { .. } => self.full(from),
            TabMessage::Signal { signal, .. } if self.state == State::Paired(from) => {
                vec![TabAction::Signal(signal)]
            }
            TabMessage::Signal { .. } => Vec::new(),
            TabMessage::Leave { .. } => self.left(from),
            TabMessage::Away { .. } => self.away(from),
            TabMessage::Back { .. } => self.back(from),
        }
    }

    fn away(&mut self, from: TabId) -> Vec<TabAction> {
        match self.state {
            State::Paired(peer) if peer == from => {
                let wait = self.next_wait();
                self.state = State::Keeping { peer, wait };
                vec![
                    TabAction::PeerAway,
                    TabAction::WakeUp {
                        after_ms: TAB_GRACE_MS,
                        wait,
                    },
                ]
            }
            // Only a peer's seat is kept: to anyone else, going away is leaving.
            _ => self.left(from),
        }
    }

    fn back(&mut self, from: TabId) -> Vec<TabAction> {
        match self.state {
            // Paired too: the old page may have gone without a word (it crashed).
            State::Keeping { peer, .. } | State::Paired(peer) if peer == from => {
                self.state = State::Paired(peer);
                vec![
                    self.post_welcome(peer),
                    TabAction::PeerReturned {
                        polite: self.me > peer,
                    },
                ]
            }
            // Its seat is not kept here (the grace ran out, or this tab was never its peer):
            // the tab is a newcomer asking to pair.
            _ => self.welcome(from),
        }
    }

    /// A new wake-up's number; the ones asked for before are stale from now on.
    fn next_wait(&mut self) -> u32 {
        self.waits = self.waits.wrapping_add(1);
        self.waits
    }

    fn hello(&mut self, from: TabId) -> Vec<TabAction> {
        match &mut self.state {
            State::Alone => {
                self.state = State::Offered {
                    to: from,
                    held: None,
                    asked: Vec::new(),
                    wait: None,
                };
                vec![self.post_welcome(from)]
            }
            // Its hello again: it may have missed our welcome.
            State::Offered { to, .. } | State::Paired(to) if *to == from => {
                vec![self.post_welcome(from)]
            }
            State::Offered { asked, .. } if asked.len() < MAX_ASKED => {
                if !asked.contains(&from) {
                    asked.push(from);
                }
                Vec::new()
            }
            // Taken, or keeping the seat of a peer that went away.
            State::Offered { .. } | State::Paired(_) | State::Keeping { .. } => {
                vec![self.post_full(from)]
            }
            State::Out => Vec::new(),
        }
    }

    fn welcome(&mut self, from: TabId) -> Vec<TabAction> {
        let me = self.me;
        match &mut self.state {
            State::Alone => {
                let answer = self.post_welcome(from);
                self.pair(from, vec![answer])
            }
            State::Offered { to, .. } if *to == from => self.pair(from, Vec::new()),
            State::Offered {
                to, held, asked, ..
            } => {
                asked.retain(|&tab| tab != from);
                if *held == Some(from) {
                    Vec::new()
                } else if held.is_none() && from < *to {
                    *held = Some(from);
                    Vec::new()
                } else {
                    vec![TabAction::Post(TabMessage::Full { from: me, to: from })]
                }
            }
            State::Paired(peer) if *peer == from => Vec::new(),
            // A stray welcome: the pair stands (or its seat is kept), and the other tab is told
            // it is taken.
            State::Paired(_) | State::Keeping { .. } => vec![self.post_full(from)],
            State::Out => Vec::new(),
        }
    }

    fn full(&mut self, from: TabId) -> Vec<TabAction> {
        match self.state {
            State::Offered { to, .. } if to == from => self.turned_down(),
            State::Alone | State::Offered { .. } => {
                self.state = State::Out;
                vec![self.post_leave(), TabAction::RoomFull]
            }
            // Someone paired answered our hello: ours is a second pair, formed in a race (or
            // the seat of one that may never come back).
            State::Paired(_) | State::Keeping { .. } => {
                self.state = State::Out;
                vec![self.post_leave(), TabAction::PeerLeft, TabAction::RoomFull]
            }
            State::Out => Vec::new(),
        }
    }

    fn left(&mut self, from: TabId) -> Vec<TabAction> {
        match &mut self.state {
            State::Offered { to, .. } if *to == from => self.turned_down(),
            State::Offered { held, asked, .. } => {
                if *held == Some(from) {
                    *held = None;
                }
                asked.retain(|&tab| tab != from);
                Vec::new()
            }
            State::Paired(peer) | State::Keeping { peer, .. } if *peer == from => {
                let mut actions = vec![TabAction::PeerLeft];
                actions.extend(self.alone());
                actions
            }
            _ => Vec::new(),
        }
    }

    /// The tab we welcomed said no or left: take the offer held, else be free again.
    fn turned_down(&mut self) -> Vec<TabAction> {
        match self.state {
            State::Offered {
                held: Some(held), ..
            } => {
                let answer = self.post_welcome(held);
                self.pair(held, vec![answer])
            }
            _ => self.alone(),
        }
    }

    /// Pairs with `peer`, and tells the other tabs heard while deciding that this one is taken.
    fn pair(&mut self, peer: TabId, mut actions: Vec<TabAction>) -> Vec<TabAction> {
        if let State::Offered { held, asked, .. } =
            mem::replace(&mut self.state, State::Paired(peer))
        {
            let others = held.into_iter().chain(asked).filter(|&tab| tab != peer);
            actions.extend(others.map(|tab| self.post_full(tab)));
        }
        actions.push(TabAction::PeerJoined {
            polite: self.me > peer,
        });
        actions
    }

    /// Free in the room: says so, so that any other free tab offers to pair.
    fn alone(&mut self) -> Vec<TabAction> {
        self.state = State::Alone;
        vec![TabAction::Post(TabMessage::Hello { from: self.me })]
    }

    fn post_welcome(&self, to: TabId) -> TabAction {
        TabAction::Post(TabMessage::Welcome { from: self.me, to })
    }

    fn post_full(&self, to: TabId) -> TabAction {
        TabAction::Post(TabMessage::Full { from: self.me, to })
    }

    fn post_leave(&self) -> TabAction {
        TabAction::Post(TabMessage::Leave { from: self.me })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SdpType;
    use serde_json::json;
    use std::collections::VecDeque;

    const A: TabId = 10;
    const B: TabId = 20;
    const C: TabId = 30;
    const D: TabId = 40;

    /// What a tab's page goes through, posts aside.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Event {
        Started {
            polite: bool,
        },
        Ended,
        Full,
        Signal(Signal),
        /// The peer's page went away; its seat is kept.
        Away,
        /// The peer's page came back: a new call with this role.
        Returned {
            polite: bool,
        },
        /// This page reloaded: its call went with the old page.
        Reloaded,
    }

    /// The room's `BroadcastChannel`: every message posted reaches every other tab, each sender's
    /// in the order it posted them (as the channel guarantees), but whose is heard next is the
    /// test's choice.
    struct Channel {
        tabs: Vec<TabRoom>,
        /// `queues[to][from]`: what `from` posted that `to` has not heard yet.
        queues: Vec<Vec<VecDeque<TabMessage>>>,
        events: Vec<Vec<Event>>,
        /// Every message each tab heard, to hear them again.
        heard: Vec<Vec<TabMessage>>,
        /// The wake-ups each tab asked for and has not had yet.
        wakes: Vec<Vec<u32>>,
    }

    impl Channel {
        fn new(ids: &[TabId]) -> Self {
            let n = ids.len();
            Channel {
                tabs: ids.iter().map(|&id| TabRoom::new(id)).collect(),
                queues: vec![vec![VecDeque::new(); n]; n],
                events: vec![Vec::new(); n],
                heard: vec![Vec::new(); n],
                wakes: vec![Vec::new(); n],
            }
        }

        fn carry_out(&mut self, tab: usize, actions: Vec<TabAction>) {
            for action in actions {
                let event = match action {
                    TabAction::Post(message) => {
                        for (to, queues) in self.queues.iter_mut().enumerate() {
                            if to != tab {
                                queues[tab].push_back(message.clone());
                            }
                        }
                        continue;
                    }
                    TabAction::PeerJoined { polite } => Event::Started { polite },
                    TabAction::PeerLeft => Event::Ended,
                    TabAction::RoomFull => Event::Full,
                    TabAction::Signal(signal) => Event::Signal(signal),
                    TabAction::PeerAway => Event::Away,
                    TabAction::PeerReturned { polite } => Event::Returned { polite },
                    TabAction::WakeUp { wait, .. } => {
                        self.wakes[tab].push(wait);
                        continue;
                    }
                };
                self.events[tab].push(event);
            }
        }

        fn join(&mut self, tab: usize) {
            let actions = self.tabs[tab].join();
            self.carry_out(tab, actions);
        }

        /// The page hangs up: its call, if any, ends.
        fn leave(&mut self, tab: usize) {
            if self.tabs[tab].peer().is_some() {
                self.events[tab].push(Event::Ended);
            }
            let actions = self.tabs[tab].leave();
            self.carry_out(tab, actions);
        }

        /// The page reloads: the old one goes away, and the new one, with the same tab id, asks
        /// for its seat back. What was on its way to the old page is lost with it.
        fn reload(&mut self, tab: usize) {
            let (actions, peer) = self.tabs[tab].go_away();
            self.carry_out(tab, actions);
            for queue in &mut self.queues[tab] {
                queue.clear();
            }
            self.wakes[tab].clear();
            self.events[tab].push(Event::Reloaded);
            let me = self.tabs[tab].me;
            self.tabs[tab] = TabRoom::new(me);
            let actions = match peer {
                Some(peer) => self.tabs[tab].rejoin(peer),
                None => self.tabs[tab].join(),
            };
            self.carry_out(tab, actions);
        }

        /// The time of one of `tab`'s wake-ups has come; false if it asked for none.
        fn wake(&mut self, tab: usize, which: usize) -> bool {
            if self.wakes[tab].is_empty() {
                return false;
            }
            let which = which % self.wakes[tab].len();
            let wait = self.wakes[tab].remove(which);
            let actions = self.tabs[tab].wake(wait);
            self.carry_out(tab, actions);
            true
        }

        /// Delivers and wakes in a random order until nothing is left of either.
        fn settle_all(&mut self, rng: &mut Rng) {
            loop {
                self.settle_randomly(rng);
                let waiting: Vec<usize> = (0..self.tabs.len())
                    .filter(|&tab| !self.wakes[tab].is_empty())
                    .collect();
                if waiting.is_empty() {
                    return;
                }
                let tab = waiting[rng.below(waiting.len())];
                let which = rng.below(8);
                self.wake(tab, which);
            }
        }

        fn send(&mut self, tab: usize, signal: Signal) {
            if let Ok(message) = self.tabs[tab].send(signal) {
                self.carry_out(tab, vec![TabAction::Post(message)]);
            }
        }

        /// `to` hears `message` as if `from` had just posted it.
        fn hear(&mut self, to: usize, message: TabMessage) {
            self.heard[to].push(message.clone());
            let actions = self.tabs[to].receive(message);
            self.carry_out(to, actions);
        }

        /// `to` hears the next message `from` posted; false if there is none.
        fn deliver(&mut self, to: usize, from: usize) -> bool {
            match self.queues[to][from].pop_front() {
                Some(message) => {
                    self.hear(to, message);
                    true
                }
                None => false,
            }
        }

        fn pending(&self) -> Vec<(usize, usize)> {
            let n = self.tabs.len();
            (0..n)
                .flat_map(|to| (0..n).map(move |from| (to, from)))
                .filter(|&(to, from)| !self.queues[to][from].is_empty())
                .collect()
        }

        /// Delivers until nothing is left, picking each time with `pick` among the tabs that
        /// have something to hear.
        fn settle_with(&mut self, mut pick: impl FnMut(usize) -> usize) {
            for _ in 0..10_000 {
                let pending = self.pending();
                if pending.is_empty() {
                    return;
                }
                let (to, from) = pending[pick(pending.len()) % pending.len()];
                self.deliver(to, from);
            }
            panic!("the tabs are still talking after 10000 messages");
        }

        fn settle(&mut self) {
            self.settle_with(|_| 0);
        }

        fn settle_randomly(&mut self, rng: &mut Rng) {
            self.settle_with(|n| rng.below(n));
        }

        fn index(&self, id: TabId) -> usize {
            self.tabs.iter().position(|tab| tab.me == id).unwrap()
        }

        fn starts(&self, tab: usize) -> usize {
            self.events[tab]
                .iter()
                .filter(|e| matches!(e, Event::Started { .. }))
                .count()
        }

        /// What holds however the messages went, once all are heard: nobody still waits for an
        /// answer, pairs are mutual, one at most, with opposite roles, and every page's calls
        /// start and end in turn. Returns how many pairs there are.
        fn check(&self) -> usize {
            assert!(self.pending().is_empty());
            let mut paired = 0;
            for (i, tab) in self.tabs.iter().enumerate() {
                assert!(
                    !matches!(tab.state, State::Offered { .. } | State::Keeping { .. }),
                    "tab {} undecided: {:?}",
                    tab.me,
                    tab.state
                );
                let mut in_call = None;
                for event in &self.events[i] {
                    match event {
                        Event::Started { polite } => {
                            assert_eq!(in_call, None, "tab {} started twice", tab.me);
                            in_call = Some(*polite);
                        }
                        Event::Ended => {
                            assert!(in_call.is_some(), "tab {} ended no call", tab.me);
                            in_call = None;
                        }
                        Event::Away => {
                            assert!(in_call.is_some(), "tab {} kept a seat of nobody", tab.me);
                        }
                        Event::Returned { polite } => {
                            assert_eq!(
                                in_call,
                                Some(*polite),
                                "tab {}: a peer came back to no call, or with another role",
                                tab.me
                            );
                        }
                        Event::Reloaded => in_call = None,
                        Event::Full | Event::Signal(_) => {}
                    }
                }
                assert_eq!(in_call.is_some(), tab.peer().is_some(), "tab {}", tab.me);
                if let Some(peer) = tab.peer() {
                    paired += 1;
                    let other = &self.tabs[self.index(peer)];
                    assert_eq!(other.peer(), Some(tab.me), "tab {} paired alone", tab.me);
                    assert_eq!(in_call, Some(tab.me > peer));
                }
            }
            assert!(paired <= 2, "{paired} tabs paired in one room");
            paired / 2
        }

        /// After tabs that all stay: one pair, and everyone else told the room is full.
        fn check_one_pair_and_the_rest_full(&self) {
            assert_eq!(self.check(), 1, "no pair");
            for (i, tab) in self.tabs.iter().enumerate() {
                if tab.peer().is_none() {
                    assert!(!tab.is_joined(), "tab {} still waits", tab.me);
                    assert_eq!(self.events[i].last(), Some(&Event::Full), "tab {}", tab.me);
                }
            }
        }
    }

    /// xorshift64: enough to shuffle deliveries, seeded so that a failure can be replayed.
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

    fn post(message: TabMessage) -> TabAction {
        TabAction::Post(message)
    }

    fn offer() -> Signal {
        Signal::Description {
            sdp_type: SdpType::Offer,
            sdp: "v=0\r\n".into(),
        }
    }

    /// A tab in the room, paired with `peer` (as after both welcomed each other).
    fn paired(me: TabId, peer: TabId) -> TabRoom {
        let mut tab = TabRoom::new(me);
        tab.join();
        tab.receive(TabMessage::Welcome { from: peer, to: me });
        assert_eq!(tab.peer(), Some(peer));
        tab
    }

    #[test]
    fn the_wire_format_is_json_tagged_by_type_with_ids_as_numbers() {
        let examples = [
            (
                TabMessage::Hello { from: A },
                json!({"type": "hello", "from": 10}),
            ),
            (
                TabMessage::Welcome { from: A, to: B },
                json!({"type": "welcome", "from": 10, "to": 20}),
            ),
            (
                TabMessage::Full { from: A, to: B },
                json!({"type": "full", "from": 10, "to": 20}),
            ),
            (
                TabMessage::Away { from: A, to: B },
                json!({"type": "away", "from": 10, "to": 20}),
            ),
            (
                TabMessage::Back { from: A, to: B },
                json!({"type": "back", "from": 10, "to": 20}),
            ),
            (
                TabMessage::Signal {
                    from: A,
                    to: B,
                    signal: offer(),
                },
                json!({"type": "signal", "from": 10, "to": 20,
                    "signal": {"kind": "description", "type": "offer", "sdp": "v=0\r\n"}}),
            ),
            (
                TabMessage::Leave { from: A },
                json!({"type": "leave", "from": 10}),
            ),
            (
                TabMessage::Hello { from: MAX_TAB_ID },
                json!({"type": "hello", "from": 9_007_199_254_740_991u64}),
            ),
        ];
        for (message, value) in examples {
            assert_eq!(serde_json::to_value(&message).unwrap(), value);
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<TabMessage>(&text).unwrap(), message);
        }
        assert_eq!(
            serde_json::to_string(&TabMessage::Welcome { from: A, to: B }).unwrap(),
            r#"{"type":"welcome","from":10,"to":20}"#
        );
    }

    #[test]
    fn malformed_messages_are_refused() {
        for bad in [
            json!({"type": "hello"}),
            json!({"type": "hello", "from": "10"}),
            json!({"type": "hello", "from": -1}),
            json!({"type": "hello", "from": 1.5}),
            json!({"type": "hello", "from": 10, "to": 20}),
            json!({"type": "welcome", "from": 10}),
            json!({"type": "full", "from": 10, "to": null}),
            json!({"type": "signal", "from": 10, "to": 20}),
            json!({"type": "signal", "from": 10, "to": 20, "signal": {"kind": "nonsense"}}),
            json!({"type": "leave", "from": 10, "reason": "bye"}),
            json!({"type": "join", "from": 10}),
            json!({"from": 10}),
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
    fn ids_beyond_javascript_numbers_are_cut_or_ignored() {
        assert_eq!(TabRoom::new(u64::MAX).me(), MAX_TAB_ID);
        assert_eq!(TabRoom::new(MAX_TAB_ID + 1 + A).me(), A);
        let mut tab = TabRoom::new(A);
        tab.join();
        let too_big = MAX_TAB_ID + 1;
        for message in [
            TabMessage::Hello { from: too_big },
            TabMessage::Welcome {
                from: too_big,
                to: A,
            },
            TabMessage::Welcome {
                from: B,
                to: A + (1 << 53),
            },
            TabMessage::Full {
                from: u64::MAX,
                to: A,
            },
            // Its own id, from another tab: the two cannot tell each other apart.
            TabMessage::Hello { from: A },
            TabMessage::Welcome { from: A, to: A },
        ] {
            assert_eq!(tab.receive(message.clone()), vec![], "{message:?}");
        }
        assert!(tab.is_joined());
        assert_eq!(tab.state, State::Alone);
    }

    #[test]
    fn a_tab_alone_says_hello_and_has_nobody_to_signal() {
        let mut tab = TabRoom::new(A);
        assert!(!tab.is_joined());
        assert_eq!(tab.send(offer()), Err(NoPeer));
        assert_eq!(tab.join(), vec![post(TabMessage::Hello { from: A })]);
        assert!(tab.is_joined());
        assert_eq!(tab.join(), vec![], "joining twice changes nothing");
        assert_eq!(tab.peer(), None);
        assert_eq!(tab.send(offer()), Err(NoPeer));
        assert_eq!(NoPeer.to_string(), "Nobody else is in the room yet.");
    }

    #[test]
    fn a_waiting_tab_welcomes_a_newcomer_and_both_start_once_welcomed_back() {
        let mut a = TabRoom::new(A);
        let mut b = TabRoom::new(B);
        a.join();
        assert_eq!(b.join(), vec![post(TabMessage::Hello { from: B })]);
        assert_eq!(
            a.receive(TabMessage::Hello { from: B }),
            vec![post(TabMessage::Welcome { from: A, to: B })]
        );
        assert_eq!(a.peer(), None, "not before B welcomes back");
        assert_eq!(a.send(offer()), Err(NoPeer));
        assert_eq!(
            b.receive(TabMessage::Welcome { from: A, to: B }),
            vec![
                post(TabMessage::Welcome { from: B, to: A }),
                TabAction::PeerJoined { polite: true }
            ]
        );
        assert_eq!(
            a.receive(TabMessage::Welcome { from: B, to: A }),
            vec![TabAction::PeerJoined { polite: false }]
        );
        assert_eq!((a.peer(), b.peer()), (Some(B), Some(A)));
        assert_eq!(
            b.send(offer()),
            Ok(TabMessage::Signal {
                from: B,
                to: A,
                signal: offer()
            })
        );
        assert_eq!(
            a.receive(b.send(offer()).unwrap()),
            vec![TabAction::Signal(offer())]
        );
    }

    #[test]
    fn roles_come_from_the_ids_not_from_who_came_first() {
        for order in [[A, B], [B, A]] {
            let mut channel = Channel::new(&order);
            channel.join(0);
            channel.settle();
            channel.join(1);
            channel.settle();
            assert_eq!(channel.check(), 1);
            let (a, b) = (channel.index(A), channel.index(B));
            assert_eq!(channel.events[a], [Event::Started { polite: false }]);
            assert_eq!(channel.events[b], [Event::Started { polite: true }]);
        }
    }

    #[test]
    fn two_tabs_entering_at_once_pair_with_one_start_each() {
        // Each hears the other's hello before any welcome.
        let mut a = TabRoom::new(A);
        let mut b = TabRoom::new(B);
        a.join();
        b.join();
        let from_a = a.receive(TabMessage::Hello { from: B });
        let from_b = b.receive(TabMessage::Hello { from: A });
        assert_eq!(from_a, vec![post(TabMessage::Welcome { from: A, to: B })]);
        assert_eq!(from_b, vec![post(TabMessage::Welcome { from: B, to: A })]);
        assert_eq!(
            a.receive(TabMessage::Welcome { from: B, to: A }),
            vec![TabAction::PeerJoined { polite: false }]
        );
        assert_eq!(
            b.receive(TabMessage::Welcome { from: A, to: B }),
            vec![TabAction::PeerJoined { polite: true }]
        );
        assert_eq!((a.peer(), b.peer()), (Some(B), Some(A)));

        for mut rng in seeds(500) {
            let mut channel = Channel::new(&rng.ids(2));
            channel.join(0);
            channel.join(1);
            channel.settle_randomly(&mut rng);
            channel.check_one_pair_and_the_rest_full();
            assert_eq!((channel.starts(0), channel.starts(1)), (1, 1));
        }
    }

    #[test]
    fn two_newcomers_at_once_to_a_waiting_tab_make_one_pair_and_one_full_room() {
        // The waiting tab's welcome comes first: the newcomers pair with it, the other is told.
        let mut channel = Channel::new(&[B, A, C]);
        channel.join(0);
        channel.settle();
        channel.join(1);
        channel.join(2);
        assert!(
            channel.deliver(0, 1) && channel.deliver(0, 2),
            "B hears both hellos"
        );
        assert!(channel.deliver(1, 0), "A hears B's welcome");
        channel.settle();
        channel.check_one_pair_and_the_rest_full();
        assert_eq!(channel.tabs[0].peer(), Some(A));
        assert_eq!(channel.events[2], [Event::Full]);

        // Otherwise the newcomers may pair with each other first: then the waiting tab is the
        // one told the room is full. Never two pairs, never a tab left waiting for nothing.
        let mut outcomes = [0; 2];
        for mut rng in seeds(2000) {
            let mut channel = Channel::new(&rng.ids(3));
            channel.join(0);
            channel.settle();
            channel.join(1);
            channel.join(2);
            channel.settle_randomly(&mut rng);
            channel.check_one_pair_and_the_rest_full();
            outcomes[usize::from(channel.tabs[0].peer().is_some())] += 1;
            assert!(channel.starts(0) <= 1, "the waiting tab started twice");
        }
        assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
    }

    #[test]
    fn three_tabs_entering_at_once_make_one_pair() {
        // The worst order: each hears the next one's hello first, so A welcomes B, B welcomes
        // C and C welcomes A, a ring in which each waits for an answer.
        let mut channel = Channel::new(&[A, B, C]);
        for tab in 0..3 {
            channel.join(tab);
        }
        for (to, from) in [(0, 1), (1, 2), (2, 0)] {
            assert!(channel.deliver(to, from));
        }
        assert!(channel
            .tabs
            .iter()
            .all(|tab| matches!(tab.state, State::Offered { .. })));
        channel.settle();
        channel.check_one_pair_and_the_rest_full();

        for mut rng in seeds(2000) {
            let mut channel = Channel::new(&rng.ids(3));
            for tab in 0..3 {
                channel.join(tab);
            }
            channel.settle_randomly(&mut rng);
            channel.check_one_pair_and_the_rest_full();
        }
    }

    #[test]
    fn a_third_tab_finds_the_room_full_and_the_pair_stands() {
        let mut channel = Channel::new(&[A, B, C]);
        channel.join(0);
        channel.join(1);
        channel.settle();
        channel.join(2);
        channel.settle();
        channel.check_one_pair_and_the_rest_full();
        assert_eq!(channel.tabs[0].peer(), Some(B));
        assert_eq!(channel.events[0], [Event::Started { polite: false }]);
        assert_eq!(channel.events[1], [Event::Started { polite: true }]);
        assert_eq!(channel.events[2], [Event::Full]);

        // Both members answer; the first answer is enough.
        let mut c = TabRoom::new(C);
        c.join();
        assert_eq!(
            c.receive(TabMessage::Full { from: A, to: C }),
            vec![post(TabMessage::Leave { from: C }), TabAction::RoomFull]
        );
        assert!(!c.is_joined());
        assert_eq!(c.receive(TabMessage::Full { from: B, to: C }), vec![]);
    }

    #[test]
    fn two_tabs_at_once_after_a_pair_both_find_the_room_full() {
        for mut rng in seeds(2000) {
            let mut channel = Channel::new(&rng.ids(4));
            channel.join(0);
            channel.join(1);
            channel.settle_randomly(&mut rng);
            channel.join(2);
            channel.join(3);
            channel.settle_randomly(&mut rng);
            channel.check_one_pair_and_the_rest_full();
            assert_eq!(channel.tabs[0].peer(), Some(channel.tabs[1].me));
            assert_eq!((channel.starts(0), channel.starts(1)), (1, 1));
        }
    }

    #[test]
    fn a_second_pair_formed_in_a_race_gives_way() {
        // C and D paired with each other before hearing that A and B had.
        let mut c = paired(C, D);
        assert_eq!(
            c.receive(TabMessage::Full { from: A, to: C }),
            vec![
                post(TabMessage::Leave { from: C }),
                TabAction::PeerLeft,
                TabAction::RoomFull
            ]
        );
        assert!(!c.is_joined());
    }

    #[test]
    fn a_stray_welcome_is_declined_and_the_pair_stands() {
        let mut a = paired(A, B);
        assert_eq!(
            a.receive(TabMessage::Welcome { from: C, to: A }),
            vec![post(TabMessage::Full { from: A, to: C })]
        );
        assert_eq!(
            a.receive(TabMessage::Hello { from: C }),
            vec![post(TabMessage::Full { from: A, to: C })]
        );
        assert_eq!(a.receive(TabMessage::Welcome { from: B, to: A }), vec![]);
        assert_eq!(
            a.receive(TabMessage::Hello { from: B }),
            vec![post(TabMessage::Welcome { from: A, to: B })],
            "the peer's hello again is answered again, without a second start"
        );
        assert_eq!(a.peer(), Some(B));
    }

    #[test]
    fn a_tab_waiting_for_an_answer_holds_a_smaller_offer_and_takes_it_if_turned_down() {
        let mut c = TabRoom::new(C);
        c.join();
        c.receive(TabMessage::Hello { from: D });
        assert_eq!(c.receive(TabMessage::Welcome { from: A, to: C }), vec![]);
        assert_eq!(c.receive(TabMessage::Hello { from: B }), vec![]);
        assert_eq!(
            c.receive(TabMessage::Full { from: D, to: C }),
            vec![
                post(TabMessage::Welcome { from: C, to: A }),
                post(TabMessage::Full { from: C, to: B }),
                TabAction::PeerJoined { polite: true }
            ]
        );
        assert_eq!(c.peer(), Some(A));

        // Without an offer held, turned down means alone again, and saying so.
        let mut a = TabRoom::new(A);
        a.join();
        a.receive(TabMessage::Hello { from: B });
        assert_eq!(
            a.receive(TabMessage::Welcome { from: C, to: A }),
            vec![post(TabMessage::Full { from: A, to: C })],
            "C is larger than B, the tab A waits for: declined"
        );
        assert_eq!(
            a.receive(TabMessage::Leave { from: B }),
            vec![post(TabMessage::Hello { from: A })]
        );
        assert_eq!(a.state, State::Alone);
    }

    #[test]
    fn a_tab_welcomed_back_tells_the_offer_it_held_and_the_hellos_it_heard() {
        let mut c = TabRoom::new(C);
        c.join();
        c.receive(TabMessage::Hello { from: D });
        c.receive(TabMessage::Welcome { from: A, to: C });
        c.receive(TabMessage::Hello { from: B });
        assert_eq!(
            c.receive(TabMessage::Welcome { from: D, to: C }),
            vec![
                post(TabMessage::Full { from: C, to: A }),
                post(TabMessage::Full { from: C, to: B }),
                TabAction::PeerJoined { polite: false }
            ]
        );
        assert_eq!(c.peer(), Some(D));
        // A tab that left is no longer told.
        let mut c = TabRoom::new(C);
        c.join();
        c.receive(TabMessage::Hello { from: D });
        c.receive(TabMessage::Welcome { from: A, to: C });
        c.receive(TabMessage::Hello { from: B });
        c.receive(TabMessage::Leave { from: A });
        c.receive(TabMessage::Leave { from: B });
        assert_eq!(
            c.receive(TabMessage::Welcome { from: D, to: C }),
            vec![TabAction::PeerJoined { polite: false }]
        );
    }

    #[test]
    fn after_the_peer_leaves_a_new_tab_pairs_with_the_one_left() {
        let mut channel = Channel::new(&[B, C, A]);
        channel.join(0);
        channel.join(1);
        channel.settle();
        assert_eq!(channel.events[0], [Event::Started { polite: false }]);
        channel.leave(1);
        channel.settle();
        assert_eq!(channel.tabs[0].peer(), None);
        assert!(channel.tabs[0].is_joined(), "B stays, waiting");
        channel.join(2);
        channel.settle();
        assert_eq!(channel.check(), 1);
        assert_eq!(channel.tabs[0].peer(), Some(A));
        // B was impolite with C; with A it is the polite one.
        assert_eq!(
            channel.events[0],
            [
                Event::Started { polite: false },
                Event::Ended,
                Event::Started { polite: true }
            ]
        );
        assert_eq!(channel.events[2], [Event::Started { polite: false }]);
    }

    #[test]
    fn messages_for_other_tabs_are_ignored() {
        let mut a = paired(A, B);
        for message in [
            TabMessage::Welcome { from: B, to: C },
            TabMessage::Full { from: B, to: C },
            TabMessage::Full { from: C, to: B },
            TabMessage::Signal {
                from: B,
                to: C,
                signal: offer(),
            },
            TabMessage::Signal {
                from: C,
                to: A,
                signal: offer(),
            },
            TabMessage::Leave { from: C },
        ] {
            assert_eq!(a.receive(message.clone()), vec![], "{message:?}");
        }
        assert_eq!(a.peer(), Some(B));

        let mut alone = TabRoom::new(A);
        alone.join();
        for message in [
            TabMessage::Welcome { from: B, to: C },
            TabMessage::Full { from: B, to: C },
            TabMessage::Signal {
                from: B,
                to: A,
                signal: offer(),
            },
            TabMessage::Leave { from: B },
        ] {
            assert_eq!(alone.receive(message.clone()), vec![], "{message:?}");
        }
        assert_eq!(alone.state, State::Alone);
    }

    #[test]
    fn signals_pass_only_between_the_pair() {
        let mut channel = Channel::new(&[A, B, C]);
        for tab in 0..3 {
            channel.join(tab);
        }
        channel.settle();
        channel.check_one_pair_and_the_rest_full();
        let pair: Vec<usize> = (0..3)
            .filter(|&tab| channel.tabs[tab].peer().is_some())
            .collect();
        let (x, y) = (pair[0], pair[1]);
        let out = 3 - x - y;
        channel.send(x, offer());
        channel.send(out, offer());
        channel.settle();
        assert_eq!(channel.events[y].last(), Some(&Event::Signal(offer())));
        assert_eq!(channel.events[out], [Event::Full]);
        assert_eq!(channel.tabs[out].send(offer()), Err(NoPeer));
    }

    #[test]
    fn duplicate_and_late_messages_neither_panic_nor_start_twice() {
        // Every message heard again, in order and backwards, after the room settled.
        for backwards in [false, true] {
            let mut channel = Channel::new(&[A, B, C]);
            channel.join(0);
            channel.join(1);
            channel.settle();
            channel.join(2);
            channel.settle();
            for tab in 0..3 {
                let mut heard = channel.heard[tab].clone();
                if backwards {
                    heard.reverse();
                }
                for message in heard {
                    channel.hear(tab, message);
                }
            }
            channel.settle();
            channel.check_one_pair_and_the_rest_full();
            assert_eq!(channel.tabs[0].peer(), Some(B));
        }

        // A welcome before the hello it answers, a signal before the pair: no harm.
        let mut a = TabRoom::new(A);
        a.join();
        let signal = TabMessage::Signal {
            from: B,
            to: A,
            signal: offer(),
        };
        assert_eq!(a.receive(signal.clone()), vec![]);
        assert_eq!(
            a.receive(TabMessage::Welcome { from: B, to: A }),
            vec![
                post(TabMessage::Welcome { from: A, to: B }),
                TabAction::PeerJoined { polite: false }
            ]
        );
        assert_eq!(
            a.receive(TabMessage::Hello { from: B }),
            vec![post(TabMessage::Welcome { from: A, to: B })]
        );
        assert_eq!(a.receive(TabMessage::Welcome { from: B, to: A }), vec![]);
        assert_eq!(a.receive(signal), vec![TabAction::Signal(offer())]);

        // Messages from before a tab left and came back, heard after.
        let mut channel = Channel::new(&[A, B]);
        channel.join(0);
        channel.join(1);
        channel.deliver(0, 1);
        channel.leave(1);
        channel.join(1);
        channel.settle();
        assert_eq!(channel.check(), 1);
    }

    #[test]
    fn a_tab_that_left_ignores_everything() {
        let mut a = paired(A, B);
        assert_eq!(a.leave(), vec![post(TabMessage::Leave { from: A })]);
        assert!(!a.is_joined());
        assert_eq!(a.peer(), None);
        assert_eq!(a.send(offer()), Err(NoPeer));
        for message in [
            TabMessage::Hello { from: C },
            TabMessage::Welcome { from: B, to: A },
            TabMessage::Full { from: B, to: A },
            TabMessage::Signal {
                from: B,
                to: A,
                signal: offer(),
            },
            TabMessage::Leave { from: B },
        ] {
            assert_eq!(a.receive(message.clone()), vec![], "{message:?}");
        }
        assert_eq!(a.leave(), vec![], "leaving twice says nothing");
        assert_eq!(a.join(), vec![post(TabMessage::Hello { from: A })]);
    }

    #[test]
    fn the_peer_leaving_ends_the_call_and_the_tab_waits_again() {
        let mut a = paired(A, B);
        assert_eq!(
            a.receive(TabMessage::Leave { from: B }),
            vec![TabAction::PeerLeft, post(TabMessage::Hello { from: A })]
        );
        assert!(a.is_joined());
        assert_eq!(a.peer(), None);
        assert_eq!(a.receive(TabMessage::Leave { from: B }), vec![]);
    }

    #[test]
    fn any_comings_and_goings_leave_a_consistent_room() {
        for mut rng in seeds(1000) {
            let n = 2 + rng.below(4);
            let mut channel = Channel::new(&rng.ids(n));
            for _ in 0..60 {
                let tab = rng.below(n);
                match rng.below(10) {
                    0 => channel.join(tab),
                    1 if rng.below(3) == 0 => channel.leave(tab),
                    2 => channel.send(tab, offer()),
                    _ => {
                        let pending = channel.pending();
                        if !pending.is_empty() {
                            let (to, from) = pending[rng.below(pending.len())];
                            channel.deliver(to, from);
                        }
                    }
                }
            }
            channel.settle_randomly(&mut rng);
            channel.check();
        }
    }
    /// The wake-up a tab's actions ask for.
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
    fn a_reloaded_tab_takes_its_seat_back_with_the_role_it_had() {
        let mut channel = Channel::new(&[A, B, C]);
        channel.join(0);
        channel.join(1);
        channel.settle();
        assert_eq!(channel.events[1], [Event::Started { polite: true }]);

        channel.reload(1);
        // A hears the old page go, and keeps its seat: a third tab is told the room is full.
        channel.deliver(0, 1);
        assert_eq!(channel.events[0].last(), Some(&Event::Away));
        assert_eq!(
            channel.tabs[0].send(offer()),
            Err(NoPeer),
            "no call to signal"
        );
        channel.join(2);
        channel.settle();
        assert_eq!(channel.check(), 1);
        assert_eq!(channel.tabs[0].peer(), Some(B));
        assert_eq!(
            channel.events[0],
            [
                Event::Started { polite: false },
                Event::Away,
                Event::Returned { polite: false }
            ]
        );
        assert_eq!(
            channel.events[1],
            [
                Event::Started { polite: true },
                Event::Reloaded,
                Event::Started { polite: true }
            ]
        );
        assert_eq!(channel.events[2], [Event::Full]);
        // The wake-ups asked for meanwhile are stale now.
        for tab in 0..2 {
            while channel.wake(tab, 0) {}
        }
        assert!(channel.pending().is_empty());
        assert_eq!(channel.tabs[0].peer(), Some(B));

        // On the wire, hand-made: the kept tab welcomes back and starts a new call.
        let mut a = paired(A, B);
        let actions = a.receive(TabMessage::Away { from: B, to: A });
        assert_eq!(actions[0], TabAction::PeerAway);
        assert_eq!(
            actions[1],
            TabAction::WakeUp {
                after_ms: TAB_GRACE_MS,
                wait: wake_of(&actions)
            }
        );
        assert_eq!(
            a.receive(TabMessage::Back { from: B, to: A }),
            vec![
                post(TabMessage::Welcome { from: A, to: B }),
                TabAction::PeerReturned { polite: false }
            ]
        );
        let mut b = TabRoom::new(B);
        let actions = b.rejoin(A);
        assert_eq!(actions[0], post(TabMessage::Back { from: B, to: A }));
        assert_eq!(
            b.receive(TabMessage::Welcome { from: A, to: B }),
            vec![TabAction::PeerJoined { polite: true }]
        );
    }

    #[test]
    fn a_page_that_does_not_come_back_is_gone_after_the_grace() {
        let mut a = paired(A, B);
        let wait = wake_of(&a.receive(TabMessage::Away { from: B, to: A }));
        // Its messages are not for the call any more; a stale wake-up does nothing.
        let signal = TabMessage::Signal {
            from: B,
            to: A,
            signal: offer(),
        };
        assert_eq!(a.receive(signal), vec![]);
        assert_eq!(a.wake(wait.wrapping_sub(1)), vec![]);
        assert_eq!(
            a.wake(wait),
            vec![TabAction::PeerLeft, post(TabMessage::Hello { from: A })]
        );
        assert_eq!(a.wake(wait), vec![], "woken twice");
        assert_eq!(a.state, State::Alone);

        // Back after the grace: a newcomer, welcomed to a new call (not a return).
        assert_eq!(
            a.receive(TabMessage::Back { from: B, to: A }),
            vec![
                post(TabMessage::Welcome { from: A, to: B }),
                TabAction::PeerJoined { polite: false }
            ]
        );

        // Leaving for good while its seat is kept: gone at once.
        let mut a = paired(A, B);
        a.receive(TabMessage::Away { from: B, to: A });
        assert_eq!(
            a.receive(TabMessage::Leave { from: B }),
            vec![TabAction::PeerLeft, post(TabMessage::Hello { from: A })]
        );
    }

    #[test]
    fn a_page_gone_without_a_word_is_kept_its_seat_like_one_that_said_so() {
        let mut a = paired(A, B);
        assert_eq!(a.gone(C), vec![]);
        let actions = a.gone(B);
        assert_eq!(actions[0], TabAction::PeerAway);
        assert_eq!(a.in_call_with(), None);
        assert_eq!(a.peer(), Some(B), "its seat is kept");
        assert_eq!(a.gone(B), vec![], "told twice");
        assert_eq!(
            a.wake(wake_of(&actions)),
            vec![TabAction::PeerLeft, post(TabMessage::Hello { from: A })]
        );
        // One this tab waits for, gone: as if it said no.
        let mut a = TabRoom::new(A);
        a.join();
        a.receive(TabMessage::Hello { from: B });
        assert_eq!(a.gone(B), vec![post(TabMessage::Hello { from: A })]);
    }

    #[test]
    fn only_a_peer_is_kept_a_seat_and_only_a_peer_takes_it_back() {
        // Going away, to anyone but the peer, is leaving.
        let mut a = TabRoom::new(A);
        a.join();
        a.receive(TabMessage::Hello { from: B });
        assert_eq!(
            a.receive(TabMessage::Away { from: B, to: A }),
            vec![post(TabMessage::Hello { from: A })]
        );
        let mut a = paired(A, B);
        assert_eq!(a.receive(TabMessage::Away { from: C, to: A }), vec![]);
        assert_eq!(a.state, State::Paired(B));

        // While B's seat is kept, C is turned away, however it asks.
        a.receive(TabMessage::Away { from: B, to: A });
        for message in [
            TabMessage::Hello { from: C },
            TabMessage::Welcome { from: C, to: A },
            TabMessage::Back { from: C, to: A },
        ] {
            assert_eq!(
                a.receive(message.clone()),
                vec![post(TabMessage::Full { from: A, to: C })],
                "{message:?}"
            );
        }
        assert_eq!(a.peer(), Some(B));

        // A page back without its old page's goodbye (it crashed): a return all the same.
        let mut a = paired(A, B);
        assert_eq!(
            a.receive(TabMessage::Back { from: B, to: A }),
            vec![
                post(TabMessage::Welcome { from: A, to: B }),
                TabAction::PeerReturned { polite: false }
            ]
        );
    }

    #[test]
    fn a_reloaded_tab_whose_peer_is_gone_or_taken_enters_as_a_newcomer() {
        // Nobody answers: after the wait, a hello as any new tab says.
        let mut b = TabRoom::new(B);
        let wait = wake_of(&b.rejoin(A));
        assert_eq!(b.wake(wait), vec![post(TabMessage::Hello { from: B })]);
        assert_eq!(b.state, State::Alone);

        // The old peer is paired with someone else by now.
        let mut channel = Channel::new(&[A, B, C]);
        channel.join(0);
        channel.join(1);
        channel.settle();
        let (actions, peer) = channel.tabs[1].go_away();
        assert_eq!(peer, Some(A));
        channel.carry_out(1, actions);
        let b = channel.tabs[1].clone();
        let mut rng = Rng(7);
        // The grace runs out, then C comes and pairs with A.
        channel.settle_all(&mut rng);
        channel.join(2);
        channel.settle_all(&mut rng);
        assert_eq!(channel.tabs[0].peer(), Some(C));
        // B's new page comes only now.
        channel.events[1].push(Event::Reloaded);
        channel.tabs[1] = TabRoom::new(b.me);
        let actions = channel.tabs[1].rejoin(A);
        channel.carry_out(1, actions);
        channel.settle_all(&mut rng);
        channel.check_one_pair_and_the_rest_full();
        assert_eq!(channel.tabs[0].peer(), Some(C));

        // Odd tickets are a plain join.
        let mut b = TabRoom::new(B);
        assert_eq!(b.rejoin(B), vec![post(TabMessage::Hello { from: B })]);
        let mut b = TabRoom::new(B);
        assert_eq!(
            b.rejoin(MAX_TAB_ID + 1),
            vec![post(TabMessage::Hello { from: B })]
        );
    }

    #[test]
    fn reloads_at_any_moment_leave_a_consistent_room() {
        let mut returns = 0;
        for mut rng in seeds(1000) {
            let n = 2 + rng.below(3);
            let mut channel = Channel::new(&rng.ids(n));
            for _ in 0..80 {
                let tab = rng.below(n);
                match rng.below(12) {
                    0 => channel.join(tab),
                    1 if rng.below(3) == 0 => channel.leave(tab),
                    2 | 3 => channel.reload(tab),
                    4 => {
                        let which = rng.below(4);
                        channel.wake(tab, which);
                    }
                    5 => channel.send(tab, offer()),
                    _ => {
                        let pending = channel.pending();
                        if !pending.is_empty() {
                            let (to, from) = pending[rng.below(pending.len())];
                            channel.deliver(to, from);
                        }
                    }
                }
            }
            channel.settle_all(&mut rng);
            channel.check();
            returns += channel
                .events
                .iter()
                .flatten()
                .filter(|e| matches!(e, Event::Returned { .. }))
                .count();
        }
        assert!(
            returns > 100,
            "only {returns} returns: the test misses them"
        );
    }

    #[test]
    fn a_reload_during_a_call_keeps_the_pair_whatever_the_order() {
        for mut rng in seeds(1000) {
            let mut channel = Channel::new(&rng.ids(3));
            channel.join(0);
            channel.join(1);
            channel.settle_randomly(&mut rng);
            assert_eq!(channel.check(), 1);
            channel.reload(1);
            // A third tab comes while the seat is kept, in any order of delivery.
            channel.join(2);
            channel.settle_randomly(&mut rng);
            channel.check_one_pair_and_the_rest_full();
            assert_eq!(channel.tabs[0].peer(), Some(channel.tabs[1].me));
        }
    }
}
