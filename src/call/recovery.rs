//! The ICE recovery policy of one peer connection: when to restart ICE, and when to give up.
//!
//! The rule: a lost media path is repaired while there is any way to repair it, then the page gives
//! up with a plain message. The caller feeds in what the browser says (the connection's state, the
//! selected transport's received bytes, whether signaling is up, the other end's restarts) with
//! the time of each, and calls [`Recovery::tick`] every half second or so and after each input;
//! the answer is what to do now. No clock inside: every time is the caller's `performance.now()`.
//!
//! Trouble is one *episode*, from the moment the path is found lost until it is back (connected,
//! bytes flowing: [`Action::Recovered`]) or the tries run out ([`Action::GiveUp`]). Within an
//! episode the restarts are bounded and spaced out, and the two ends take turns: the initiator
//! restarts at once, the other end only if the trouble outlasts the initiator's chance.

/// How long a call may take to connect at all before it counts as trouble. A direct path on a
/// working network is found in a second or two and a relayed one in a few more; browsers wait
/// about 30 s before saying `failed`, which is longer than anyone watches a spinner. Without a
/// TURN server this is when the page gives up, and it must be well within 20 s.
///
/// It counts from the moment ICE has what it needs: the first offer and answer in place
/// ([`Recovery::negotiated`]) and the other end's candidates in ([`Recovery::candidates_in`]).
/// Before that the time is signaling's, not the path's. In a room of six a newcomer's five calls
/// are set up at once, each other page answering its own five; on a loaded 2-core machine an
/// offer took 8 s to come, the answer 6 s more and the other end's candidates 27 s after the
/// answer: a clock from the call's creation gave up on a path it never had the time to look for.
pub const CONNECT_TIMEOUT_MS: f64 = 15_000.0;

/// How long the first offer and answer, and the other end's candidates, may take to arrive
/// before the connect timeout runs anyway: a call whose signaling never completes (the other
/// end's page stuck) is not left waiting for ever.
pub const SIGNALING_TIMEOUT_MS: f64 = 30_000.0;

/// How long a connection may stay `disconnected` (or `connecting` again) before it counts as
/// trouble: ICE's consent checks miss a beat on a busy Wi-Fi, and such a blip heals by itself.
pub const DISCONNECTED_MS: f64 = 2_000.0;

/// How long the received bytes may stand still on a `connected` connection before it counts as
/// stalled. After the network address changes a connection can say `connected` for many seconds
/// while nothing arrives; with audio alone some 50 packets come every second, so three
/// once-a-second readings with no change are no gap between packets.
pub const STALL_MS: f64 = 3_000.0;

/// How much longer than the initiator the other end waits before each restart of its own. The
/// initiator's restart is an offer through signaling, which arrives well within this: when it
/// does ([`Recovery::remote_restart`]), this end's own restart is put off, so the two ends do not
/// restart at once; when it does not (the trouble is seen only here), this end repairs it itself.
pub const NON_INITIATOR_DELAY_MS: f64 = 5_000.0;

/// The most ICE restarts in one episode. With [`BACKOFF_MS`] the tries span some 30 s and the
/// page gives up about 40 s after the trouble began: long enough for a handover from Wi-Fi to
/// cellular and for signaling to come back, short enough that nobody is left watching a frozen
/// picture.
pub const MAX_RESTARTS: u32 = 6;

/// The wait after the first, second and third restart of an episode before the next; every later
/// wait is the last one. A restart needs a signaling round trip and new candidates (a TURN
/// allocation takes longest), so the second try comes soon after the first; doubling gives a
/// changing network time to settle; the cap keeps the page trying while someone waits. The first
/// value is also the least time between any two restarts of this end, across episodes.
pub const BACKOFF_MS: [f64; 3] = [2_000.0, 4_000.0, 8_000.0];

/// `RTCPeerConnection.connectionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl Connection {
    /// The state named as the browser names it; `None` for a name this page does not know.
    pub fn parse(state: &str) -> Option<Self> {
        Some(match state {
            "new" => Self::New,
            "connecting" => Self::Connecting,
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            "failed" => Self::Failed,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// What the policy needs to know of the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// This end restarts ICE first: the impolite one in perfect negotiation.
    pub initiator: bool,
    /// A TURN server is in `iceServers`: a restart may find a relayed path even where no direct
    /// one exists.
    pub relay_configured: bool,
}

/// Why the page gives up on the call's media path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// It never connected. Without TURN: no direct path exists between the two networks, and a
    /// TURN server is needed. With TURN: even the relay failed.
    NoPath { relay_configured: bool },
    /// It was connected, lost its path, and the tries ran out.
    Lost,
}

/// What the caller does now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    None,
    /// Call `restartIce()`: try number `attempt` of this episode (the other end's restarts in
    /// this episode count as tries too), at most [`MAX_RESTARTS`].
    RestartIce {
        attempt: u32,
    },
    /// Stop trying and say why; nothing more follows.
    GiveUp(GiveUp),
    /// The trouble is over: connected, bytes flowing. `after_ms` is how long the path was lost
    /// ("back after N s"). Once per episode.
    Recovered {
        after_ms: f64,
    },
}

