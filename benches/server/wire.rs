//! What the load says on the wire, in either protocol: ours (`loopback-signal`, version 2) and
//! PeerJS's (`OPEN`, then `OFFER`/`ANSWER`/`CANDIDATE` by destination id), with a browser's
//! offers and candidates carrying the moment they were sent.
//!
//! The send time travels inside what a browser would send, where both servers relay it untouched:
//! a description's session id (`o=- <id> 2 IN IP4 …`) and a candidate's foundation, both plain
//! digits, as nanoseconds since [`epoch`]. Sender and receiver are this one process, so the
//! difference is the one-way relay time through the server on the same clock.

use loopback_signal::{FromServer, PeerId, RoomName, SdpType, Signal, ToServer, PROTOCOL};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

/// Which server's protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `loopback-server`'s `/signal`: join a room, then signal peers by their ids.
    Loopback,
    /// The PeerJS server's `/peerjs`: every page registers an id of its choosing and signals
    /// another by its id.
    PeerJs,
}

/// The moment every stamp counts from.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Now, as a stamp.
pub fn stamp_now() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The messages of one exchange between the two pages of a pair: an offer and four candidates
/// from the first, an answer and four candidates from the second (a call's setup over trickle
/// ICE, a host candidate over UDP and TCP, a reflexive and a relayed one; browsers send these in
/// a burst). A fifth of them are descriptions of about 5 KB.
pub const STEPS: usize = 10;

/// Whether step `step` of an exchange is sent by the pair's second page.
pub fn from_second(step: usize) -> bool {
    step % STEPS >= STEPS / 2
}

/// Who a signal goes to.
pub enum To<'a> {
    Loopback(PeerId),
    PeerJs(&'a str),
}

/// The text of step `step` of an exchange, stamped `stamp`, for `to`.
pub fn signal(step: usize, stamp: u64, to: To<'_>) -> String {
    let side = step % STEPS;
    let description = match side {
        0 => Some(SdpType::Offer),
        5 => Some(SdpType::Answer),
        _ => None,
    };
    // Steps 1 to 4 and 6 to 9: candidates 0 to 3.
    let candidate = || candidate_line((side % 5).saturating_sub(1), stamp);
    match to {
        To::Loopback(to) => {
            let signal = match description {
                Some(sdp_type) => Signal::Description {
                    sdp_type,
                    sdp: sdp(stamp, sdp_type),
                },
                None => Signal::Candidate {
                    candidate: candidate(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                    username_fragment: Some(UFRAG.into()),
                },
            };
            to_text(&ToServer::Signal { to, signal })
        }
        // As the PeerJS client (lib/negotiator.ts) sends them: the browser's description or
        // candidate in `payload`, with the media connection's id.
        To::PeerJs(dst) => {
            let message = match description {
                Some(sdp_type) => {
                    let (kind, name) = match sdp_type {
                        SdpType::Offer => ("OFFER", "offer"),
                        SdpType::Answer => ("ANSWER", "answer"),
                    };
                    json!({"type": kind, "dst": dst, "payload": {
                        "sdp": {"type": name, "sdp": sdp(stamp, sdp_type)},
                        "type": "media", "connectionId": CONNECTION, "browser": "chrome"}})
                }
                None => json!({"type": "CANDIDATE", "dst": dst, "payload": {
                    "candidate": {"candidate": candidate(), "sdpMid": "0", "sdpMLineIndex": 0,
                        "usernameFragment": UFRAG},
                    "type": "media", "connectionId": CONNECTION}}),
            };
            message.to_string()
        }
    }
}

/// Our `join`, version 2, for a room of its own per pair.
pub fn join(room: &str) -> String {
    let room = RoomName::try_from(room.to_owned()).unwrap_or_else(|e| panic!("{room:?}: {e}"));
    to_text(&ToServer::Join {
        v: Some(PROTOCOL),
        room,
        name: Default::default(),
        polite: None,
    })
}

/// What each protocol's page sends to stay connected: our page's `ping` (answered `pong`),
/// PeerJS's `HEARTBEAT` (not answered).
pub fn keepalive(protocol: Protocol) -> String {
    match protocol {
        Protocol::Loopback => to_text(&ToServer::Ping),
        Protocol::PeerJs => r#"{"type":"HEARTBEAT"}"#.to_owned(),
    }
}

/// The WebSocket's path (and query) on each server.
pub fn path(protocol: Protocol, id: &str) -> String {
    match protocol {
        Protocol::Loopback => "/signal".to_owned(),
        // As the PeerJS client builds it: key, id, and a random token that proves the id is
        // this page's on a reconnection.
        Protocol::PeerJs => format!("/peerjs?key=peerjs&id={id}&token=t{id}"),
    }
}

/// A message from a server, as the load cares about it.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// In the room (ours: `joined`, with the peer if one was there) or registered (PeerJS:
    /// `OPEN`).
    Seated { peer: Option<PeerId> },
    /// Ours: the pair's other page came into the room.
    PeerJoined(PeerId),
    /// A relayed signal, stamped when it was sent.
    Signal(u64),
    /// Anything else expected (a `pong`).
    Other,
    /// An error the server sent, or a message the load does not understand.
    Problem(String),
}

