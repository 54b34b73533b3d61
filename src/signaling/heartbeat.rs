//! When a seated page pings the signaling server, and when it takes the socket for quiet or dead.
//!
//! A browser page cannot see TCP give up on a socket (that may take minutes), so it asks: a ping,
//! which the server answers with a pong. How often is a trade. The page needs to know within a
//! couple of seconds only when a call's path is in doubt, since repairing it (an ICE restart) is
//! an offer through the signaling; while the media flows the socket can go unasked for a while.
//! A page that pinged every second whatever the call did cost a server of 10,000 pages 10,000
//! pings and pongs a second, five times the heartbeats of PeerJS's client, for nothing.
//!
//! So: a ping when nothing was heard or asked for [`IDLE_PING_MS`]; while a call is in doubt
//! ([`Heartbeat::watch`]), one at once and one every [`WATCH_PING_MS`]. A ping unanswered for
//! [`QUIET_MS`] makes the socket quiet (the call stops asking for ICE restarts through it), for
//! [`DEAD_MS`] dead (the page moves to a new one). Anything heard from the server answers. The
//! caller passes the time (`performance.now()`), so the rule is tested natively.

/// A ping when nothing was heard from the server or asked of it for this long: the PeerJS
/// client's own heartbeat. A dead socket under a call whose media flows is found within this and
/// [`DEAD_MS`]; a call in doubt does not wait for it (see [`WATCH_PING_MS`]).
pub const IDLE_PING_MS: f64 = 5_000.0;

/// A ping at least this often while a call is in doubt, and one at once when a doubt begins. The
/// call's recovery reads its bytes once a second and calls a path stalled at the third reading
/// without new ones: the ping of the first has waited two readings by then, past [`QUIET_MS`],
/// so the socket is found quiet at that reading, before a restart is sent into it.
pub const WATCH_PING_MS: f64 = 1_000.0;

/// How long a call's doubt keeps the pings close together; the call says it again at every
/// reading (once a second) that still finds it in doubt.
pub const WATCH_MS: f64 = 2_500.0;

/// A ping unanswered for this long: the socket is quiet. A server answers in a round trip; one on
/// a busy machine within a second.
pub const QUIET_MS: f64 = 1_500.0;

/// A ping unanswered for this long: the socket is taken for dead and the page moves to a new one.
pub const DEAD_MS: f64 = 7_000.0;

/// A gap this long between two of the page's own beats (due every half second) means the page
/// itself did not run meanwhile: a CPU starved by other work, a tab the browser froze. An answer
/// may then be waiting, unread, behind the beat, so the socket is not judged on that wait.
pub const STALLED_MS: f64 = 2_000.0;

/// What the answers say of the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Every ping answered, or the oldest unanswered one asked only a moment ago.
    Alive,
    /// A ping unanswered for [`QUIET_MS`].
    Quiet,
    /// A ping unanswered for [`DEAD_MS`].
    Dead,
}

/// The heartbeat of one seat's sockets; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heartbeat {
    /// When the server was last heard from.
    heard_at: f64,
    /// When the oldest ping not yet answered went out.
    asked_at: Option<f64>,
    /// When the last ping went out.
    pinged_at: f64,
    /// Pings come every [`WATCH_PING_MS`] until then.
    watch_until: f64,
    /// A doubt began: ping now, however recent the last ping.
    ask_now: bool,
    /// The page's last beat.
    beat_at: f64,
}

impl Heartbeat {
    /// A socket just heard from (its seat message).
    pub fn new(now: f64) -> Self {
        Self {
            heard_at: now,
            asked_at: None,
            pinged_at: f64::NEG_INFINITY,
            watch_until: f64::NEG_INFINITY,
            ask_now: false,
            beat_at: now,
        }
    }

    /// The page beats at `now`, before it reads [`Heartbeat::health`]. After a stall (see
    /// [`STALLED_MS`]) a ping still unanswered counts as asked now: the page gives the answer
    /// the time it would have had, had the page been running.
    pub fn beat(&mut self, now: f64) {
        if now - self.beat_at >= STALLED_MS {
            if let Some(asked) = &mut self.asked_at {
                *asked = asked.max(now);
            }
        }
        self.beat_at = now;
    }

    /// Something came from the server: every ping before it is answered.
    pub fn heard(&mut self, now: f64) {
        self.heard_at = self.heard_at.max(now);
        self.asked_at = None;
    }

    /// A call's path is in doubt: a ping at once if the doubt is new, then pings close together
    /// for [`WATCH_MS`]. (A ping sent just before a cut and answered says nothing of the cut.)
    pub fn watch(&mut self, now: f64) {
        if now >= self.watch_until {
            self.ask_now = true;
        }
        self.watch_until = self.watch_until.max(now + WATCH_MS);
    }

