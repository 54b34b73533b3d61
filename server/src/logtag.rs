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
    fn sparse_events_are_logged_once_a_minute_and_all_counted() {
        let sparse = Sparse::new();
        assert_eq!(sparse.count(), Some(1));
        assert!((0..1000).all(|_| sparse.count().is_none()));
        *sparse.last.lock().unwrap() = Some(Instant::now() - Sparse::EVERY);
        assert_eq!(sparse.count(), Some(1002));
    }
}
