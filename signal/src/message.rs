//! The signaling messages as they travel: JSON objects tagged by `type`, every field typed,
//! unknown fields refused.

use crate::room::{PeerId, RoomName};
use crate::seat::ResumeToken;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The close code of a page that leaves a socket it believes dead for a new one: its seat is kept
/// for the grace period, as for a lost connection, not freed as for a hang-up (the Close frame
/// may yet arrive once the network is back).
pub const CLOSE_MOVING: u16 = 4000;

/// The largest message either side accepts, in bytes. An offer with every codec of a browser is
/// about 10 KB; a candidate a few hundred bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The version of these messages. A page and a server that speak different ones say so in plain
/// words instead of misreading each other: a server refuses a `join` or `resume` of another
/// version with [`Problem::Version`], and a page checks the `v` of `joined` and `resumed`.
/// Version 1 (implicit: no `v`) had two seats a room and no peer ids.
pub const PROTOCOL: u32 = 2;

/// From a page to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ToServer {
    /// Enter a room: answered with [`FromServer::Joined`] (who is there already; a call starts
    /// with each), then [`FromServer::PeerJoined`] for each newcomer, or with a
    /// [`Problem::RoomFull`]. `name` is what the others see this person as. A page carrying on a
    /// call the server forgot (it restarted, or the seat's grace ran out) asks for its old role
    /// with `polite`; it gets it if it is the first in the room again.
    Join {
        /// [`PROTOCOL`]; missing in version 1.
        #[serde(default)]
        v: Option<u32>,
        room: RoomName,
        #[serde(default, skip_serializing_if = "PeerName::is_empty")]
        name: PeerName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        polite: Option<bool>,
    },
    /// Take back this page's seat in `room` on a new connection after the old one was lost:
    /// answered with [`FromServer::Resumed`], or a [`Problem::ResumeRefused`] (the connection
    /// stays open for a `join`). `received` counts the `signal` messages this page got for the
    /// seat so far, on every connection, so the server replays the ones after.
    Resume {
        #[serde(default)]
        v: Option<u32>,
        room: RoomName,
        token: ResumeToken,
        received: u64,
    },
    /// For the peer `to` in the room, passed on as it is, as from this page's peer id.
    Signal { to: PeerId, signal: Signal },
    /// This person's name is now `name`: the others are told ([`FromServer::PeerNamed`]).
    Name { name: PeerName },
    /// Hang up: leave the room. The others are told.
    Leave,
    /// Are you there? Answered with [`FromServer::Pong`]. Browsers give a page no WebSocket
    /// pings of its own, and a page must know soon when its socket has gone quiet (a network
    /// cut, a new address): then it stops asking the signaling for ICE restarts, and moves to a
    /// new socket.
    Ping,
    /// TURN credentials anew, please, before the ones held run out: answered with
    /// [`FromServer::Renewed`], in a room with someone to call.
    Renew,
}

/// Someone in the room, as a page learns of them on joining or resuming.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomPeer {
    pub peer: PeerId,
    #[serde(default, skip_serializing_if = "PeerName::is_empty")]
    pub name: PeerName,
    /// This page's role toward that peer in perfect negotiation.
    pub polite: bool,
    /// That peer's page has lost its connection; its seat is kept ([`FromServer::PeerAway`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub away: bool,
}

