//! The signaling messages as they travel: JSON objects tagged by `type`, every field typed,
//! unknown fields refused.

use crate::room::RoomName;
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

/// From a page to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ToServer {
    /// Enter a room: answered with [`FromServer::Joined`], then [`FromServer::PeerJoined`] once
    /// the other peer is there, or with a [`Problem::RoomFull`]. A page carrying on a call the
    /// server forgot (it restarted, or the seat's grace ran out) asks for its old role with
    /// `polite`; it gets it if the roles still differ, and `joined` says which it got.
    Join {
        room: RoomName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        polite: Option<bool>,
    },
    /// Take back this page's seat in `room` on a new connection after the old one was lost:
    /// answered with [`FromServer::Resumed`], or a [`Problem::ResumeRefused`] (the connection
    /// stays open for a `join`). `received` counts the `signal` messages this page got for the
    /// seat so far, on every connection, so the server replays the ones after.
    Resume {
        room: RoomName,
        token: ResumeToken,
        received: u64,
    },
    /// For the other peer in the room, passed on as it is.
    Signal { signal: Signal },
    /// Hang up: leave the room. The other peer is told.
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

/// From the server to a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FromServer {
    /// You are in the room, with this role in perfect negotiation, and these ICE servers (TURN
    /// with short-lived credentials) to use. If this connection is lost, `resume` takes the seat
    /// back within `grace` seconds.
    Joined {
        polite: bool,
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
        resume: ResumeToken,
        grace: u32,
    },
    /// You have your seat back. `resume` is its new token (the one shown is spent); `received`
    /// counts the signals the server took from this seat, so the page resends the ones after;
    /// the signals it missed follow this message, all of them unless `complete` is false (some
    /// were lost: restart ICE). `peer`: another seat is in the room, its page connected or away.
    Resumed {
        polite: bool,
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
        resume: ResumeToken,
        grace: u32,
        received: u64,
        complete: bool,
        peer: bool,
    },
    /// The other peer is in the room: the call can start, with these ICE servers (TURN
    /// credentials of this page's own, handed out only now that there is someone to call).
    PeerJoined {
        #[serde(rename = "iceServers", default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
        /// Seconds after which to ask for new credentials ([`ToServer::Renew`]).
        #[serde(rename = "renewIn", default, skip_serializing_if = "Option::is_none")]
        renew_in: Option<u32>,
    },
    /// New TURN credentials: use them from now on (an ICE restart moves the call's relay onto
    /// them), and ask again after `renew_in` seconds.
    Renewed {
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServer>,
        #[serde(rename = "renewIn")]
        renew_in: u32,
    },
    /// The other peer's connection to the server was lost; its media may well still flow. Its
    /// seat is kept for the grace period: [`FromServer::PeerBack`] or [`FromServer::PeerLeft`]
    /// follows. Signals sent meanwhile are kept for it.
    PeerAway,
    /// The other peer resumed its seat after [`FromServer::PeerAway`].
    PeerBack,
    /// The answer to [`ToServer::Ping`].
    Pong,
    /// The other peer left: it hung up or closed its page, or it was away longer than the grace.
    PeerLeft,
    /// From the other peer.
    Signal { signal: Signal },
    /// What was wrong with the last message, or why the connection is about to close.
    Error { problem: Problem, message: String },
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
    /// Two people are in the room already.
    RoomFull,
    /// A `join` or `resume` while already in a room.
    AlreadyInRoom,
    /// A `resume` for a seat the server does not hold (any more) for this connection: the token
    /// is unknown or spent, for another room, its grace ran out, or a live connection holds it.
    ResumeRefused,
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
}

impl Problem {
    /// Whether the server closes the connection after saying it.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Problem::TooLarge | Problem::TooFast | Problem::Idle | Problem::ShuttingDown
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::BadMessage => "The signaling server could not read a message from this page.",
            Problem::RoomFull => "This room is full: two people are in it already. Make a new room link and share it.",
            Problem::AlreadyInRoom => "This page is in a room already.",
            Problem::NotInRoom => "This page is not in a room.",
            Problem::ResumeRefused => "The signaling server no longer holds this page's seat in the room.",
            Problem::SeatInUse => "Another connection holds this page's seat in the room.",
            Problem::NoPeer => "Nobody else is in the room yet.",
            Problem::TooLarge => "A message from this page was larger than the signaling server accepts (64 KiB).",
            Problem::TooFast => "This page sent messages faster than the signaling server accepts.",
            Problem::TooManyJoins => "Rooms were joined from this address faster than the signaling server accepts: wait a minute, then press Call again.",
            Problem::Idle => "The connection to the signaling server was idle for too long.",
            Problem::ShuttingDown => "The signaling server is shutting down.",
        })
    }
}

impl FromServer {
    /// [`FromServer::PeerJoined`] as the rooms say it: the connection adds its page's TURN
    /// credentials.
    pub const PEER_JOINED: FromServer = FromServer::PeerJoined {
        ice_servers: Vec::new(),
        renew_in: None,
    };

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

