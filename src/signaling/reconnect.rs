//! When the signaling server's WebSocket is lost mid-call: how long to wait before each new try.
//!
//! Exponential backoff with full jitter: the wait before a try is a random share of a cap that
//! doubles with each failed try. When the server restarts, every page in every room loses its
//! socket at the same moment; random waits spread their returns instead of bringing them all
//! back in the same instant, again and again. The caller passes the time and the random number
//! (`Math.random()`), so the rule is tested natively.

/// The cap of the first try: a server that restarts is back within a second or so.
pub const BASE_MS: f64 = 500.0;

/// The largest cap: a page waits at most this long between tries, so it is back within seconds
/// of the server, however long the server was away.
pub const CAP_MS: f64 = 8_000.0;

/// The shortest wait: a try at once after a loss would only meet the same failure.
pub const MIN_MS: f64 = 250.0;

/// How long a socket must stay up for its loss to start the backoff over. A server that takes
/// the socket and drops it at once (shutting down, say) would otherwise be tried again every
/// quarter second; a socket that lasted less than this counts as one more failed try.
pub const STEADY_MS: f64 = 5_000.0;

/// The backoff of one signaling socket; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reconnect {
    /// When the socket was lost; `None` while it is up.
    lost_at: Option<f64>,
    /// When the socket last came up.
    up_since: f64,
    /// Tries that failed since the loss.
    attempts: u32,
    /// `attempts` when the socket last came up, taken up again if it does not stay up.
    before: u32,
}

impl Reconnect {
    /// The socket is up at `now`.
    pub fn new(now: f64) -> Self {
        Self {
            lost_at: None,
            up_since: now,
            attempts: 0,
            before: 0,
        }
    }

    /// The socket closed or failed at `now`. Only the first loss counts until it is up again: the
    /// server's grace for the seat runs from it.
    pub fn lost(&mut self, now: f64) {
        if self.lost_at.is_some() {
            return;
        }
        self.lost_at = Some(now);
        self.attempts = if now - self.up_since < STEADY_MS {
            self.before.saturating_add(1)
        } else {
            0
        };
    }

    /// How long to wait, in ms, before the next try: `random` (in [0, 1)) times the cap of this
    /// try, at least [`MIN_MS`].
    pub fn next_attempt(&self, random: f64) -> f64 {
        let cap = self.cap();
        // `max` first: it also turns a NaN into the shortest wait.
        (random * cap).max(MIN_MS).min(cap)
    }

    /// A try failed: the next one's cap doubles.
    pub fn failed_attempt(&mut self) {
        self.attempts = self.attempts.saturating_add(1);
    }

    /// The socket is up again at `now`: the backoff starts over. Returns how long, in ms, it was
    /// away (0 if it was not lost).
    pub fn connected(&mut self, now: f64) -> f64 {
        let away = self.lost_at.take().map_or(0.0, |at| now - at);
        self.before = self.attempts;
        self.attempts = 0;
        self.up_since = now;
        away
    }

    /// Tries that failed since the loss (a socket that came up and did not stay up counts as one).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the server's grace for this page's seat (`grace_ms`) has passed since the loss:
    /// then the seat is gone, and the page can only join anew, asking for its old role.
    pub fn seat_expired(&self, now: f64, grace_ms: f64) -> bool {
        self.lost_at.is_some_and(|at| now - at >= grace_ms)
    }