/// From the server to a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FromServer {
    /// You are in the room as `peer`, with `peers` already there (a call starts with each, in the
    /// role given), in a room of `size`, and these ICE servers (TURN with short-lived credentials,
    /// only once there is someone to call) to use. If this connection is lost, `resume` takes the
    /// seat back within `grace` seconds.
    Joined {
        v: u32,
        peer: PeerId,
        peers: Vec<RoomPeer>,
        size: u8,
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
        /// Seconds after which to ask for new credentials ([`ToServer::Renew`]).
        #[serde(rename = "renewIn", default, skip_serializing_if = "Option::is_none")]
        renew_in: Option<u32>,
        resume: ResumeToken,
        grace: u32,
    },
    /// You have your seat back, as `peer`. `resume` is its new token (the one shown is spent);
    /// `received` counts the signals the server took from this seat, so the page resends the ones
    /// after; `peers` is the room now (whoever left or came meanwhile told so); the signals it
    /// missed from them follow this message, all of them unless `complete` is false (some were
    /// lost: restart ICE with each).
    Resumed {
        v: u32,
        peer: PeerId,
        peers: Vec<RoomPeer>,
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
        #[serde(rename = "renewIn", default, skip_serializing_if = "Option::is_none")]
        renew_in: Option<u32>,
        resume: ResumeToken,
        grace: u32,
        received: u64,
        complete: bool,
    },
    /// `peer` came into the room: a call starts with it, this page in the role `polite`, with
    /// these ICE servers if this page has none yet (TURN credentials of its own, handed out only
    /// once there is someone to call).
    PeerJoined {
        peer: PeerId,
        #[serde(default, skip_serializing_if = "PeerName::is_empty")]
        name: PeerName,
        polite: bool,
        #[serde(rename = "iceServers", default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
        #[serde(rename = "renewIn", default, skip_serializing_if = "Option::is_none")]
        renew_in: Option<u32>,
    },
    /// `peer` is called `name` from now on.
    PeerNamed { peer: PeerId, name: PeerName },
    /// New TURN credentials: use them from now on (an ICE restart moves the calls' relays onto
    /// them), and ask again after `renew_in` seconds.
    Renewed {
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
        #[serde(rename = "renewIn")]
        renew_in: u32,
    },
    /// `peer`'s connection to the server was lost; its media may well still flow. Its seat is
    /// kept for the grace period: [`FromServer::PeerBack`] or [`FromServer::PeerLeft`] follows.
    /// Signals sent to it meanwhile are kept for it.
    PeerAway { peer: PeerId },
    /// `peer` resumed its seat after [`FromServer::PeerAway`].
    PeerBack { peer: PeerId },
    /// The answer to [`ToServer::Ping`].
    Pong,
    /// `peer` left: it hung up or closed its page, or it was away longer than the grace.
    PeerLeft { peer: PeerId },
    /// From the peer `from`.
    Signal { from: PeerId, signal: Signal },
    /// What was wrong with the last message, or why the connection is about to close.
    Error { problem: Problem, message: String },
}

/// The longest name a person may give, in characters.
pub const MAX_PEER_NAME: usize = 32;

/// What a person is called in a room: at most [`MAX_PEER_NAME`] characters, no control
/// characters, no spaces around; empty when they gave none. It is text: a page shows it as text,
/// never as HTML, so markup in it is harmless and shown as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeerName(String);

/// Why a string is not a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadPeerName {
    TooLong,
    Control,
    Spaces,
}

impl fmt::Display for BadPeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadPeerName::TooLong => "a name has at most 32 characters",
            BadPeerName::Control => "a name holds no control characters",
            BadPeerName::Spaces => "a name neither starts nor ends with a space",
        })
    }
}

impl TryFrom<String> for PeerName {
    type Error = BadPeerName;

    fn try_from(name: String) -> Result<Self, BadPeerName> {
        if name.chars().count() > MAX_PEER_NAME {
            Err(BadPeerName::TooLong)
        } else if name.chars().any(char::is_control) {
            Err(BadPeerName::Control)
        } else if name.trim() != name {
            Err(BadPeerName::Spaces)
        } else {
            Ok(PeerName(name))
        }
    }
}

impl From<PeerName> for String {
    fn from(name: PeerName) -> String {
        name.0
    }
}

