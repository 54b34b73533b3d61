//! What a connection must pass: an `Origin` this server serves, and a message rate it can bear.

use std::time::{Duration, Instant};

/// Whether a WebSocket request's `Origin` may connect: the page must come from this server
/// itself (`scheme://Host`), from one of its `public` origins (as a TLS-terminating proxy
/// serves it), or from an origin allowed on the command line (the development server, which
/// proxies the WebSocket). Browsers always send `Origin` on a WebSocket; a request without one
/// is not from a page, and a page elsewhere must not drive calls here.
///
/// `Host` itself must be one this server answers to: an address, `localhost`, or a public
/// origin's name. Any other name is a page that made its own name point here (DNS rebinding),
/// whose Origin would match its Host.
pub fn origin_allowed(
    origin: Option<&str>,
    host: Option<&str>,
    tls: bool,
    allowed: &[String],
    public: &[String],
) -> bool {
    let Some(origin) = origin else {
        return false;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some(host) = host else {
        return false;
    };
    let host_name = name_of(host);
    let public_name = |name: &str| {
        public
            .iter()
            .filter_map(|p| p.split_once("://"))
            .any(|(_, authority)| name_of(authority).eq_ignore_ascii_case(name))
    };
    if public.iter().any(|p| p.eq_ignore_ascii_case(origin)) && public_name(host_name) {
        return true;
    }
    let answers_to = host_name.parse::<std::net::IpAddr>().is_ok()
        || host_name.eq_ignore_ascii_case("localhost")
        || public_name(host_name);
    let scheme = if tls { "https" } else { "http" };
    answers_to
        && origin.split_once("://").is_some_and(|(s, authority)| {
            s.eq_ignore_ascii_case(scheme) && authority.eq_ignore_ascii_case(host)
        })
}

/// The client a trusted proxy names in `X-Forwarded-For`: the last address in it that is not one
/// of the `proxies` themselves (each proxy appends the address it got the request from, so
/// what comes before that was written by the client and proves nothing).
pub fn forwarded_client(
    headers: &axum::http::HeaderMap,
    proxies: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for hop in value.to_str().ok()?.split(',') {
            hops.push(hop.trim().parse().ok()?);
        }
    }
    hops.into_iter().rev().find(|hop| !proxies.contains(hop))
}

