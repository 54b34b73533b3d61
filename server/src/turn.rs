//! Short-lived TURN credentials by coturn's `use-auth-secret` scheme: the page never sees a
//! static TURN password, only a username that says when it expires and its HMAC.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use loopback_signal::IceServer;
use sha1::Sha1;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The TURN servers to hand out and the secret they share with this server (coturn's
/// `static-auth-secret`).
#[derive(Clone)]
pub struct Turn {
    pub urls: Vec<String>,
    pub secret: String,
    /// How long a credential stays valid; a call that outlives it keeps its allocation only until
    /// the next refresh, so it should be longer than any call.
    pub ttl: Duration,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("Turn")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// The `iceServers` entry for one page now: the username is coturn's `expiry:id`, with `id`
    /// drawn for this page alone, so that no two pages share a credential and coturn's
    /// per-user quota (`user-quota`) holds per page.
    pub fn ice_server(&self, now: SystemTime, id: &str) -> IceServer {
        let expires = now
            .checked_add(self.ttl)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let username = format!("{expires}:{id}");
        IceServer {
            urls: self.urls.clone(),
            credential: Some(credential(&self.secret, &username)),
            username: Some(username),
        }
    }
}

/// base64(HMAC-SHA1(secret, username)): what coturn computes to check the password.
pub fn credential(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(username.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently: `printf 1700000000 | openssl dgst -sha1 -hmac north-wind -binary
    /// | base64`, and the same with Python's `hmac`.
    #[test]
    fn the_credential_matches_a_known_vector() {
        assert_eq!(
            credential("north-wind", "1700000000"),
            "cVe3L6GK/DCmTQvTcoiurB547Vo="
        );
        assert_eq!(
            credential("north-wind", "1700000000:alice"),
            "Oko4dt8u/EbTRjRUJWQDFm/zTCc="
        );
    }

    #[test]
    fn the_username_is_the_expiry_time_and_the_pages_id() {
        let turn = Turn {
            urls: vec!["turn:192.0.2.1:3478?transport=udp".into()],
            secret: "north-wind".into(),
            ttl: Duration::from_secs(3600),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_699_996_400);
        let server = turn.ice_server(now, "alice");
        assert_eq!(server.username.as_deref(), Some("1700000000:alice"));
        assert_eq!(
            server.credential.as_deref(),
            Some("Oko4dt8u/EbTRjRUJWQDFm/zTCc=")
        );
        assert_eq!(server.urls, turn.urls);
        assert!(!format!("{turn:?}").contains("north-wind"), "secret logged");
    }
}