impl PeerName {
    /// What a person typed, made a name: trimmed, control characters dropped, cut to
    /// [`MAX_PEER_NAME`] characters.
    pub fn tidy(typed: &str) -> Self {
        let kept: String = typed
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .chars()
            .take(MAX_PEER_NAME)
            .collect();
        PeerName(kept.trim_end().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one peer tells the other to set up the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Signal {
    /// An offer or an answer (`RTCSessionDescriptionInit`).
    Description {
        #[serde(rename = "type")]
        sdp_type: SdpType,
        sdp: String,
    },
    /// One ICE candidate (`RTCIceCandidateInit`); an empty `candidate` ends a generation.
    Candidate {
        candidate: String,
        #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(
            rename = "sdpMLineIndex",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        sdp_m_line_index: Option<u16>,
        #[serde(
            rename = "usernameFragment",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        username_fragment: Option<String>,
    },
    /// The sender has gathered all its candidates.
    EndOfCandidates,
    /// Restart ICE, please: sent by the end that answered the call's first offer, which leaves
    /// every ICE restart to the end that made it. (Firefox 153, having offered first, answers a
    /// later offer from the other end with the other DTLS role, which Chromium refuses: "Failed
    /// to set SSL role for the transport", and the call ends.)
    RestartIce,
    /// The sender found no path to this page, tried what it could and ended the call: this page
    /// says why too, instead of only hearing that the other person left.
    NoPath,
}

/// The description types that cross the wire (a rollback never leaves its page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    Offer,
    Answer,
}

/// A STUN or TURN server for `RTCPeerConnection`'s `iceServers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What went wrong, as a machine-readable code; [`FromServer::Error`] carries the sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// Not JSON, not one of the message types, or a field missing, unknown or out of range.
    BadMessage,
    /// The room holds as many people as it may.
    RoomFull,
    /// The page speaks another version of these messages than the server ([`PROTOCOL`]).
    Version,
    /// A `signal` for a peer id that is not in the room (it left, or never was).
    UnknownPeer,
    /// A `join` or `resume` while already in a room.
    AlreadyInRoom,
    /// A `resume` for a seat the server does not hold (any more) for this connection: the token
    /// is unknown or spent (the server restarted, say), or for another room.
    ResumeRefused,
    /// A `resume` for a seat whose grace ran out: the server let it go and told everyone in the
    /// room that its page left, so their calls with it are over; the people are still there.
    SeatExpired,
    /// A `resume` for a seat another live connection holds (it answered the liveness probe):
    /// not given, not gone either.
    SeatInUse,
    /// A `signal` or `leave` outside a room.
    NotInRoom,
    /// A `signal` while nobody else is in the room: nobody to give it to.
    NoPeer,
    /// More than [`MAX_MESSAGE_BYTES`] in one message.
    TooLarge,
    /// More messages than the server takes from one connection.
    TooFast,
    /// More rooms joined from this client's address than the server takes (a page trying
    /// room names to find one in use).
    TooManyJoins,
    /// Nothing heard for too long.
    Idle,
    /// The server is shutting down.
    ShuttingDown,
    /// The server cannot reach the store its rooms are shared through (Redis): no one can join
    /// until it is back; a page in a call keeps its media and resumes once it is.
    Unavailable,
}

impl Problem {
    /// Whether the server closes the connection after saying it.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Problem::TooLarge
                | Problem::TooFast
                | Problem::Idle
                | Problem::ShuttingDown
                | Problem::Version
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::BadMessage => "The signaling server could not read a message from this page.",
            Problem::RoomFull => "This room is full. Make a new room link and share it.",
            Problem::Version => "This page and the signaling server speak different versions of the signaling messages: reload the page to get the server's version.",
            Problem::UnknownPeer => "The person this page signaled is not in the room (any more).",
            Problem::AlreadyInRoom => "This page is in a room already.",
            Problem::NotInRoom => "This page is not in a room.",
            Problem::ResumeRefused => "The signaling server no longer holds this page's seat in the room.",
            Problem::SeatInUse => "Another connection holds this page's seat in the room.",
            Problem::SeatExpired => "The signaling server let this page's seat go: it was away longer than the server keeps a seat, and the room was told it left.",
            Problem::NoPeer => "Nobody else is in the room yet.",
            Problem::TooLarge => "A message from this page was larger than the signaling server accepts (64 KiB).",
            Problem::TooFast => "This page sent messages faster than the signaling server accepts.",
            Problem::TooManyJoins => "Rooms were joined from this address faster than the signaling server accepts: wait a minute, then press Call again.",
            Problem::Idle => "The connection to the signaling server was idle for too long.",
            Problem::ShuttingDown => "The signaling server is shutting down.",
            Problem::Unavailable => "The signaling server cannot reach the store its rooms are kept in, so no one can join now: try again in a minute. A call in progress goes on.",
        })
    }
}