/// The name or address in `host[:port]` (IPv6 in brackets), without the port or the brackets.
fn name_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// A token bucket: `burst` messages at once, then `per_second`.
#[derive(Debug)]
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    pub fn new(burst: u32, per_second: u32, now: Instant) -> Self {
        Self {
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// `burst` at once, then `per_minute`.
    pub fn per_minute(burst: u32, per_minute: u32, now: Instant) -> Self {
        Self {
            burst: f64::from(burst),
            per_second: f64::from(per_minute) / 60.0,
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Whether one more message may pass at `now`.
    pub fn take(&mut self, now: Instant) -> bool {
        self.take_many(1, now)
    }

    /// Whether `amount` more (bytes, say) may pass at `now`. More than the burst never does.
    pub fn take_many(&mut self, amount: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.burst);
        let amount = amount as f64;
        if self.tokens >= amount {
            self.tokens -= amount;
            true
        } else {
            false
        }
    }
}

/// Rooms joined per client address: a token bucket each, so that nobody tries room names
/// until one is in use. Addresses not seen for a while are forgotten (a full bucket again).
#[derive(Default)]
pub struct Joins {
    buckets: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, RateLimit>>,
}

impl Joins {
    /// How many addresses are remembered before the ones whose bucket is full again go.
    const REMEMBERED: usize = 65_536;

    /// Whether `address` may join one more room at `now`, `burst` at once then `per_minute`.
    pub fn allow(
        &self,
        address: std::net::IpAddr,
        burst: u32,
        per_minute: u32,
        now: Instant,
    ) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= Self::REMEMBERED {
            // A bucket back to its burst says nothing a new one would not.
            let refill =
                Duration::from_secs_f64(60.0 * f64::from(burst) / f64::from(per_minute.max(1)));
            buckets.retain(|_, bucket| now.saturating_duration_since(bucket.last) < refill);
        }
        buckets
            .entry(address)
            .or_insert_with(|| RateLimit::per_minute(burst, per_minute, now))
            .take(now)
    }
}

/// How long since a connection was last heard from, against its limit.
#[derive(Debug)]
pub struct Idle {
    limit: Duration,
    heard: Instant,
}

impl Idle {
    pub fn new(limit: Duration, now: Instant) -> Self {
        Self { limit, heard: now }
    }

    pub fn heard(&mut self, now: Instant) {
        self.heard = now;
    }

    pub fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.heard) > self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_servers_own_origin_or_an_allowed_one_connects() {
        let host = Some("192.0.2.7:8443");
        assert!(origin_allowed(
            Some("https://192.0.2.7:8443"),
            host,
            true,
            &[],
            &[]
        ));
        assert!(origin_allowed(
            Some("HTTPS://192.0.2.7:8443"),
            host,
            true,
            &[],
            &[]
        ));
        assert!(
            !origin_allowed(Some("http://192.0.2.7:8443"), host, true, &[], &[]),
            "scheme"
        );
        assert!(!origin_allowed(
            Some("https://evil.example"),
            host,
            true,
            &[],
            &[]
        ));
        assert!(!origin_allowed(
            Some("https://192.0.2.7:8443.evil.example"),
            host,
            true,
            &[],
            &[]
        ));
        assert!(!origin_allowed(Some("null"), host, true, &[], &[]));
        assert!(
            !origin_allowed(None, host, true, &[], &[]),
            "no Origin: not a page"
        );
        assert!(!origin_allowed(
            Some("https://192.0.2.7:8443"),
            None,
            true,
            &[],
            &[]
        ));
        let dev = ["http://127.0.0.1:8080".to_owned()];
        assert!(origin_allowed(
            Some("http://127.0.0.1:8080"),
            Some("127.0.0.1:9000"),
            false,
            &dev,
            &[]
        ));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:8081"),
            Some("127.0.0.1:9000"),
            false,
            &dev,
            &[]
        ));
    }

    #[test]
    fn a_name_nobody_configured_is_a_rebinding_page_and_is_refused() {
        // evil.example made its name point at this server: Origin and Host agree, and that is
        // not enough.
        let evil = Some("evil.example:8443");
        assert!(!origin_allowed(
            Some("https://evil.example:8443"),
            evil,
            true,
            &[],
            &[]
        ));
        for (origin, host) in [
            ("http://localhost:8080", "localhost:8080"),
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("https://[2001:db8::7]:8443", "[2001:db8::7]:8443"),
        ] {
            assert!(
                origin_allowed(
                    Some(origin),
                    Some(host),
                    origin.starts_with("https"),
                    &[],
                    &[]
                ),
                "{origin}"
            );
        }
        // A public origin's name is answered to, directly or through a TLS-terminating proxy.
        let public = ["https://call.example.org".to_owned()];
        let host = Some("call.example.org");
        assert!(origin_allowed(
            Some("https://call.example.org"),
            host,
            true,
            &[],
            &public
        ));
        assert!(
            origin_allowed(Some("https://call.example.org"), host, false, &[], &public),
            "behind a proxy that speaks plain HTTP to the server"
        );
        assert!(!origin_allowed(
            Some("https://evil.example"),
            host,
            true,
            &[],
            &public
        ));
        assert!(
            !origin_allowed(Some("https://call.example.org"), evil, true, &[], &public),
            "the public origin's page through a rebound Host"
        );
        assert!(!origin_allowed(
            Some("https://evil.example:8443"),
            evil,
            true,
            &[],
            &public
        ));
    }

    #[test]
    fn the_client_is_the_last_address_no_trusted_proxy_wrote() {
        use axum::http::{HeaderMap, HeaderValue};
        let proxies: Vec<std::net::IpAddr> =
            vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        let with = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
            }
            forwarded_client(&headers, &proxies)
        };
        let client = "203.0.113.5".parse().ok();
        assert_eq!(with(&["203.0.113.5"]), client);
        // What the client wrote itself comes first, and is ignored.
        assert_eq!(with(&["198.51.100.1, 203.0.113.5"]), client);
        assert_eq!(with(&["198.51.100.1", "203.0.113.5, 10.0.0.2"]), client);
        assert_eq!(with(&["2001:db8::5"]), "2001:db8::5".parse().ok());
        assert_eq!(with(&[]), None);
        assert_eq!(with(&["not an address"]), None);
        assert_eq!(with(&["10.0.0.1"]), None, "only proxies");
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_a_steady_rate() {
        let t0 = Instant::now();
        let mut limit = RateLimit::new(5, 10, t0);
        assert!((0..5).all(|_| limit.take(t0)), "the burst");
        assert!(!limit.take(t0), "then nothing at once");
        assert!(
            limit.take(t0 + Duration::from_millis(100)),
            "one per 100 ms"
        );
        assert!(!limit.take(t0 + Duration::from_millis(100)));
        // A long pause refills the bucket to the burst, no more.
        let later = t0 + Duration::from_secs(60);
        assert!((0..5).all(|_| limit.take(later)));
        assert!(!limit.take(later));
    }

    #[test]
    fn the_byte_limit_takes_sizes_and_never_more_than_the_burst() {
        let t0 = Instant::now();
        let mut bytes = RateLimit::new(1000, 100, t0);
        assert!(bytes.take_many(600, t0));
        assert!(!bytes.take_many(600, t0), "400 left");
        assert!(bytes.take_many(400, t0));
        assert!(bytes.take_many(100, t0 + Duration::from_secs(1)));
        assert!(!bytes.take_many(1001, t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn joins_are_counted_per_address() {
        let t0 = Instant::now();
        let joins = Joins::default();
        let (a, b): (std::net::IpAddr, std::net::IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!((0..5).all(|_| joins.allow(a, 5, 6, t0)));
        assert!(!joins.allow(a, 5, 6, t0), "a's burst is spent");
        assert!(joins.allow(b, 5, 6, t0), "b has its own");
        assert!(
            joins.allow(a, 5, 6, t0 + Duration::from_secs(10)),
            "one per 10 s"
        );
        assert!(!joins.allow(a, 5, 6, t0 + Duration::from_secs(10)));
    }

    #[test]
    fn idle_counts_from_the_last_message() {
        let t0 = Instant::now();
        let mut idle = Idle::new(Duration::from_secs(60), t0);
        assert!(!idle.expired(t0 + Duration::from_secs(60)));
        assert!(idle.expired(t0 + Duration::from_secs(61)));
        idle.heard(t0 + Duration::from_secs(50));
        assert!(!idle.expired(t0 + Duration::from_secs(100)));
    }
}
