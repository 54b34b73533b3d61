//! Rooms told apart in the log without their names, which are the rooms' only secret: a short
//! keyed hash, its key drawn when the process starts, so the log of one run cannot be matched
//! against a list of guessed names. And log lines a client can cause, at most one a minute.

use hmac::{Hmac, Mac};
use loopback_signal::RoomName;
use sha1::Sha1;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

fn key() -> &'static [u8; 16] {
    static KEY: OnceLock<[u8; 16]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 16];
        // Without randomness the tags are still unlinkable to names unless the key is guessed;
        // a fixed key would only make them comparable across runs.
        let _ = getrandom::fill(&mut key);
        key
    })
}

/// The room's tag for the log: 8 hex digits.
pub fn room(name: &RoomName) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key()) else {
        return "????????".to_owned();
    };
    mac.update(name.as_str().as_bytes());
    let bytes = mac.finalize().into_bytes();
    bytes[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A kind of event a client can cause at will, logged once per [`Sparse::EVERY`] with how many
/// happened: the log cannot be flooded through it.
pub struct Sparse {
    count: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Sparse {
    pub const EVERY: Duration = Duration::from_secs(60);

    pub const fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Counts one; returns the count so far when this one is to be logged.
    pub fn count(&self) -> Option<u64> {
        let count = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let due = last.is_none_or(|at| now.duration_since(at) >= Self::EVERY);
        if due {
            *last = Some(now);
        }
        due.then_some(count)
    }
}

/// Like [`Sparse`], for each client address apart: a limit one client reaches is logged once
/// per [`Sparse::EVERY`] for that client, with how often it reached it.
#[derive(Default)]
pub struct PerClient {
    clients: Mutex<std::collections::HashMap<Option<std::net::IpAddr>, (u64, Instant)>>,
}

impl PerClient {
    /// How many clients are remembered; past that the memory starts over.
    const REMEMBERED: usize = 10_000;

    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one for `client`; returns its count so far when this one is to be logged.
    pub fn count(&self, client: Option<std::net::IpAddr>) -> Option<u64> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= Self::REMEMBERED && !clients.contains_key(&client) {
            clients.clear();
        }
        let now = Instant::now();
        match clients.get_mut(&client) {
            Some((count, last)) => {
                *count += 1;
                let due = now.duration_since(*last) >= Sparse::EVERY;
                if due {
                    *last = now;
                }
                due.then_some(*count)
            }
            None => {
                clients.insert(client, (1, now));
                Some(1)
            }
        }
    }
}

/// The limits clients reached, for the log: once a minute per client, with a count.
pub fn limits_reached() -> &'static PerClient {
    static REACHED: OnceLock<PerClient> = OnceLock::new();
    REACHED.get_or_init(PerClient::new)
}

impl Default for Sparse {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_stable_short_and_not_the_name() {
        let name = RoomName::try_from("kitchen-table".to_owned()).unwrap();
        let tag = room(&name);
        assert_eq!(tag.len(), 8);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(tag, room(&name));
        let other = RoomName::try_from("kitchen-tables".to_owned()).unwrap();
        assert_ne!(tag, room(&other));
    }

    #[test]
    fn each_client_is_logged_once_a_minute_apart() {
        let clients = PerClient::new();
        let (a, b) = (
            Some("192.0.2.1".parse().unwrap()),
            Some("192.0.2.2".parse().unwrap()),
        );
        assert_eq!(clients.count(a), Some(1));
        assert_eq!(clients.count(a), None);
        assert_eq!(
            clients.count(b),
            Some(1),
            "another client is logged on its own"
        );
        clients.clients.lock().unwrap().get_mut(&a).unwrap().1 -= Sparse::EVERY;
        assert_eq!(clients.count(a), Some(3));
    }

    #[test]
    fn sparse_events_are_logged_once_a_minute_and_all_counted() {
        let sparse = Sparse::new();
        assert_eq!(sparse.count(), Some(1));
        assert!((0..1000).all(|_| sparse.count().is_none()));
        *sparse.last.lock().unwrap() = Some(Instant::now() - Sparse::EVERY);
        assert_eq!(sparse.count(), Some(1002));
    }
}