/// Reads one text message from a server.
pub fn heard(protocol: Protocol, text: &str) -> Heard {
    match protocol {
        Protocol::Loopback => match serde_json::from_str::<FromServer>(text) {
            Ok(FromServer::Joined { peers, .. }) => Heard::Seated {
                peer: peers.first().map(|p| p.peer),
            },
            Ok(FromServer::PeerJoined { peer, .. }) => Heard::PeerJoined(peer),
            Ok(FromServer::Signal { signal, .. }) => match signal_stamp(&signal) {
                Some(stamp) => Heard::Signal(stamp),
                None => Heard::Problem("a signal without its stamp".into()),
            },
            Ok(FromServer::Pong) => Heard::Other,
            Ok(FromServer::Error { problem, .. }) => Heard::Problem(format!("{problem:?}")),
            Ok(other) => Heard::Problem(format!("unexpected {}", kind_of(&other))),
            Err(e) => Heard::Problem(format!("unreadable: {e}")),
        },
        Protocol::PeerJs => {
            let Ok(message) = serde_json::from_str::<Value>(text) else {
                return Heard::Problem("unreadable".into());
            };
            let payload = &message["payload"];
            let stamped = |text: &Value, prefix: &str| {
                text.as_str()
                    .and_then(|t| t.strip_prefix(prefix))
                    .and_then(leading_number)
                    .map_or_else(
                        || Heard::Problem("a signal without its stamp".into()),
                        Heard::Signal,
                    )
            };
            match message["type"].as_str() {
                Some("OPEN") => Heard::Seated { peer: None },
                Some("OFFER" | "ANSWER") => stamped(&payload["sdp"]["sdp"], SDP_HEAD),
                Some("CANDIDATE") => stamped(&payload["candidate"]["candidate"], "candidate:"),
                Some(kind) => Heard::Problem(format!(
                    "{kind} {}",
                    payload["msg"].as_str().unwrap_or_default()
                )),
                None => Heard::Problem("no type".into()),
            }
        }
    }
}

fn to_text(message: &ToServer) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| panic!("{message:?}: {e}"))
}

fn kind_of(message: &FromServer) -> String {
    let text = serde_json::to_value(message).unwrap_or_default();
    text["type"].as_str().unwrap_or("?").to_owned()
}

fn signal_stamp(signal: &Signal) -> Option<u64> {
    match signal {
        Signal::Description { sdp, .. } => sdp.strip_prefix(SDP_HEAD).and_then(leading_number),
        Signal::Candidate { candidate, .. } => candidate
            .strip_prefix("candidate:")
            .and_then(leading_number),
        _ => None,
    }
}

fn leading_number(text: &str) -> Option<u64> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

const UFRAG: &str = "Xk3q";

/// The PeerJS client's id for a media connection: `mc_` and random characters.
const CONNECTION: &str = "mc_bench0123456789";

/// What every description starts with, up to its session id.
const SDP_HEAD: &str = "v=0\r\no=- ";

/// A browser's description: Chromium's offer for a camera and a microphone (Opus, VP8, VP9, AV1
/// and H.264 with their retransmission types), 5 KB, its session id `stamp`.
fn sdp(stamp: u64, sdp_type: SdpType) -> String {
    static BODY: OnceLock<String> = OnceLock::new();
    let body = BODY.get_or_init(|| SDP_BODY.replace('\n', "\r\n"));
    let setup = match sdp_type {
        SdpType::Offer => "actpass",
        SdpType::Answer => "active",
    };
    format!("{SDP_HEAD}{stamp}{}", body.replace("{setup}", setup))
}