impl FromServer {
    /// The error message for `problem`, with its sentence and, where there is one, the detail.
    pub fn error(problem: Problem, detail: Option<&str>) -> Self {
        let message = match detail {
            Some(detail) => format!("{problem} ({detail})"),
            None => problem.to_string(),
        };
        FromServer::Error { problem, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_server(value: serde_json::Value) -> Result<ToServer, serde_json::Error> {
        serde_json::from_value(value)
    }

    fn room(name: &str) -> RoomName {
        RoomName::try_from(name.to_owned()).unwrap()
    }

    fn name(text: &str) -> PeerName {
        PeerName::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn the_messages_read_as_documented() {
        assert_eq!(
            to_server(json!({"type": "join", "v": 2, "room": "abc"})).unwrap(),
            ToServer::Join {
                v: Some(2),
                room: room("abc"),
                name: PeerName::default(),
                polite: None
            }
        );
        assert_eq!(
            to_server(
                json!({"type": "join", "v": 2, "room": "abc", "name": "Ada", "polite": true})
            )
            .unwrap(),
            ToServer::Join {
                v: Some(2),
                room: room("abc"),
                name: name("Ada"),
                polite: Some(true)
            }
        );
        // A version 1 page's join still reads, so that the server can tell it plainly.
        assert!(matches!(
            to_server(json!({"type": "join", "room": "abc"})).unwrap(),
            ToServer::Join { v: None, .. }
        ));
        assert_eq!(
            to_server(json!({"type": "resume", "v": 2, "room": "abc", "token": "AAECAwQFBgcICQoLDA0ODw", "received": 3}))
                .unwrap(),
            ToServer::Resume {
                v: Some(2),
                room: room("abc"),
                token: ResumeToken::try_from("AAECAwQFBgcICQoLDA0ODw".to_owned()).unwrap(),
                received: 3
            }
        );
        assert_eq!(
            to_server(json!({"type": "leave"})).unwrap(),
            ToServer::Leave
        );
        assert_eq!(
            to_server(json!({"type": "name", "name": "<b>Bo</b>"})).unwrap(),
            ToServer::Name {
                name: name("<b>Bo</b>")
            },
            "markup is text, shown as typed"
        );
        let offer = json!({"type": "signal", "to": 3, "signal": {"kind": "description", "type": "offer", "sdp": "v=0\r\n"}});
        assert_eq!(
            to_server(offer).unwrap(),
            ToServer::Signal {
                to: 3,
                signal: Signal::Description {
                    sdp_type: SdpType::Offer,
                    sdp: "v=0\r\n".into()
                }
            }
        );
        let candidate = json!({"type": "signal", "to": 1, "signal": {"kind": "candidate",
            "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
            "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}});
        assert!(matches!(
            to_server(candidate).unwrap(),
            ToServer::Signal {
                to: 1,
                signal: Signal::Candidate {
                    sdp_m_line_index: Some(0),
                    ..
                }
            }
        ));
    }

    #[test]
    fn what_the_server_says_round_trips() {
        let turn = IceServer {
            urls: vec!["turn:192.0.2.1:3478".into()],
            username: Some("1700000000:0123456789abcdef".into()),
            credential: Some("x".into()),
        };
        let joined = FromServer::Joined {
            v: PROTOCOL,
            peer: 3,
            peers: vec![
                RoomPeer {
                    peer: 1,
                    name: name("Ada"),
                    polite: true,
                    away: false,
                },
                RoomPeer {
                    peer: 2,
                    name: PeerName::default(),
                    polite: true,
                    away: true,
                },
            ],
            size: 6,
            ice_servers: vec![turn.clone()],
            renew_in: Some(21_600),
            resume: ResumeToken::from_bytes([0; 16]),
            grace: 30,
        };
        assert_eq!(
            serde_json::to_value(&joined).unwrap(),
            json!({"type": "joined", "v": 2, "peer": 3,
                "peers": [{"peer": 1, "name": "Ada", "polite": true}, {"peer": 2, "polite": true, "away": true}],
                "size": 6, "iceServers": [{"urls": ["turn:192.0.2.1:3478"],
                "username": "1700000000:0123456789abcdef", "credential": "x"}],
                "renewIn": 21600, "resume": "AAAAAAAAAAAAAAAAAAAAAA", "grace": 30})
        );
        let text = serde_json::to_string(&joined).unwrap();
        assert_eq!(serde_json::from_str::<FromServer>(&text).unwrap(), joined);
        let error = FromServer::error(Problem::RoomFull, None);
        assert_eq!(
            serde_json::to_value(&error).unwrap()["problem"],
            json!("room-full")
        );
        for (message, text) in [
            (
                FromServer::PeerLeft { peer: 2 },
                r#"{"type":"peer-left","peer":2}"#,
            ),
            (
                FromServer::PeerAway { peer: 2 },
                r#"{"type":"peer-away","peer":2}"#,
            ),
            (
                FromServer::PeerBack { peer: 2 },
                r#"{"type":"peer-back","peer":2}"#,
            ),
            (
                FromServer::PeerJoined {
                    peer: 4,
                    name: PeerName::default(),
                    polite: false,
                    ice_servers: vec![],
                    renew_in: None,
                },
                r#"{"type":"peer-joined","peer":4,"polite":false}"#,
            ),
            (
                FromServer::PeerNamed {
                    peer: 4,
                    name: name("Bo"),
                },
                r#"{"type":"peer-named","peer":4,"name":"Bo"}"#,
            ),
            (
                FromServer::Signal {
                    from: 1,
                    signal: Signal::EndOfCandidates,
                },
                r#"{"type":"signal","from":1,"signal":{"kind":"end-of-candidates"}}"#,
            ),
        ] {
            assert_eq!(serde_json::to_string(&message).unwrap(), text);
            assert_eq!(serde_json::from_str::<FromServer>(text).unwrap(), message);
        }
        let peer_joined = FromServer::PeerJoined {
            peer: 2,
            name: name("Bo"),
            polite: true,
            ice_servers: vec![turn],
            renew_in: Some(21_600),
        };
        let text = serde_json::to_string(&peer_joined).unwrap();
        assert!(
            text.starts_with(
                r#"{"type":"peer-joined","peer":2,"name":"Bo","polite":true,"iceServers":[{"#
            ),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<FromServer>(&text).unwrap(),
            peer_joined
        );
        let resumed = FromServer::Resumed {
            v: PROTOCOL,
            peer: 1,
            peers: vec![],
            ice_servers: vec![],
            renew_in: None,
            resume: ResumeToken::from_bytes([0xff; 16]),
            grace: 30,
            received: 4,
            complete: true,
        };
        assert_eq!(
            serde_json::to_value(&resumed).unwrap(),
            json!({"type": "resumed", "v": 2, "peer": 1, "peers": [], "iceServers": [],
                "resume": "_____________________w", "grace": 30, "received": 4,
                "complete": true})
        );
        assert_eq!(
            serde_json::to_value(FromServer::error(Problem::ResumeRefused, None)).unwrap()
                ["problem"],
            "resume-refused"
        );
        assert_eq!(
            serde_json::to_value(FromServer::error(Problem::SeatExpired, None)).unwrap()["problem"],
            "seat-expired"
        );
        // A join without a wish or a name is written without them.
        let join = ToServer::Join {
            v: Some(PROTOCOL),
            room: room("r"),
            name: PeerName::default(),
            polite: None,
        };
        assert_eq!(
            serde_json::to_string(&join).unwrap(),
            r#"{"type":"join","v":2,"room":"r"}"#
        );
    }

    #[test]
    fn names_are_short_plain_text() {
        assert!(PeerName::try_from("Ada Lovelace".to_owned()).is_ok());
        assert!(PeerName::try_from("x".repeat(32)).is_ok());
        assert!(
            PeerName::try_from("é".repeat(32)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            PeerName::try_from("x".repeat(33)),
            Err(BadPeerName::TooLong)
        );
        assert_eq!(
            PeerName::try_from("a\u{7}b".to_owned()),
            Err(BadPeerName::Control)
        );
        assert_eq!(
            PeerName::try_from("a\nb".to_owned()),
            Err(BadPeerName::Control)
        );
        assert_eq!(
            PeerName::try_from(" a".to_owned()),
            Err(BadPeerName::Spaces)
        );
        assert_eq!(PeerName::tidy("  Ada\n "), name("Ada"));
        assert_eq!(PeerName::tidy(&"é".repeat(40)).as_str().chars().count(), 32);
        assert_eq!(
            PeerName::tidy(&format!("{} b", "a".repeat(31))),
            name(&"a".repeat(31)),
            "no space left at the end of a cut"
        );
        assert!(PeerName::tidy(" \t ").is_empty());
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            json!({"type": "join"}),
            json!({"type": "join", "room": ""}),
            json!({"type": "join", "room": "../etc"}),
            json!({"type": "join", "room": 7}),
            json!({"type": "join", "room": "r", "admin": true}),
            json!({"type": "join", "room": "r", "v": -1}),
            json!({"type": "join", "room": "r", "v": "2"}),
            json!({"type": "join", "room": "r", "name": "x".repeat(33)}),
            json!({"type": "join", "room": "r", "name": "<script>\n"}),
            json!({"type": "join", "room": "r", "name": 7}),
            json!({"type": "join", "room": "r", "peer": 1}),
            json!({"type": "name", "name": "a\u{0}"}),
            json!({"type": "name"}),
            json!({"type": "nuke"}),
            json!({"room": "r"}),
            json!({"type": "signal", "signal": {"kind": "end-of-candidates"}}),
            json!({"type": "signal", "to": -1, "signal": {"kind": "end-of-candidates"}}),
            json!({"type": "signal", "to": "1", "signal": {"kind": "end-of-candidates"}}),
            json!({"type": "signal", "to": 1, "from": 2, "signal": {"kind": "end-of-candidates"}}),
            json!({"type": "signal", "to": 1, "signal": {"kind": "description", "type": "rollback", "sdp": ""}}),
            json!({"type": "signal", "to": 1, "signal": {"kind": "candidate", "candidate": "c", "sdpMLineIndex": -1}}),
            json!({"type": "signal", "to": 1, "signal": {"kind": "candidate", "candidate": "c", "sdpMLineIndex": 70000}}),
            json!({"type": "signal", "to": 1, "signal": "hello"}),
            json!({"type": "join", "room": "r", "polite": "yes"}),
            json!({"type": "resume", "room": "r", "received": 0}),
            json!({"type": "resume", "room": "r", "token": "AAECAwQFBgcICQoLDA0ODw"}),
            json!({"type": "resume", "room": "r", "token": "short", "received": 0}),
            json!({"type": "resume", "room": "r", "token": "AAECAwQFBgcICQoLDA0ODw", "received": -1}),
            json!([1, 2]),
            json!(null),
        ] {
            assert!(to_server(bad.clone()).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn only_the_closing_problems_are_fatal() {
        assert!(Problem::TooFast.is_fatal());
        assert!(Problem::TooLarge.is_fatal());
        assert!(Problem::Idle.is_fatal());
        assert!(Problem::ShuttingDown.is_fatal());
        assert!(
            Problem::Version.is_fatal(),
            "nothing else this page says would be understood"
        );
        assert!(!Problem::RoomFull.is_fatal());
        assert!(!Problem::BadMessage.is_fatal());
        assert!(
            !Problem::UnknownPeer.is_fatal(),
            "the peer may have just left"
        );
        assert!(
            !Problem::ResumeRefused.is_fatal(),
            "the page may join instead on the same connection"
        );
        assert!(!Problem::SeatExpired.is_fatal(), "the same");
        assert!(!Problem::AlreadyInRoom.is_fatal());
    }
}