    /// Whether a ping should go now.
    pub fn ping_due(&self, now: f64) -> bool {
        if now < self.watch_until {
            // A message heard a moment ago says nothing of a cut since: ask.
            self.ask_now || now - self.pinged_at >= WATCH_PING_MS
        } else {
            now - self.heard_at.max(self.pinged_at) >= IDLE_PING_MS
        }
    }

    /// A ping went out.
    pub fn pinged(&mut self, now: f64) {
        self.pinged_at = now;
        self.ask_now = false;
        self.asked_at.get_or_insert(now);
    }

    /// The socket as the answers show it at `now`.
    pub fn health(&self, now: f64) -> Health {
        match self.asked_at.map(|at| now - at) {
            Some(waited) if waited >= DEAD_MS => Health::Dead,
            Some(waited) if waited >= QUIET_MS => Health::Quiet,
            _ => Health::Alive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Beats every half second from `from` to `to` as the page does (ping when due; the server
    /// answering after `rtt` while `answers`), and returns the pings' times and the first moment
    /// each health other than alive was seen.
    fn run(
        beat: &mut Heartbeat,
        from: f64,
        to: f64,
        rtt: f64,
        answers: impl Fn(f64) -> bool,
    ) -> (Vec<f64>, Option<f64>, Option<f64>) {
        let (mut pings, mut quiet, mut dead) = (Vec::new(), None, None);
        let mut pending: Vec<f64> = Vec::new();
        let mut now = from;
        while now <= to {
            pending.retain(|&at| {
                let answered = at + rtt <= now;
                if answered {
                    beat.heard(at + rtt);
                }
                !answered
            });
            match beat.health(now) {
                Health::Alive => {}
                Health::Quiet => {
                    quiet.get_or_insert(now);
                }
                Health::Dead => {
                    dead.get_or_insert(now);
                }
            }
            if beat.ping_due(now) {
                beat.pinged(now);
                pings.push(now);
                if answers(now) {
                    pending.push(now);
                }
            }
            now += 500.0;
        }
        (pings, quiet, dead)
    }

    #[test]
    fn an_answered_socket_is_pinged_every_five_seconds_and_stays_alive() {
        let mut beat = Heartbeat::new(0.0);
        let (pings, quiet, dead) = run(&mut beat, 0.0, 60_000.0, 40.0, |_| true);
        // The first when nothing was heard for five seconds, then five seconds after each pong.
        assert_eq!(pings.first(), Some(&5_000.0));
        assert!(pings.len() >= 9 && pings.len() <= 12, "{pings:?}");
        assert!(pings.windows(2).all(|w| w[1] - w[0] >= IDLE_PING_MS));
        assert_eq!((quiet, dead), (None, None));
    }

    #[test]
    fn messages_from_the_server_stand_in_for_pongs() {
        let mut beat = Heartbeat::new(0.0);
        for t in (0..20).map(|s| f64::from(s) * 1_000.0) {
            beat.heard(t);
            assert!(!beat.ping_due(t + 500.0));
        }
        assert!(beat.ping_due(19_000.0 + IDLE_PING_MS));
    }

    #[test]
    fn a_call_in_doubt_finds_a_cut_quiet_by_the_reading_that_calls_it_stalled() {
        // The call reads its bytes once a second; the last growth is at `last`, the cut just
        // after it. The first empty reading raises the doubt and so does every one after it;
        // the third (`last` + 3 s) calls the path stalled, and the page's beats come every half
        // second in between. Whatever the beats' phase against the readings, and even with an
        // idle ping answered just before the doubt, the socket is quiet at that third reading.
        for phase in [0.0, 100.0, 250.0, 400.0] {
            for answered_before in [None, Some(300.0), Some(900.0)] {
                let last = 20_000.0;
                let mut beat = Heartbeat::new(0.0);
                if let Some(before) = answered_before {
                    let asked = last + 1_000.0 - before;
                    beat.pinged(asked);
                    beat.heard(asked.min(last));
                }
                let (mut now, mut quiet) = (last + phase, None);
                while now <= last + 3_000.0 {
                    let reading = ((now - last) % 1_000.0).abs() < 1.0 && now > last;
                    if reading {
                        beat.watch(now);
                        if beat.ping_due(now) {
                            beat.pinged(now);
                        }
                    }
                    if beat.health(now) != Health::Alive {
                        quiet.get_or_insert(now);
                    }
                    if beat.ping_due(now) {
                        beat.pinged(now);
                    }
                    // The next beat or reading, whichever comes first.
                    let next_beat = now + 500.0;
                    let next_reading = last + ((now - last) / 1_000.0).floor() * 1_000.0 + 1_000.0;
                    now = next_beat.min(next_reading);
                }
                let quiet = quiet.unwrap_or(f64::INFINITY);
                assert!(
                    quiet <= last + 3_000.0,
                    "phase {phase}, answered {answered_before:?}: quiet at {} s after the last growth",
                    (quiet - last) / 1e3
                );
            }
        }
    }

    #[test]
    fn a_page_that_did_not_run_does_not_judge_its_socket_on_that_wait() {
        let mut beat = Heartbeat::new(0.0);
        beat.beat(4_500.0);
        beat.pinged(5_000.0);
        beat.beat(5_000.0);
        // Frozen for 10 s: the pong may be in the queue behind this beat.
        beat.beat(15_000.0);
        assert_eq!(beat.health(15_000.0), Health::Alive);
        // It was there: nothing is wrong.
        beat.heard(15_010.0);
        assert_eq!(beat.health(15_500.0), Health::Alive);
        // A ping at 5 s never answered, the page beating every half second from `from` (after
        // its last beat at `last`): when the socket is found dead.
        let dead_at = |last: f64, from: f64| {
            let mut beat = Heartbeat::new(last);
            beat.pinged(5_000.0);
            beat.beat(from);
            let mut now = from;
            while beat.health(now) != Health::Dead {
                now += 500.0;
                beat.beat(now);
            }
            now
        };
        // It was not there: judged from the stall's end, beat by beat as the page runs again.
        assert_eq!(dead_at(0.0, 15_000.0), 15_000.0 + DEAD_MS);
        // Beats on time judge as before.
        assert_eq!(dead_at(4_800.0, 5_000.0), 5_000.0 + DEAD_MS);
    }

    #[test]
    fn a_cut_under_a_call_in_doubt_is_found_dead_within_the_dead_wait() {
        let mut beat = Heartbeat::new(0.0);
        let doubt = 11_000.0;
        let mut now = doubt;
        let mut dead = None;
        while now < doubt + 10_000.0 {
            beat.watch(now);
            if beat.ping_due(now) {
                beat.pinged(now);
            }
            if beat.health(now) == Health::Dead {
                dead.get_or_insert(now);
            }
            now += 500.0;
        }
        assert_eq!(dead, Some(doubt + DEAD_MS));
    }

    #[test]
    fn a_doubt_on_a_live_socket_costs_a_ping_a_second_and_then_stops() {
        let mut beat = Heartbeat::new(0.0);
        beat.watch(1_000.0);
        let (pings, quiet, dead) = run(&mut beat, 1_000.0, 20_000.0, 40.0, |_| true);
        assert_eq!((quiet, dead), (None, None));
        // One at once, then one a second while the doubt lasts.
        let watched: Vec<f64> = pings
            .iter()
            .copied()
            .filter(|&t| t < 1_000.0 + WATCH_MS)
            .collect();
        assert_eq!(watched, [1_000.0, 2_000.0, 3_000.0], "{pings:?}");
        // After the doubt, back to one every five seconds.
        let after: Vec<f64> = pings
            .iter()
            .copied()
            .filter(|&t| t >= 1_000.0 + WATCH_MS)
            .collect();
        assert!(
            after.windows(2).all(|w| w[1] - w[0] >= IDLE_PING_MS),
            "{after:?}"
        );
    }

    #[test]
    fn an_idle_cut_is_found_dead_within_the_idle_period_and_the_dead_wait() {
        let mut beat = Heartbeat::new(0.0);
        let cut = 12_000.0;
        let (_, quiet, dead) = run(&mut beat, 0.0, 40_000.0, 40.0, |at| at < cut);
        let (quiet, dead) = (quiet.expect("quiet"), dead.expect("dead"));
        assert!(
            quiet > cut && quiet - cut <= IDLE_PING_MS + QUIET_MS + 500.0,
            "{quiet}"
        );
        assert!(dead - cut <= IDLE_PING_MS + DEAD_MS + 500.0, "{dead}");
    }

    #[test]
    fn a_slow_answer_is_quiet_for_a_while_and_alive_once_it_comes() {
        let mut beat = Heartbeat::new(0.0);
        beat.pinged(5_000.0);
        assert_eq!(beat.health(6_000.0), Health::Alive);
        assert_eq!(beat.health(6_500.0), Health::Quiet);
        // Pings while unanswered do not move the clock of the oldest.
        beat.pinged(6_500.0);
        assert_eq!(beat.health(5_000.0 + DEAD_MS), Health::Dead);
        beat.heard(12_500.0);
        assert_eq!(beat.health(12_500.0), Health::Alive);
    }
}