/// One episode of trouble.
#[derive(Clone, Copy, Debug)]
struct Episode {
    /// When it was found to be trouble: the turn-taking counts from here.
    declared_at: f64,
    /// When the path was lost (see [`Recovery::trouble_since`]).
    since: f64,
    /// Restarts in this episode, this end's and the other's.
    tries: u32,
    /// The latest of them; meaningless while `tries` is 0.
    last_try: f64,
}

/// A duration as people read it, "4.2 s" (integer maths: no float formatting in the wasm).
pub fn seconds(ms: f64) -> String {
    let tenths = (ms.max(0.0) / 100.0).round() as u64;
    format!("{}.{} s", tenths / 10, tenths % 10)
}

/// The recovery policy of one peer connection; see the module docs.
#[derive(Debug)]
pub struct Recovery {
    options: Options,
    started: f64,
    /// When the first offer and answer were both in place, if they are.
    negotiated: Option<f64>,
    /// When the other end's first end-of-candidates came, if it did.
    candidates_in: Option<f64>,
    /// The last sign of a path before the state first said `connected`: ICE found one
    /// (`iceConnectionState` connected), or the bytes grew. On a loaded machine the DTLS
    /// handshake after ICE took 6 s, and the media flowed for seconds before the state change was
    /// dispatched: a path found is not one to give up on as missing.
    arriving_at: Option<f64>,
    state: Connection,
    ever_connected: bool,
    /// When the state last left `connected`.
    left_at: f64,
    /// When the received bytes last grew, or when the state last became `connected`: the stall
    /// clock runs from here.
    moved_at: f64,
    /// When the last reading of the bytes came. A stall is what readings show, not the time
    /// since the last growth: on a machine too busy to answer `getStats()` for seconds, no
    /// reading is no evidence, and restarting ICE then only adds to the load.
    read_at: f64,
    /// The bytes have grown since the state last became `connected`.
    flowing: bool,
    bytes: f64,
    signaling_up: bool,
    /// When signaling last came up: the non-initiator's wait runs from here too, so that the two
    /// ends do not both restart the moment it is back.
    signaling_up_at: f64,
    /// The other end's latest restart.
    remote_at: Option<f64>,
    /// This end's latest restart, in any episode.
    own_at: f64,
    episode: Option<Episode>,
    /// Given up or closed: nothing more is done.
    over: bool,
}

impl Recovery {
    /// A new connection at `now`, with signaling up (its first offer is yet to go through it).
    pub fn new(now: f64, options: Options) -> Self {
        Self {
            options,
            started: now,
            negotiated: None,
            candidates_in: None,
            arriving_at: None,
            state: Connection::New,
            ever_connected: false,
            left_at: now,
            moved_at: now,
            read_at: now,
            flowing: false,
            bytes: 0.0,
            signaling_up: true,
            signaling_up_at: now,
            remote_at: None,
            own_at: f64::NEG_INFINITY,
            episode: None,
            over: false,
        }
    }

    /// This end's role changed (the room gave it the other one after the server forgot the
    /// seats): the impolite end restarts first.
    pub fn set_initiator(&mut self, initiator: bool) {
        self.options.initiator = initiator;
    }

    /// The first offer and answer are both in place: ICE may look for a path, and the connect
    /// timeout runs from `now` (only the first time counts).
    pub fn negotiated(&mut self, now: f64) {
        self.negotiated.get_or_insert(now);
    }

    /// The other end said it has no more candidates: with the negotiation done, ICE knows every
    /// path there is to try (only the first time counts).
    pub fn candidates_in(&mut self, now: f64) {
        self.candidates_in.get_or_insert(now);
    }

    /// `iceConnectionState` became `connected` or `completed`: ICE found a path, so the connect
    /// timeout of a call not yet connected counts from now (DTLS is still to come).
    pub fn ice_connected(&mut self, now: f64) {
        if !self.ever_connected {
            self.arriving_at = Some(self.arriving_at.map_or(now, |at| at.max(now)));
        }
    }

    /// `connectionState` changed to `state`.
    pub fn connection(&mut self, state: Connection, now: f64) {
        if self.over || state == self.state {
            return;
        }
        if state == Connection::Closed {
            self.over = true;
            self.episode = None;
            return;
        }
        if state == Connection::Connected {
            self.ever_connected = true;
            // The bytes must flow anew on this connection: the stall clock starts now.
            self.moved_at = now;
            self.flowing = false;
        } else if self.state == Connection::Connected {
            self.left_at = now;
        }
        self.state = state;
    }