    /// The cap of the next try: [`BASE_MS`] doubled for each failed try, at most [`CAP_MS`].
    fn cap(&self) -> f64 {
        // 2^5 × 500 ms is past the cap already; a small exponent keeps `powi` exact.
        (BASE_MS * 2f64.powi(self.attempts.min(5) as i32)).min(CAP_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic random numbers in [0, 1).
    fn randoms(seed: u64) -> impl Iterator<Item = f64> {
        let mut x = seed | 1;
        std::iter::from_fn(move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            Some((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64)
        })
    }

    fn after_failures(n: u32) -> Reconnect {
        let mut r = Reconnect::new(0.0);
        r.lost(60_000.0);
        for _ in 0..n {
            r.failed_attempt();
        }
        r
    }

    #[test]
    fn every_delay_is_within_its_bounds() {
        let edges = [0.0, 1e-9, 0.5, 0.999_999_9, 1.0, -1.0, 2.0, f64::NAN];
        for n in 0..40 {
            let r = after_failures(n);
            let cap = (BASE_MS * 2f64.powi(n.min(10) as i32)).min(CAP_MS);
            for random in randoms(u64::from(n) + 7).take(10_000).chain(edges) {
                let delay = r.next_attempt(random);
                assert!(
                    (MIN_MS..=cap).contains(&delay),
                    "after {n} failures, random {random}: {delay}"
                );
                if (0.0..1.0).contains(&random) && random * cap >= MIN_MS {
                    assert_eq!(delay, random * cap, "full jitter");
                }
            }
        }
    }

    #[test]
    fn the_cap_doubles_from_half_a_second_to_8_s() {
        let caps: Vec<f64> = (0..8)
            .map(|n| after_failures(n).next_attempt(0.999_999_999))
            .map(f64::round)
            .collect();
        assert_eq!(
            caps,
            vec![500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0, 8_000.0, 8_000.0, 8_000.0]
        );
        assert_eq!(after_failures(1_000).next_attempt(0.5), 4_000.0);
        assert_eq!(after_failures(0).next_attempt(0.0), MIN_MS, "never at once");
        assert_eq!(after_failures(0).next_attempt(0.4), MIN_MS);
        assert_eq!(after_failures(0).next_attempt(0.6), 300.0);
    }

    #[test]
    fn connecting_starts_the_backoff_over_and_says_how_long_it_was_away() {
        let mut r = Reconnect::new(0.0);
        assert_eq!(r.connected(100.0), 0.0, "it was not lost");
        r.lost(10_000.0);
        assert_eq!(r.attempts(), 0);
        for _ in 0..4 {
            r.failed_attempt();
        }
        assert_eq!(r.attempts(), 4);
        assert_eq!(r.next_attempt(0.999_999_999).round(), 8_000.0);
        assert_eq!(r.connected(16_500.0), 6_500.0);
        assert_eq!(r.attempts(), 0);
        // Up long enough: the next loss starts from the first cap.
        r.lost(60_000.0);
        assert_eq!(r.attempts(), 0);
        assert_eq!(r.next_attempt(0.999_999_999).round(), 500.0);
    }

    #[test]
    fn a_socket_that_drops_at_once_does_not_start_the_backoff_over() {
        let mut r = Reconnect::new(0.0);
        r.lost(10_000.0);
        r.failed_attempt();
        r.failed_attempt();
        r.connected(12_000.0);
        r.lost(12_100.0);
        assert_eq!(
            r.attempts(),
            3,
            "two failed tries and one that did not last"
        );
        assert_eq!(r.next_attempt(0.999_999_999).round(), 4_000.0);
    }

    #[test]
    fn the_seat_expires_after_the_grace_since_the_loss() {
        let grace = 30_000.0;
        let mut r = Reconnect::new(0.0);
        assert!(!r.seat_expired(1e9, grace), "not lost: the seat is held");
        r.lost(10_000.0);
        r.failed_attempt();
        r.lost(20_000.0);
        assert!(
            !r.seat_expired(39_999.0, grace),
            "a second loss is the same loss"
        );
        assert!(r.seat_expired(40_000.0, grace));
        r.connected(45_000.0);
        assert!(!r.seat_expired(100_000.0, grace));
        r.lost(100_000.0);
        assert!(!r.seat_expired(110_000.0, grace), "a new loss, a new grace");
        assert!(r.seat_expired(130_000.0, grace));
    }
}