/// After the session id; lines end in CR LF on the wire.
const SDP_BODY: &str = " 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS 5d7b1f0e-8c61-4a3e-9f1d-2b6c0a7e4f11
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Xk3q
a=ice-pwd:9sPz1cWq2vLr8tYb6nFe0hJk
a=ice-options:trickle
a=fingerprint:sha-256 6B:8B:4F:2A:91:0C:D3:7E:55:A8:19:E4:3C:B2:70:6D:08:F1:C9:2E:47:BA:13:5F:A6:DD:82:39:C0:7B:E5:14
a=setup:{setup}
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:5d7b1f0e-8c61-4a3e-9f1d-2b6c0a7e4f11 a1c0e6f2-3b7d-4e89-b5a4-6f0d2c9e8b13
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1436452139 cname:q3Lw8Zx0Rb4TnV2m
a=ssrc:1436452139 msid:5d7b1f0e-8c61-4a3e-9f1d-2b6c0a7e4f11 a1c0e6f2-3b7d-4e89-b5a4-6f0d2c9e8b13
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 45 46 102 103 104 105 106 107 108 109
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Xk3q
a=ice-pwd:9sPz1cWq2vLr8tYb6nFe0hJk
a=ice-options:trickle
a=fingerprint:sha-256 6B:8B:4F:2A:91:0C:D3:7E:55:A8:19:E4:3C:B2:70:6D:08:F1:C9:2E:47:BA:13:5F:A6:DD:82:39:C0:7B:E5:14
a=setup:{setup}
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=sendrecv
a=msid:5d7b1f0e-8c61-4a3e-9f1d-2b6c0a7e4f11 c7e2a9d4-1f6b-4c38-8e05-9a3d7b2f6e10
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 goog-remb
a=rtcp-fb:98 transport-cc
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 nack
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:100 VP9/90000
a=rtcp-fb:100 goog-remb
a=rtcp-fb:100 transport-cc
a=rtcp-fb:100 ccm fir
a=rtcp-fb:100 nack
a=rtcp-fb:100 nack pli
a=fmtp:100 profile-id=2
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=100
a=rtpmap:45 AV1/90000
a=rtcp-fb:45 goog-remb
a=rtcp-fb:45 transport-cc
a=rtcp-fb:45 ccm fir
a=rtcp-fb:45 nack
a=rtcp-fb:45 nack pli
a=fmtp:45 level-idx=5;profile=0;tier=0
a=rtpmap:46 rtx/90000
a=fmtp:46 apt=45
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=rtcp-fb:104 goog-remb
a=rtcp-fb:104 transport-cc
a=rtcp-fb:104 ccm fir
a=rtcp-fb:104 nack
a=rtcp-fb:104 nack pli
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:105 rtx/90000
a=fmtp:105 apt=104
a=rtpmap:106 H264/90000
a=rtcp-fb:106 goog-remb
a=rtcp-fb:106 transport-cc
a=rtcp-fb:106 ccm fir
a=rtcp-fb:106 nack
a=rtcp-fb:106 nack pli
a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=106
a=rtpmap:108 red/90000
a=rtpmap:109 ulpfec/90000
a=ssrc-group:FID 2919431417 3704158902
a=ssrc:2919431417 cname:q3Lw8Zx0Rb4TnV2m
a=ssrc:2919431417 msid:5d7b1f0e-8c61-4a3e-9f1d-2b6c0a7e4f11 c7e2a9d4-1f6b-4c38-8e05-9a3d7b2f6e10
a=ssrc:3704158902 cname:q3Lw8Zx0Rb4TnV2m
a=ssrc:3704158902 msid:5d7b1f0e-8c61-4a3e-9f1d-2b6c0a7e4f11 c7e2a9d4-1f6b-4c38-8e05-9a3d7b2f6e10
";

/// Candidate `n` (0 to 3) of a browser's trickle, its foundation `stamp`: Chromium's forms for a
/// host address behind an mDNS name (UDP, then TCP), a reflexive and a relayed address.
fn candidate_line(n: usize, stamp: u64) -> String {
    const HOST: &str = "0d3f6a2e-91b4-4c7a-8e52-7b1c9f04d6a3.local";
    let tail = format!("generation 0 ufrag {UFRAG} network-cost 999");
    match n {
        0 => format!("candidate:{stamp} 1 udp 2113937151 {HOST} 54400 typ host {tail}"),
        1 => format!("candidate:{stamp} 1 tcp 2113939711 {HOST} 9 typ host tcptype active {tail}"),
        2 => format!(
            "candidate:{stamp} 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 {tail}"
        ),
        _ => format!(
            "candidate:{stamp} 1 udp 33562367 198.51.100.20 61203 typ relay raddr 203.0.113.7 rport 54400 {tail}"
        ),
    }
}