    /// The selected transport's `bytesReceived`, read once a second from getStats. Only growth
    /// counts: a new transport's counter starts over, and its next growth is what shows.
    pub fn bytes_received(&mut self, total: f64, now: f64) {
        if self.over || !total.is_finite() {
            return;
        }
        if total > self.bytes {
            if self.state == Connection::Connected {
                self.flowing = true;
                self.moved_at = now;
            } else if !self.ever_connected {
                self.arriving_at = Some(now);
            }
        }
        self.bytes = total;
        self.read_at = self.read_at.max(now);
    }

    /// Signaling went down or came back. A restart is an offer through it: while it is down no
    /// restart is made and no try is counted.
    pub fn signaling(&mut self, up: bool, now: f64) {
        if up && !self.signaling_up {
            self.signaling_up_at = now;
        }
        self.signaling_up = up;
    }

    /// The other end restarted ICE (its new offer arrived): a restart under way for this end too,
    /// which counts as a try and puts off this end's own.
    pub fn remote_restart(&mut self, now: f64) {
        if self.over {
            return;
        }
        self.remote_at = Some(now);
        if let Some(episode) = &mut self.episode {
            episode.tries = episode.tries.saturating_add(1);
            episode.last_try = now;
        }
    }

    /// Whether the page is repairing the path: from the start of the trouble until it is back (or
    /// given up), as of the last [`Recovery::tick`].
    pub fn is_reconnecting(&self) -> bool {
        self.episode.is_some()
    }

    /// Whether the call needs its signaling to be sure now: while it is set up (its offer,
    /// answer and candidates go through it), and while the path may be going (a connection that
    /// was up and now is not, or whose bytes flowed and whose last reading found none new, or a
    /// repair under way: a repair is an offer through it). The page then makes sure its signaling
    /// still works (see `signaling::heartbeat`). The first reading after `connected` may still
    /// find the bytes counted before it: no doubt until they have flowed (no bytes ever is a
    /// stall anyway).
    pub fn in_doubt(&self) -> bool {
        let connected = self.state == Connection::Connected;
        !self.over
            && (self.episode.is_some()
                || !connected
                || (self.flowing && self.read_at > self.moved_at))
    }

    /// While reconnecting, when the path was lost: the moment the connection left `connected`,
    /// or the bytes last grew before a stall, or the start for a call that never connected.
    pub fn trouble_since(&self) -> Option<f64> {
        self.episode.map(|e| e.since)
    }

    /// What to do at `now`.
    #[must_use]
    pub fn tick(&mut self, now: f64) -> Action {
        if self.over {
            return Action::None;
        }
        if let Some(episode) = self.episode {
            if self.healthy(now) {
                self.episode = None;
                return Action::Recovered {
                    after_ms: now - episode.since,
                };
            }
        }
        // Not yet back, but not trouble either (say, connected again and the bytes about to
        // flow): a restart now could only set back one that is working.
        if !self.trouble(now) {
            return Action::None;
        }
        let mut episode = match self.episode {
            Some(episode) => episode,
            None => {
                if !self.ever_connected && !self.options.relay_configured {
                    // No restart can find a direct path that does not exist.
                    return self.give_up(GiveUp::NoPath {
                        relay_configured: false,
                    });
                }
                let since = self.loss_moment();
                // The other end may have restarted before this end saw the trouble.
                let remote = self.remote_at.filter(|&at| at >= since);
                Episode {
                    declared_at: now,
                    since,
                    tries: u32::from(remote.is_some()),
                    last_try: remote.unwrap_or(now),
                }
            }
        };
        self.episode = Some(episode);
        if episode.tries >= MAX_RESTARTS {
            if now < episode.last_try + backoff(episode.tries) {
                return Action::None;
            }
            return self.give_up(if self.ever_connected {
                GiveUp::Lost
            } else {
                GiveUp::NoPath {
                    relay_configured: self.options.relay_configured,
                }
            });
        }
        if !self.signaling_up || now < self.due(&episode) {
            return Action::None;
        }
        episode.tries += 1;
        episode.last_try = now;
        self.own_at = now;
        self.episode = Some(episode);
        Action::RestartIce {
            attempt: episode.tries,
        }
    }

    /// When this end's next restart in `episode` may come.
    fn due(&self, episode: &Episode) -> f64 {
        let base = if episode.tries == 0 {
            episode.declared_at
        } else {
            episode.last_try + backoff(episode.tries)
        };
        let wait = if self.options.initiator {
            0.0
        } else {
            NON_INITIATOR_DELAY_MS
        };
        (base.max(self.signaling_up_at) + wait).max(self.own_at + BACKOFF_MS[0])
    }

    /// Whether the path is lost now.
    fn trouble(&self, now: f64) -> bool {
        match self.state {
            Connection::Failed => true,
            Connection::Connected => self.stalled(),
            _ if self.ever_connected => now - self.left_at >= DISCONNECTED_MS,
            _ => now - self.connect_clock() >= CONNECT_TIMEOUT_MS,
        }
    }