    #[test]
    fn the_messages_read_as_documented() {
        assert_eq!(
            to_server(json!({"type": "join", "room": "abc"})).unwrap(),
            ToServer::Join {
                room: RoomName::try_from("abc".to_owned()).unwrap(),
                polite: None
            }
        );
        assert_eq!(
            to_server(json!({"type": "join", "room": "abc", "polite": true})).unwrap(),
            ToServer::Join {
                room: RoomName::try_from("abc".to_owned()).unwrap(),
                polite: Some(true)
            }
        );
        assert_eq!(
            to_server(json!({"type": "resume", "room": "abc", "token": "AAECAwQFBgcICQoLDA0ODw", "received": 3}))
                .unwrap(),
            ToServer::Resume {
                room: RoomName::try_from("abc".to_owned()).unwrap(),
                token: ResumeToken::try_from("AAECAwQFBgcICQoLDA0ODw".to_owned()).unwrap(),
                received: 3
            }
        );
        assert_eq!(
            to_server(json!({"type": "leave"})).unwrap(),
            ToServer::Leave
        );
        let offer = json!({"type": "signal", "signal": {"kind": "description", "type": "offer", "sdp": "v=0\r\n"}});
        assert_eq!(
            to_server(offer).unwrap(),
            ToServer::Signal {
                signal: Signal::Description {
                    sdp_type: SdpType::Offer,
                    sdp: "v=0\r\n".into()
                }
            }
        );
        let candidate = json!({"type": "signal", "signal": {"kind": "candidate",
            "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
            "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}});
        assert!(matches!(
            to_server(candidate).unwrap(),
            ToServer::Signal {
                signal: Signal::Candidate {
                    sdp_m_line_index: Some(0),
                    ..
                }
            }
        ));
    }

    #[test]
    fn what_the_server_says_round_trips() {
        let joined = FromServer::Joined {
            polite: true,
            ice_servers: vec![IceServer {
                urls: vec!["turn:192.0.2.1:3478".into()],
                username: Some("1700000000".into()),
                credential: Some("x".into()),
            }],
            resume: ResumeToken::from_bytes([0; 16]),
            grace: 30,
        };
        let text = serde_json::to_string(&joined).unwrap();
        assert!(text.contains(r#""type":"joined""#), "{text}");
        assert!(text.contains(r#""iceServers""#), "{text}");
        assert_eq!(serde_json::from_str::<FromServer>(&text).unwrap(), joined);
        let error = FromServer::error(Problem::RoomFull, None);
        let text = serde_json::to_string(&error).unwrap();
        assert!(text.contains(r#""problem":"room-full""#), "{text}");
        assert_eq!(
            serde_json::to_string(&FromServer::PeerLeft).unwrap(),
            r#"{"type":"peer-left"}"#
        );
        assert_eq!(
            serde_json::to_string(&FromServer::PeerAway).unwrap(),
            r#"{"type":"peer-away"}"#
        );
        // Without TURN, `peer-joined` is as it always was; with it, it carries the credentials.
        assert_eq!(
            serde_json::to_string(&FromServer::PEER_JOINED).unwrap(),
            r#"{"type":"peer-joined"}"#
        );
        assert_eq!(
            serde_json::from_str::<FromServer>(r#"{"type":"peer-joined"}"#).unwrap(),
            FromServer::PEER_JOINED
        );
        let peer_joined = FromServer::PeerJoined {
            ice_servers: vec![IceServer {
                urls: vec!["turn:192.0.2.1:3478".into()],
                username: Some("1700000000:0123456789abcdef".into()),
                credential: Some("x".into()),
            }],
            renew_in: Some(21_600),
        };
        let text = serde_json::to_string(&peer_joined).unwrap();
        assert!(
            text.starts_with(r#"{"type":"peer-joined","iceServers":[{"#),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<FromServer>(&text).unwrap(),
            peer_joined
        );
        assert_eq!(
            serde_json::to_string(&FromServer::PeerBack).unwrap(),
            r#"{"type":"peer-back"}"#
        );
        let resumed = FromServer::Resumed {
            polite: false,
            ice_servers: vec![],
            resume: ResumeToken::from_bytes([0xff; 16]),
            grace: 30,
            received: 4,
            complete: true,
            peer: true,
        };
        assert_eq!(
            serde_json::to_value(&resumed).unwrap(),
            json!({"type": "resumed", "polite": false, "iceServers": [],
                "resume": "_____________________w", "grace": 30, "received": 4,
                "complete": true, "peer": true})
        );
        assert_eq!(
            serde_json::to_value(FromServer::error(Problem::ResumeRefused, None)).unwrap()
                ["problem"],
            "resume-refused"
        );
        // A join without a wish is written as before.
        let join = ToServer::Join {
            room: RoomName::try_from("r".to_owned()).unwrap(),
            polite: None,
        };
        assert_eq!(
            serde_json::to_string(&join).unwrap(),
            r#"{"type":"join","room":"r"}"#
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            json!({"type": "join"}),
            json!({"type": "join", "room": ""}),
            json!({"type": "join", "room": "../etc"}),
            json!({"type": "join", "room": 7}),
            json!({"type": "join", "room": "r", "admin": true}),
            json!({"type": "nuke"}),
            json!({"room": "r"}),
            json!({"type": "signal", "signal": {"kind": "description", "type": "rollback", "sdp": ""}}),
            json!({"type": "signal", "signal": {"kind": "candidate", "candidate": "c", "sdpMLineIndex": -1}}),
            json!({"type": "signal", "signal": {"kind": "candidate", "candidate": "c", "sdpMLineIndex": 70000}}),
            json!({"type": "signal", "signal": "hello"}),
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
        assert!(!Problem::RoomFull.is_fatal());
        assert!(!Problem::BadMessage.is_fatal());
        assert!(
            !Problem::ResumeRefused.is_fatal(),
            "the page may join instead on the same connection"
        );
        assert!(!Problem::AlreadyInRoom.is_fatal());
    }
}
