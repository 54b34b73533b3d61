//! What the page's query string (`location.search`, with or without its `?`) asks for, before
//! any of it is checked: the whole page checks the room's name (`loopback_rtc::address`).

/// The `room` and `relay` parameters, as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Asked<'a> {
    pub room: Option<&'a str>,
    pub relay_only: bool,
}

/// Reads `search`; the last `room` counts, and parameters the page does not know are ignored.
pub fn asked(search: &str) -> Asked<'_> {
    let mut asked = Asked::default();
    for pair in search.trim_start_matches('?').split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "room" => asked.room = Some(value),
            "relay" => asked.relay_only = matches!(value, "1" | "true" | "yes"),
            _ => {}
        }
    }
    asked
}

/// Whether `search` asks for no room at all: the tutorial's loopback, which the first module
/// runs on its own. (A room, even a badly named one, is the whole page's to handle.)
pub fn is_loopback(search: &str) -> bool {
    asked(search).room.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_room_is_the_tutorials_loopback() {
        for search in ["", "?", "?relay=1&x=2", "?rooms=a"] {
            assert!(is_loopback(search), "{search}");
        }
        for search in ["?room=abc", "?x=1&room=", "room"] {
            assert!(!is_loopback(search), "{search}");
        }
    }

    #[test]
    fn room_and_relay_are_read_as_written() {
        assert_eq!(
            asked("?x=1&room=a%20b&relay=yes"),
            Asked {
                room: Some("a%20b"),
                relay_only: true
            }
        );
        assert_eq!(
            asked("relay=0&room=x&room=y"),
            Asked {
                room: Some("y"),
                relay_only: false
            }
        );
    }
}