    /// Where the connect timeout of a call that never connected counts from: the later of its
    /// negotiation's end and the other end's last candidate, each at the latest when signaling
    /// has had all the time it may take, or the bytes' last growth if that came later.
    fn connect_clock(&self) -> f64 {
        let by = |moment: Option<f64>| moment.unwrap_or(self.started + SIGNALING_TIMEOUT_MS);
        let ready = by(self.negotiated).max(by(self.candidates_in));
        self.arriving_at.map_or(ready, |at| ready.max(at))
    }

    /// Whether the path works: connected, and the bytes grew lately.
    fn healthy(&self, _now: f64) -> bool {
        self.state == Connection::Connected && self.flowing && !self.stalled()
    }

    /// Whether the readings show the bytes standing still for [`STALL_MS`]: one came that long
    /// after the last growth (or after the state became `connected`) and found none.
    fn stalled(&self) -> bool {
        self.read_at - self.moved_at >= STALL_MS
    }

    /// When the path that is in trouble now was lost.
    fn loss_moment(&self) -> f64 {
        match self.state {
            Connection::Connected => self.moved_at,
            _ if self.ever_connected => self.left_at,
            _ => self.started,
        }
    }

    fn give_up(&mut self, why: GiveUp) -> Action {
        self.over = true;
        self.episode = None;
        Action::GiveUp(why)
    }
}

/// The wait after an episode's `tries`-th restart (`tries` ≥ 1).
fn backoff(tries: u32) -> f64 {
    let index = (tries.saturating_sub(1) as usize).min(BACKOFF_MS.len() - 1);
    BACKOFF_MS[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_and_tenths() {
        assert_eq!(seconds(4_240.0), "4.2 s");
        assert_eq!(seconds(950.0), "1.0 s");
        assert_eq!(seconds(-5.0), "0.0 s");
    }

    /// A call and its clock: ticks every 500 ms, reads the bytes every 1000 ms.
    struct Call {
        r: Recovery,
        now: f64,
        bytes: f64,
        flowing: bool,
        actions: Vec<(f64, Action)>,
    }

    impl Call {
        /// A call whose offer and answer crossed at once, as on an idle machine.
        fn new(initiator: bool, relay_configured: bool) -> Self {
            let mut call = Self::slow(initiator, relay_configured);
            call.r.negotiated(0.0);
            call.r.candidates_in(0.0);
            call
        }

        /// A call whose offer and answer are yet to cross.
        fn slow(initiator: bool, relay_configured: bool) -> Self {
            Self {
                r: Recovery::new(
                    0.0,
                    Options {
                        initiator,
                        relay_configured,
                    },
                ),
                now: 0.0,
                bytes: 0.0,
                flowing: false,
                actions: Vec::new(),
            }
        }

        /// Connected at 1 s with the bytes flowing, and run to 5 s.
        fn connected(initiator: bool) -> Self {
            let mut call = Self::new(initiator, true);
            call.state(Connection::Connecting);
            call.run(1_000.0);
            call.state(Connection::Connected);
            call.flowing = true;
            call.run(4_000.0);
            assert!(call.actions.is_empty(), "{:?}", call.actions);
            call
        }

        fn tick(&mut self) -> Action {
            let action = self.r.tick(self.now);
            if action != Action::None {
                self.actions.push((self.now, action));
            }
            action
        }

        fn state(&mut self, state: Connection) -> Action {
            self.r.connection(state, self.now);
            self.tick()
        }

        fn remote_restart(&mut self) -> Action {
            self.r.remote_restart(self.now);
            self.tick()
        }

        fn signaling(&mut self, up: bool) -> Action {
            self.r.signaling(up, self.now);
            self.tick()
        }

        fn run(&mut self, ms: f64) {
            let end = self.now + ms;
            while self.now < end {
                self.now += 500.0;
                if self.now % 1_000.0 == 0.0 {
                    if self.flowing {
                        self.bytes += 10_000.0;
                    }
                    self.r.bytes_received(self.bytes, self.now);
                }
                self.tick();
            }
        }

        /// The actions from `from` on.
        fn since(&self, from: f64) -> Vec<(f64, Action)> {
            self.actions
                .iter()
                .filter(|(at, _)| *at >= from)
                .copied()
                .collect()
        }

        fn restarts(&self) -> Vec<f64> {
            self.actions
                .iter()
                .filter(|(_, a)| matches!(a, Action::RestartIce { .. }))
                .map(|(at, _)| *at)
                .collect()
        }
    }

    fn restart(attempt: u32) -> Action {
        Action::RestartIce { attempt }
    }

    #[test]
    fn every_connection_state_is_read_by_its_name() {
        for (name, state) in [
            ("new", Connection::New),
            ("connecting", Connection::Connecting),
            ("connected", Connection::Connected),
            ("disconnected", Connection::Disconnected),
            ("failed", Connection::Failed),
            ("closed", Connection::Closed),
        ] {
            assert_eq!(Connection::parse(name), Some(state));
        }
        assert_eq!(Connection::parse("Connected"), None);
        assert_eq!(Connection::parse(""), None);
    }

    #[test]
    fn a_first_connection_is_no_recovery() {
        let mut call = Call::connected(true);
        call.run(60_000.0);
        assert!(call.actions.is_empty());
        assert!(!call.r.is_reconnecting());
        assert_eq!(call.r.trouble_since(), None);
    }

    #[test]
    fn never_connected_and_failed_without_relay_gives_up_at_once() {
        let mut call = Call::new(true, false);
        call.state(Connection::Connecting);
        call.run(4_000.0);
        assert_eq!(
            call.state(Connection::Failed),
            Action::GiveUp(GiveUp::NoPath {
                relay_configured: false
            })
        );
        assert!(!call.r.is_reconnecting());
    }

    #[test]
    fn never_connected_without_relay_gives_up_well_within_20_s_and_never_restarts() {
        for initiator in [true, false] {
            let mut call = Call::new(initiator, false);
            call.state(Connection::Connecting);
            call.run(30_000.0);
            assert_eq!(
                call.actions,
                vec![(
                    CONNECT_TIMEOUT_MS,
                    Action::GiveUp(GiveUp::NoPath {
                        relay_configured: false
                    })
                )]
            );
            assert!(call.actions[0].0 <= 15_000.0, "well within 20 s");
        }
    }

    #[test]
    fn no_reading_is_no_stall_and_readings_that_stand_still_are() {
        let options = Options {
            initiator: true,
            relay_configured: true,
        };
        let mut r = Recovery::new(0.0, options);
        r.negotiated(0.0);
        r.candidates_in(0.0);
        r.connection(Connection::Connected, 1_000.0);
        r.bytes_received(5_000.0, 2_000.0);
        // A machine too busy to answer getStats for 6 s: nothing read, nothing restarted.
        for now in [3_000.0, 5_000.0, 8_000.0] {
            assert_eq!(r.tick(now), Action::None, "at {now}");
        }
        // The late reading shows the bytes grew: still fine.
        r.bytes_received(9_000.0, 8_500.0);
        assert_eq!(r.tick(8_500.0), Action::None);
        assert!(!r.is_reconnecting());
        // Readings that come and find the bytes standing still for 3 s are a stall.
        r.bytes_received(9_000.0, 10_000.0);
        assert_eq!(r.tick(10_000.0), Action::None);
        r.bytes_received(9_000.0, 11_500.0);
        assert_eq!(r.tick(11_500.0), Action::RestartIce { attempt: 1 });
        assert_eq!(r.trouble_since(), Some(8_500.0), "since the last growth");
    }

    #[test]
    fn bytes_arriving_before_the_state_says_connected_are_a_path_not_a_timeout() {
        // A room of six on a loaded machine (CI): the media flowed for seconds before the page
        // was told `connected`, and the call was given up as having no path at 15 s.
        let mut call = Call::new(false, false);
        call.state(Connection::Connecting);
        call.run(12_000.0);
        call.flowing = true;
        call.run(8_000.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
        call.state(Connection::Connected);
        call.run(30_000.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
        // ICE found a path and DTLS takes its time (6 s on a loaded machine): no give-up.
        let mut call = Call::new(false, false);
        call.state(Connection::Connecting);
        call.run(10_000.0);
        call.r.ice_connected(call.now);
        call.run(14_000.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
        call.state(Connection::Connected);
        call.flowing = true;
        call.run(10_000.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
        // Bytes that stop before it connects: the timeout counts from the last of them.
        let mut call = Call::new(false, false);
        call.state(Connection::Connecting);
        call.flowing = true;
        call.run(5_000.0);
        call.flowing = false;
        call.run(30_000.0);
        assert_eq!(
            call.actions,
            vec![(
                5_000.0 + CONNECT_TIMEOUT_MS,
                Action::GiveUp(GiveUp::NoPath {
                    relay_configured: false
                })
            )]
        );
    }

    #[test]
    fn the_connect_timeout_counts_from_when_ice_has_what_it_needs() {
        // A room of six on a loaded machine: the offer and answer took 7 s to cross, the other
        // end's candidates 27 s more.
        let mut call = Call::slow(false, false);
        call.run(7_000.0);
        call.r.negotiated(7_000.0);
        call.state(Connection::Connecting);
        // A later renegotiation does not move the clock.
        call.run(13_000.0);
        call.r.negotiated(20_000.0);
        call.run(14_000.0);
        call.r.candidates_in(34_000.0);
        call.run(26_000.0);
        assert_eq!(
            call.actions,
            vec![(
                34_000.0 + CONNECT_TIMEOUT_MS,
                Action::GiveUp(GiveUp::NoPath {
                    relay_configured: false
                })
            )]
        );
        // On a quick network the page still says within 20 s that there is no direct path.
        let mut call = Call::slow(true, false);
        call.r.negotiated(800.0);
        call.r.candidates_in(1_200.0);
        call.run(30_000.0);
        assert_eq!(
            call.actions,
            vec![(
                // The first tick after 1.2 s + 15 s.
                16_500.0,
                Action::GiveUp(GiveUp::NoPath {
                    relay_configured: false
                })
            )]
        );
        // One whose signaling never completes is not left waiting for ever.
        let mut call = Call::slow(true, false);
        call.r.negotiated(1_000.0);
        call.run(60_000.0);
        assert_eq!(
            call.actions,
            vec![(
                SIGNALING_TIMEOUT_MS + CONNECT_TIMEOUT_MS,
                Action::GiveUp(GiveUp::NoPath {
                    relay_configured: false
                })
            )]
        );
    }

    #[test]
    fn never_connected_with_relay_tries_then_says_even_the_relay_failed() {
        let mut call = Call::new(true, true);
        call.state(Connection::Connecting);
        call.run(120_000.0);
        assert_eq!(
            call.restarts(),
            vec![15_000.0, 17_000.0, 21_000.0, 29_000.0, 37_000.0, 45_000.0]
        );
        assert_eq!(
            call.actions.last(),
            Some(&(
                53_000.0,
                Action::GiveUp(GiveUp::NoPath {
                    relay_configured: true
                })
            ))
        );
        // It failed early: the first try comes at once.
        let mut call = Call::new(true, true);
        call.run(3_000.0);
        assert_eq!(call.state(Connection::Failed), restart(1));
        assert!(call.r.is_reconnecting());
        assert_eq!(call.r.trouble_since(), Some(0.0), "waiting since the start");
    }

    #[test]
    fn never_connected_with_relay_connects_after_a_restart() {
        let mut call = Call::new(true, true);
        call.state(Connection::Failed);
        assert_eq!(call.actions, vec![(0.0, restart(1))]);
        call.run(1_000.0);
        call.state(Connection::Connected);
        call.flowing = true;
        call.run(2_000.0);
        assert_eq!(
            call.since(500.0),
            vec![(2_000.0, Action::Recovered { after_ms: 2_000.0 })]
        );
    }

    #[test]
    fn a_short_disconnection_is_a_blip() {
        let mut call = Call::connected(true);
        call.state(Connection::Disconnected);
        call.run(1_500.0);
        assert!(!call.r.is_reconnecting());
        call.state(Connection::Connected);
        call.run(10_000.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
    }

    #[test]
    fn disconnected_for_2_s_the_initiator_restarts_at_once() {
        let mut call = Call::connected(true);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(1_500.0);
        assert!(call.actions.is_empty());
        call.run(500.0);
        assert_eq!(call.actions, vec![(7_000.0, restart(1))]);
        assert!(call.r.is_reconnecting());
        assert_eq!(call.r.trouble_since(), Some(5_000.0));
    }

    #[test]
    fn failed_after_connecting_is_trouble_at_once() {
        let mut call = Call::connected(true);
        call.flowing = false;
        assert_eq!(call.state(Connection::Failed), restart(1));
        assert_eq!(call.r.trouble_since(), Some(5_000.0));
        // Disconnected first, then failed: the path was lost at the disconnection.
        let mut call = Call::connected(true);
        call.state(Connection::Disconnected);
        call.run(1_000.0);
        assert_eq!(call.state(Connection::Failed), restart(1));
        assert_eq!(call.r.trouble_since(), Some(5_000.0));
    }

    #[test]
    fn the_first_empty_reading_raises_a_doubt_well_before_the_stall() {
        let mut call = Call::new(true, true);
        call.run(2_000.0);
        assert!(call.r.in_doubt(), "a call being set up needs its signaling");
        call.state(Connection::Connected);
        call.run(1_000.0);
        assert!(
            !call.r.in_doubt(),
            "no bytes yet since connected: a stall, not a doubt"
        );
        call.flowing = true;
        call.run(4_000.0);
        assert!(!call.r.in_doubt(), "bytes flowing");
        let cut = call.now;
        call.flowing = false;
        let mut doubt = None;
        while call.restarts().is_empty() {
            call.run(500.0);
            if call.r.in_doubt() {
                doubt.get_or_insert(call.now);
            }
        }
        let doubt = doubt.expect("a doubt");
        assert!(
            doubt - cut <= 1_000.0,
            "doubt {} ms after the cut",
            doubt - cut
        );
        assert!(call.restarts()[0] - doubt >= 2_000.0, "{:?}", call.actions);
        // Back: the doubt goes with the first reading that finds bytes again.
        call.flowing = true;
        call.run(1_000.0);
        assert!(!call.r.in_doubt(), "{:?}", call.actions);
        // A state that leaves `connected` is a doubt at once.
        call.state(Connection::Disconnected);
        assert!(call.r.in_doubt());
        call.state(Connection::Closed);
        assert!(!call.r.in_doubt(), "a closed call is over");
    }

    #[test]
    fn a_connection_whose_bytes_stop_has_stalled() {
        let mut call = Call::connected(true);
        // Still `connected`, and nothing arrives: the last growth was at 5 s.
        call.flowing = false;
        call.run(2_500.0);
        assert!(call.actions.is_empty());
        call.run(500.0);
        assert_eq!(call.actions, vec![(8_000.0, restart(1))]);
        assert_eq!(call.r.trouble_since(), Some(5_000.0));
        // The bytes flow again on the same connection: back.
        call.flowing = true;
        call.run(1_000.0);
        assert_eq!(
            call.since(8_500.0),
            vec![(9_000.0, Action::Recovered { after_ms: 4_000.0 })]
        );
    }

    #[test]
    fn connected_with_no_bytes_ever_has_stalled() {
        let mut call = Call::new(true, true);
        call.run(1_000.0);
        call.state(Connection::Connected);
        call.run(4_500.0);
        assert_eq!(call.actions, vec![(4_000.0, restart(1))]);
    }

    #[test]
    fn restarts_back_off_then_the_page_gives_up() {
        let mut call = Call::connected(true);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(120_000.0);
        // Trouble at 7 s; waits of 2, 4, 8, 8, 8 s.
        assert_eq!(
            call.restarts(),
            vec![7_000.0, 9_000.0, 13_000.0, 21_000.0, 29_000.0, 37_000.0]
        );
        let attempts: Vec<_> = call
            .actions
            .iter()
            .filter_map(|(_, a)| match a {
                Action::RestartIce { attempt } => Some(*attempt),
                _ => None,
            })
            .collect();
        assert_eq!(attempts, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(
            call.actions.last(),
            Some(&(45_000.0, Action::GiveUp(GiveUp::Lost)))
        );
        assert_eq!(call.actions.len(), 7, "nothing after giving up");
        assert!(!call.r.is_reconnecting());
    }

    #[test]
    fn no_restart_while_signaling_is_down_then_one_as_soon_as_it_is_back() {
        let mut call = Call::connected(true);
        call.signaling(false);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(20_000.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
        assert!(call.r.is_reconnecting(), "the trouble shows all the same");
        call.now += 250.0;
        // No try was counted meanwhile.
        assert_eq!(call.signaling(true), restart(1));
        call.run(2_000.0);
        assert_eq!(call.since(25_500.0), vec![(27_250.0, restart(2))]);
    }

    #[test]
    fn with_signaling_down_and_tries_left_the_page_waits_for_it() {
        let mut call = Call::connected(true);
        call.state(Connection::Failed);
        call.signaling(false);
        call.run(300_000.0);
        assert_eq!(call.actions, vec![(5_000.0, restart(1))]);
        assert!(call.r.is_reconnecting());
    }

    #[test]
    fn the_non_initiator_waits_5_s_more() {
        let mut call = Call::connected(false);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(6_500.0);
        assert!(
            call.actions.is_empty(),
            "no restart from the other end came"
        );
        call.run(500.0);
        assert_eq!(call.actions, vec![(12_000.0, restart(1))]);
        // And 5 s more than the initiator's wait for each next one.
        call.run(7_000.0);
        assert_eq!(call.restarts(), vec![12_000.0, 19_000.0]);
    }

    #[test]
    fn a_restart_from_the_initiator_puts_the_non_initiators_off() {
        let mut call = Call::connected(false);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(3_000.0);
        assert!(call.r.is_reconnecting());
        assert_eq!(call.remote_restart(), Action::None);
        call.run(6_500.0);
        assert!(call.actions.is_empty(), "{:?}", call.actions);
        // The other end's restart was try 1; this end's own comes 2 s + 5 s after it.
        call.run(500.0);
        assert_eq!(call.actions, vec![(15_000.0, restart(2))]);
    }

    #[test]
    fn a_remote_restart_before_the_trouble_shows_here_counts_too() {
        let mut call = Call::connected(false);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(1_000.0);
        call.remote_restart();
        call.run(10_000.0);
        assert_eq!(call.restarts(), vec![13_000.0]);
        assert_eq!(call.actions[0].1, restart(2));
    }

    #[test]
    fn a_remote_restart_also_delays_the_initiators_next() {
        let mut call = Call::connected(true);
        call.state(Connection::Failed);
        call.run(1_000.0);
        call.remote_restart();
        call.run(5_000.0);
        assert_eq!(call.restarts(), vec![5_000.0, 10_000.0]);
    }

    #[test]
    fn a_restart_that_brings_the_path_back_needs_no_other() {
        let mut call = Call::connected(true);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(2_000.0);
        assert_eq!(call.restarts(), vec![7_000.0]);
        call.run(1_500.0);
        call.state(Connection::Connected);
        // Connected, the bytes not yet flowing: no restart, not back yet either.
        call.run(2_000.0);
        assert_eq!(call.restarts(), vec![7_000.0]);
        assert!(call.r.is_reconnecting());
        call.flowing = true;
        call.run(10_000.0);
        assert_eq!(
            call.since(7_500.0),
            vec![(11_000.0, Action::Recovered { after_ms: 6_000.0 })]
        );
        assert!(!call.r.is_reconnecting());
    }

    #[test]
    fn recovered_comes_once_and_the_tries_start_over() {
        let mut call = Call::connected(true);
        call.state(Connection::Disconnected);
        call.flowing = false;
        call.run(10_000.0);
        assert_eq!(call.restarts().len(), 3);
        call.state(Connection::Connected);
        call.flowing = true;
        call.run(30_000.0);
        let recovered: Vec<_> = call
            .actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Recovered { .. }))
            .collect();
        assert_eq!(
            recovered,
            vec![&(16_000.0, Action::Recovered { after_ms: 11_000.0 })]
        );
        // A new episode: its tries count from 1.
        call.flowing = false;
        assert_eq!(call.state(Connection::Failed), restart(1));
    }

    #[test]
    fn no_restart_sooner_than_2_s_after_the_last_even_in_a_new_episode() {
        let mut call = Call::connected(true);
        call.state(Connection::Failed);
        call.run(500.0);
        call.state(Connection::Connected);
        call.run(1_000.0);
        assert!(!call.r.is_reconnecting(), "back at 6 s");
        assert_eq!(call.state(Connection::Failed), Action::None);
        call.run(500.0);
        assert_eq!(call.restarts(), vec![5_000.0, 7_000.0]);
    }

    #[test]
    fn closed_ends_everything() {
        let mut call = Call::connected(true);
        call.state(Connection::Failed);
        assert!(call.r.is_reconnecting());
        assert_eq!(call.state(Connection::Closed), Action::None);
        assert!(!call.r.is_reconnecting());
        call.remote_restart();
        call.state(Connection::Connected);
        call.state(Connection::Failed);
        call.run(120_000.0);
        assert_eq!(call.actions, vec![(5_000.0, restart(1))]);
    }

    /// xorshift64*: deterministic, so a failing seed can be run again.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        }

        fn chance(&mut self, p: f64) -> bool {
            self.next() < p
        }
    }

    #[test]
    fn random_calls_keep_the_rules() {
        const STATES: [Connection; 5] = [
            Connection::New,
            Connection::Connecting,
            Connection::Connected,
            Connection::Disconnected,
            Connection::Failed,
        ];
        for seed in 1..=2_000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let options = Options {
                initiator: rng.chance(0.5),
                relay_configured: rng.chance(0.7),
            };
            let mut now = rng.next() * 10_000.0;
            let mut r = Recovery::new(now, options);
            let (mut bytes, mut flowing, mut signaling_up) = (0.0, true, true);
            let mut last_restart = f64::NEG_INFINITY;
            let mut in_episode = 0u32;
            let mut finished = false;
            let mut next_stats = now + 1_000.0;
            while now < 200_000.0 {
                now += 50.0 + rng.next() * 700.0;
                if rng.chance(0.04) {
                    let state = STATES[(rng.next() * STATES.len() as f64) as usize];
                    r.connection(state, now);
                }
                if rng.chance(0.002) {
                    r.connection(Connection::Closed, now);
                }
                if rng.chance(0.03) {
                    flowing = !flowing;
                }
                if rng.chance(0.02) {
                    signaling_up = !signaling_up;
                    r.signaling(signaling_up, now);
                }
                if signaling_up && rng.chance(0.01) {
                    r.remote_restart(now);
                }
                if now >= next_stats {
                    next_stats += 1_000.0;
                    if flowing {
                        bytes += 1.0 + rng.next() * 10_000.0;
                    }
                    r.bytes_received(bytes, now);
                }
                let closed = r.over && !finished;
                let action = r.tick(now);
                let context = || format!("seed {seed} at {now}: {action:?}");
                if finished || closed {
                    assert_eq!(action, Action::None, "{}", context());
                    finished = true;
                    continue;
                }
                match action {
                    Action::None => {}
                    Action::RestartIce { attempt } => {
                        assert!(now - last_restart >= 2_000.0, "{}", context());
                        assert!(signaling_up, "{}", context());
                        assert!(attempt <= MAX_RESTARTS, "{}", context());
                        in_episode += 1;
                        assert!(in_episode <= MAX_RESTARTS, "{}", context());
                        assert!(r.is_reconnecting(), "{}", context());
                        last_restart = now;
                    }
                    Action::GiveUp(_) => finished = true,
                    Action::Recovered { after_ms } => {
                        assert!(after_ms > 0.0, "{}", context());
                        assert!(!r.is_reconnecting(), "{}", context());
                        in_episode = 0;
                    }
                }
            }
        }
    }
}
