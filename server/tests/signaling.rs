//! The server over real sockets on 127.0.0.1: pages meeting in rooms of up to six, and everything
//! a hostile or broken client can send, each answered with a clear error or a clean close, and the
//! rooms empty again afterwards.

mod support {
    pub mod page;
}

use futures_util::{SinkExt, StreamExt};
use loopback_server::turn::Turn;
use loopback_server::{
    Config, Limits, Running, CHECK_HEADER, CHECK_ICE_PATH, CHECK_TTL, HEALTH_PATH, READY_PATH,
    ROOM_SIZE, SIGNAL_PATH,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use support::page::{candidate, send, signal, Socket};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

const WAIT: Duration = Duration::from_secs(5);
/// The version of the messages these pages speak.
const V: u32 = loopback_signal::PROTOCOL;

/// A folder with a page in it, for the server to serve.
fn dist() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loopback-server-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>page</title>").unwrap();
    dir
}

/// [`config`] with TURN: coturn's `north-wind` secret, credentials valid 10 minutes.
fn with_turn() -> Config {
    let mut config = config();
    config.turn = Some(Turn {
        urls: vec!["turn:127.0.0.1:3478".into()],
        secret: "north-wind".into(),
        ttl: Duration::from_secs(600),
    });
    config
}

fn config() -> Config {
    Config {
        dist: dist(),
        allowed_origins: vec![],
        public_origins: Vec::new(),
        trusted_proxies: Vec::new(),
        denied_candidates: loopback_server::inspect::default_denied(),
        limits: Limits::default(),
        turn: None,
        tls: false,
        hsts: false,
        signaling: true,
        room_size: ROOM_SIZE,
    }
}

/// [`config`] for tests that fill rooms: more joins from 127.0.0.1 than a person makes.
fn group_config() -> Config {
    let mut config = config();
    config.limits.joins_burst = 100;
    config.limits.joins_per_minute = 100;
    config
}

async fn start(config: Config) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Running::start(listener, config).unwrap()
}

/// A WebSocket to the server, as a page of `origin` opens it.
async fn connect_from(server: &Running, origin: Option<&str>) -> Result<Socket, String> {
    let mut request = format!("ws://{}{SIGNAL_PATH}", server.addr)
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| e.to_string())
}

/// A WebSocket from the server's own page.
async fn connect(server: &Running) -> Socket {
    let origin = format!("http://{}", server.addr);
    connect_from(server, Some(&origin)).await.unwrap()
}

/// The next message from the server as it was written, skipping pings.
async fn recv_text(socket: &mut Socket) -> String {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return text.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// The next message from the server, skipping pings.
async fn recv(socket: &mut Socket) -> Value {
    serde_json::from_str(&recv_text(socket).await).expect("JSON from the server")
}

/// Reads until the server closes; returns the close code (None: the stream just ended).
async fn closed(socket: &mut Socket) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Err(_) => panic!("the server did not close within 5 s"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => {
                // Read on, so the socket sends its Close back and the server need not wait for it.
                while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, socket.next()).await {}
                return frame.map(|f| f.code);
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Closes as a browser does: sends Close and reads on until the server's Close (a socket dropped
/// at once resets what the server still writes, and its Close may then never be read).
async fn bye(socket: &mut Socket) {
    socket.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, socket.next()).await {}
}

fn problem(message: &Value) -> &str {
    assert_eq!(message["type"], "error", "{message}");
    assert!(
        message["message"].as_str().is_some_and(|m| m.len() > 10),
        "a sentence: {message}"
    );
    message["problem"].as_str().unwrap()
}

/// Waits until no room is left.
async fn rooms_back_to_zero(server: &Running) {
    let start = std::time::Instant::now();
    while server.state.store.rooms() != 0 || server.state.store.peers() != 0 {
        assert!(
            start.elapsed() < WAIT,
            "{} rooms and {} peers left",
            server.state.store.rooms(),
            server.state.store.peers()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks a `joined` message: version 2, a peer id, the others as a list, the room's size, ICE
/// servers (TURN only with someone to call, and `renewIn` only with them), the grace, and a
/// resume token of 22 base64url characters, which it returns.
fn joined(message: &Value) -> String {
    assert_eq!(message["type"], "joined", "{message}");
    assert_eq!(message["v"], V, "{message}");
    assert!(
        message["peer"].as_u64().is_some_and(|p| p >= 1),
        "{message}"
    );
    let peers = message["peers"].as_array().expect("peers");
    assert!(message["size"]
        .as_u64()
        .is_some_and(|s| (2..=8).contains(&s)));
    let ice = message["iceServers"].as_array().expect("iceServers");
    if peers.is_empty() {
        assert!(ice.is_empty(), "TURN for a page alone: {message}");
    }
    if ice.is_empty() {
        assert!(message.get("renewIn").is_none(), "{message}");
    }
    assert!(
        message["grace"].as_u64().is_some_and(|g| g >= 1),
        "{message}"
    );
    let object = message.as_object().unwrap();
    let expected = 8 + usize::from(message.get("renewIn").is_some());
    assert_eq!(
        object.len(),
        expected,
        "type, v, peer, peers, size, iceServers, (renewIn,) resume, grace: {message}"
    );
    token_of(message)
}

fn token_of(message: &Value) -> String {
    let token = message["resume"].as_str().expect("a resume token");
    assert_eq!(token.len(), 22, "{message}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{message}"
    );
    token.to_owned()
}

/// The `peers` of a `joined` or `resumed`: each one's id, and this page's role toward it.
fn roles(message: &Value) -> Vec<(u64, bool)> {
    message["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .map(|p| (p["peer"].as_u64().unwrap(), p["polite"].as_bool().unwrap()))
        .collect()
}

/// A page that joins `room`, with a role wish or none; returns its socket and its `joined`.
async fn join(server: &Running, room: &str, wish: Option<bool>) -> (Socket, Value) {
    let mut page = connect(server).await;
    let mut message = json!({"type": "join", "v": V, "room": room});
    if let Some(wish) = wish {
        message["polite"] = json!(wish);
    }
    send(&mut page, message).await;
    let answer = recv(&mut page).await;
    joined(&answer);
    (page, answer)
}

/// A `peer-joined` without a name or TURN credentials.
fn peer_joined(peer: u64, polite: bool) -> Value {
    json!({"type": "peer-joined", "peer": peer, "polite": polite})
}

/// Two pages in room `r`: the first (peer 1) impolite toward the second (peer 2), which came in
/// knowing of it; the first told of the second.
async fn pair(server: &Running) -> (Socket, Socket) {
    let ((a, _), (b, _)) = pair_with_tokens(server).await;
    (a, b)
}

/// [`pair`], with each page's resume token.
async fn pair_with_tokens(server: &Running) -> ((Socket, String), (Socket, String)) {
    let (mut a, a_joined) = join(server, "r", None).await;
    assert_eq!(
        (a_joined["peer"].as_u64(), roles(&a_joined)),
        (Some(1), vec![])
    );
    let (b, b_joined) = join(server, "r", None).await;
    assert_eq!(b_joined["peer"], 2);
    assert_eq!(roles(&b_joined), vec![(1, true)], "the newcomer answers");
    assert_eq!(recv(&mut a).await, peer_joined(2, false));
    ((a, token_of(&a_joined)), (b, token_of(&b_joined)))
}

/// `n` pages in `room`, peers 1 to `n` in that order, each told of every later one: checks that
/// every page knows every other by the same id, with the opposite role.
async fn group(server: &Running, room: &str, n: u64) -> Vec<Socket> {
    let pages = group_with_tokens(server, room, n).await;
    pages.into_iter().map(|(page, _)| page).collect()
}

/// [`group`], with each page's resume token.
async fn group_with_tokens(server: &Running, room: &str, n: u64) -> Vec<(Socket, String)> {
    let mut pages: Vec<(Socket, String)> = Vec::new();
    for k in 1..=n {
        let (page, answer) = join(server, room, None).await;
        assert_eq!(answer["peer"], k, "ids in join order: {answer}");
        assert_eq!(answer["size"], server_size(server), "{answer}");
        let expected: Vec<_> = (1..k).map(|j| (j, true)).collect();
        assert_eq!(roles(&answer), expected, "polite toward everyone there");
        assert!(answer["peers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("away").is_none()));
        for (earlier, _) in &mut pages {
            assert_eq!(recv(earlier).await, peer_joined(k, false), "the other end");
        }
        pages.push((page, token_of(&answer)));
    }
    pages
}

/// The size of the server's rooms.
fn server_size(server: &Running) -> usize {
    server.state.store.room_size()
}

/// A description's SDP as browsers write it, shortened.
const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";

/// The next message is candidate `n` from peer `from`.
async fn expect_signal(socket: &mut Socket, from: u64, n: usize) {
    assert_eq!(
        recv(socket).await,
        json!({"type": "signal", "from": from, "signal": candidate(n)})
    );
}

/// A new connection asking for the seat `token` names.
async fn resume(server: &Running, room: &str, token: &str, received: u64) -> (Socket, Value) {
    let mut page = connect(server).await;
    send(
        &mut page,
        json!({"type": "resume", "v": V, "room": room, "token": token, "received": received}),
    )
    .await;
    let answer = recv(&mut page).await;
    (page, answer)
}

/// Checks a refused resume: the problem, a detail containing `why`, and no token in it.
fn refused(message: &Value, why: &str, token: &str) {
    let expected = if why.contains("another live connection") {
        "seat-in-use"
    } else if why.contains("grace") {
        "seat-expired"
    } else {
        "resume-refused"
    };
    assert_eq!(problem(message), expected, "{message}");
    let text = message["message"].as_str().unwrap();
    assert!(text.contains(why), "{text:?} should say {why:?}");
    assert!(!text.contains(token), "the token echoed: {text}");
}

/// The next message that is not `peer-away` or `peer-back` (whose order against a hand-over is a
/// race the test does not decide).
async fn recv_past_presence(socket: &mut Socket) -> Value {
    loop {
        let message = recv(socket).await;
        if message["type"] != "peer-away" && message["type"] != "peer-back" {
            return message;
        }
    }
}

/// Pings and waits for the pong: everything this page sent before is handled by then (a
/// connection's messages are handled in order). Returns what came before the pong.
async fn settled(socket: &mut Socket) -> Vec<Value> {
    send(socket, json!({"type": "ping"})).await;
    let mut before = Vec::new();
    loop {
        let message = recv(socket).await;
        if message == json!({"type": "pong"}) {
            return before;
        }
        before.push(message);
    }
}

#[tokio::test]
async fn two_pages_meet_exchange_signals_and_part() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    assert_eq!(server.state.store.rooms(), 1);

    let offer = json!({"kind": "description", "type": "offer", "sdp": SDP});
    send(&mut a, json!({"type": "signal", "to": 2, "signal": offer})).await;
    assert_eq!(
        recv(&mut b).await,
        json!({"type": "signal", "from": 1, "signal": offer})
    );
    let candidate = json!({"kind": "candidate", "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host", "sdpMid": "0", "sdpMLineIndex": 0});
    send(
        &mut b,
        json!({"type": "signal", "to": 1, "signal": candidate}),
    )
    .await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "signal", "from": 2, "signal": candidate})
    );
    send(
        &mut b,
        json!({"type": "signal", "to": 1, "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "signal", "from": 2, "signal": {"kind": "end-of-candidates"}})
    );

    // HangUp on one side: the other is told, and may wait for someone new.
    send(&mut a, json!({"type": "leave"})).await;
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    assert_eq!(server.state.store.rooms(), 1, "b is still in the room");
    send(&mut a, json!({"type": "join", "v": V, "room": "r"})).await;
    let again = recv(&mut a).await;
    joined(&again);
    // Back in as someone new: a new id, and the newcomer's role.
    assert_eq!(again["peer"], 3);
    assert_eq!(roles(&again), vec![(2, true)]);
    assert_eq!(recv(&mut b).await, peer_joined(3, false));
    bye(&mut a).await;
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 3}));
    bye(&mut b).await;
    rooms_back_to_zero(&server).await;
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn a_page_that_leaves_and_joins_again_hears_nothing_more_of_its_old_room() {
    let server = start(generous()).await;
    let (mut x, mut y) = pair(&server).await;
    let (mut z, _) = join(&server, "s", None).await;
    // y says a lot to x, all of it queued for x before x leaves.
    for n in 1000..1200 {
        signal(&mut y, 1, n).await;
    }
    assert!(settled(&mut y).await.is_empty());
    // x hangs up and at once calls in another room, where peer 1 is z, not y.
    send(&mut x, json!({"type": "leave"})).await;
    send(&mut x, json!({"type": "join", "v": V, "room": "s"})).await;
    // What reached x before its leave is the old room's, fine; after its `joined`, none of it.
    let answer = loop {
        let message = recv(&mut x).await;
        if message["type"] == "joined" {
            break message;
        }
        assert_eq!(message["from"], 2, "{message}");
    };
    assert_eq!(
        (answer["peer"].as_u64(), roles(&answer)),
        (Some(2), vec![(1, true)])
    );
    assert_eq!(recv(&mut z).await, peer_joined(2, false));
    signal(&mut z, 2, 7).await;
    expect_signal(&mut x, 1, 7).await;
    assert!(settled(&mut x).await.is_empty(), "nothing of room r");
    assert_eq!(recv(&mut y).await, json!({"type": "peer-left", "peer": 1}));
    for page in [&mut x, &mut y, &mut z] {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_past_the_room_size_is_told_the_room_is_full() {
    // `--room-size 2`: the rooms of version 1.
    let mut two = config();
    two.room_size = 2;
    let server = start(two).await;
    let (mut a, b) = pair(&server).await;
    let mut c = connect(&server).await;
    send(&mut c, json!({"type": "join", "v": V, "room": "r"})).await;
    assert_eq!(problem(&recv(&mut c).await), "room-full");
    // c is in no room: its signals go nowhere, and the pair is undisturbed.
    send(
        &mut c,
        json!({"type": "signal", "to": 1, "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    assert_eq!(problem(&recv(&mut c).await), "not-in-room");
    send(
        &mut a,
        json!({"type": "signal", "to": 2, "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    for mut page in [a, b, c] {
        bye(&mut page).await;
    }
    rooms_back_to_zero(&server).await;
    // And a room of three holds three, and says so.
    let mut three = config();
    three.room_size = 3;
    let server = start(three).await;
    let mut pages = group(&server, "r", 3).await;
    let mut fourth = connect(&server).await;
    send(&mut fourth, json!({"type": "join", "v": V, "room": "r"})).await;
    assert_eq!(problem(&recv(&mut fourth).await), "room-full");
    for page in pages.iter_mut().chain([&mut fourth]) {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_room_of_six_gives_every_pair_its_own_call() {
    let server = start(group_config()).await;
    // Everyone learns everyone, by the same ids, with opposite roles in every pair.
    let mut pages = group(&server, "r", 6).await;
    assert_eq!(server.state.store.rooms(), 1);
    // A signal from each to each reaches only its target, as from its true sender.
    for from in 1..=6u64 {
        for to in (1..=6u64).filter(|&to| to != from) {
            let n = (from * 10 + to) as usize;
            signal(&mut pages[from as usize - 1], to, n).await;
        }
    }
    for to in 1..=6u64 {
        let page = &mut pages[to as usize - 1];
        let mut heard = Vec::new();
        for _ in 0..5 {
            let message = recv(page).await;
            assert_eq!(message["type"], "signal", "{message}");
            let from = message["from"].as_u64().unwrap();
            let n = (from * 10 + to) as usize;
            assert_eq!(message["signal"], candidate(n), "for {to}: {message}");
            heard.push(from);
        }
        heard.sort_unstable();
        let others: Vec<u64> = (1..=6).filter(|&o| o != to).collect();
        assert_eq!(heard, others, "one from each other page");
    }
    for page in &mut pages {
        assert!(settled(page).await.is_empty(), "nothing else arrived");
    }
    // A seventh is told the room is full, and nobody hears of it.
    let mut seventh = connect(&server).await;
    send(&mut seventh, json!({"type": "join", "v": V, "room": "r"})).await;
    assert_eq!(problem(&recv(&mut seventh).await), "room-full");
    // One leaves: the five hear it by its id.
    send(&mut pages[2], json!({"type": "leave"})).await;
    let mut gone = pages.remove(2);
    for page in &mut pages {
        assert_eq!(recv(page).await, json!({"type": "peer-left", "peer": 3}));
    }
    // Now the seventh fits, with a new id, and everyone hears of it.
    send(&mut seventh, json!({"type": "join", "v": V, "room": "r"})).await;
    let answer = recv(&mut seventh).await;
    joined(&answer);
    assert_eq!(answer["peer"], 7);
    assert_eq!(
        roles(&answer),
        vec![(1, true), (2, true), (4, true), (5, true), (6, true)]
    );
    for page in &mut pages {
        assert_eq!(recv(page).await, peer_joined(7, false));
    }
    signal(&mut seventh, 1, 71).await;
    expect_signal(&mut pages[0], 7, 71).await;
    signal(&mut pages[0], 7, 17).await;
    expect_signal(&mut seventh, 1, 17).await;
    for page in pages.iter_mut().chain([&mut gone, &mut seventh]) {
        bye(page).await;
    }
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn signals_to_nobody_or_to_oneself_are_refused_and_the_page_goes_on() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    for to in [0u64, 2 + 1, 9_999, u64::MAX, 1] {
        signal(&mut a, to, 5).await;
        let answer = recv(&mut a).await;
        assert_eq!(problem(&answer), "unknown-peer", "to {to}: {answer}");
    }
    // b heard none of it; the connection goes on, and the next signal is relayed.
    signal(&mut a, 2, 6).await;
    expect_signal(&mut b, 1, 6).await;
    // A peer that left is unknown from then on.
    bye(&mut b).await;
    assert_eq!(recv(&mut a).await, json!({"type": "peer-left", "peer": 2}));
    signal(&mut a, 2, 7).await;
    assert_eq!(
        problem(&recv(&mut a).await),
        "no-peer",
        "nobody left to call"
    );
    bye(&mut a).await;
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_cannot_speak_as_another() {
    let server = start(group_config()).await;
    let mut pages = group(&server, "r", 3).await;
    // A `from` of its own choosing, at the top or inside the signal: not a message.
    for forged in [
        json!({"type": "signal", "to": 2, "from": 3, "signal": candidate(1)}),
        json!({"type": "signal", "to": 2, "signal": {"kind": "candidate", "candidate": "", "from": 3}}),
        json!({"type": "signal", "to": 2, "peer": 3, "signal": candidate(1)}),
        json!({"type": "signal", "to": 2, "from": 3, "signal": {"kind": "end-of-candidates"}}),
    ] {
        send(&mut pages[0], forged.clone()).await;
        let answer = recv(&mut pages[0]).await;
        assert_eq!(problem(&answer), "bad-message", "{forged}: {answer}");
    }
    // Inside a signal without fields of its own, serde lets an unknown `from` through (its
    // `deny_unknown_fields` does not reach unit variants): whatever becomes of it, it never
    // arrives as from anyone but the sender.
    for kind in ["end-of-candidates", "restart-ice", "no-path"] {
        send(
            &mut pages[0],
            json!({"type": "signal", "to": 2, "signal": {"kind": kind, "from": 3}}),
        )
        .await;
        let replies = settled(&mut pages[0]).await;
        if replies.is_empty() {
            assert_eq!(
                recv(&mut pages[1]).await,
                json!({"type": "signal", "from": 1, "signal": {"kind": kind}})
            );
        } else {
            assert_eq!(problem(&replies[0]), "bad-message", "{kind}");
        }
    }
    // What arrives always carries the real sender.
    signal(&mut pages[0], 2, 1).await;
    let relayed = recv(&mut pages[1]).await;
    assert_eq!(relayed["from"], 1, "{relayed}");
    for page in &mut pages[1..] {
        assert!(settled(page).await.is_empty(), "no forged signal arrived");
    }
    for page in &mut pages {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn names_are_relayed_as_typed_and_bad_names_refused() {
    let server = start(group_config()).await;
    let markup = "<img src=x onerror=alert(1)>";
    let mut a = connect(&server).await;
    send(
        &mut a,
        json!({"type": "join", "v": V, "room": "r", "name": markup}),
    )
    .await;
    joined(&recv(&mut a).await);
    // The newcomer sees the name verbatim, as a JSON string.
    let mut b = connect(&server).await;
    send(
        &mut b,
        json!({"type": "join", "v": V, "room": "r", "name": "Bo"}),
    )
    .await;
    let text = recv_text(&mut b).await;
    assert!(
        text.contains(&format!("\"name\":{}", json!(markup))),
        "{text}"
    );
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["peers"][0]["name"], markup);
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "peer-joined", "peer": 2, "name": "Bo", "polite": false})
    );
    // A new name goes to the others.
    let quoted = "Bo \"the\" </script> & co";
    send(&mut b, json!({"type": "name", "name": quoted})).await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "peer-named", "peer": 2, "name": quoted})
    );
    // Too long, control characters, spaces around: not a message, neither joined nor renamed.
    let bad_names = [
        "x".repeat(33),
        "a\u{7}b".to_owned(),
        "line\nbreak".to_owned(),
        "nul\u{0}".to_owned(),
        "\u{1b}[31mred".to_owned(),
        " Ada".to_owned(),
    ];
    let mut c = connect(&server).await;
    for bad in &bad_names {
        send(
            &mut c,
            json!({"type": "join", "v": V, "room": "r", "name": bad}),
        )
        .await;
        let answer = recv(&mut c).await;
        assert_eq!(problem(&answer), "bad-message", "{bad:?}: {answer}");
        send(&mut b, json!({"type": "name", "name": bad})).await;
        assert_eq!(problem(&recv(&mut b).await), "bad-message", "{bad:?}");
    }
    send(&mut c, json!({"type": "name", "name": "Cy"})).await;
    assert_eq!(
        problem(&recv(&mut c).await),
        "not-in-room",
        "c never joined"
    );
    assert!(settled(&mut a).await.is_empty(), "a heard of nothing bad");
    // The names kept are the good ones.
    send(&mut c, json!({"type": "join", "v": V, "room": "r"})).await;
    let answer = recv(&mut c).await;
    assert_eq!(answer["peer"], 3, "{answer}");
    assert_eq!(answer["peers"][0]["name"], markup);
    assert_eq!(answer["peers"][1]["name"], quoted);
    for page in [&mut a, &mut b, &mut c] {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_of_another_version_is_told_so_and_closed() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let token = "AAECAwQFBgcICQoLDA0ODw";
    for (message, spoken) in [
        (json!({"type": "join", "room": "r"}), "version 1 (no v)"),
        (json!({"type": "join", "v": 1, "room": "r"}), "version 1,"),
        (
            json!({"type": "join", "v": 3, "room": "r", "name": "Cy"}),
            "version 3,",
        ),
        (
            json!({"type": "resume", "room": "r", "token": token, "received": 0}),
            "version 1 (no v)",
        ),
        (
            json!({"type": "resume", "v": 0, "room": "r", "token": token, "received": 0}),
            "version 0,",
        ),
    ] {
        let mut old = connect(&server).await;
        send(&mut old, message.clone()).await;
        let answer = recv(&mut old).await;
        assert_eq!(problem(&answer), "version", "{message}: {answer}");
        let text = answer["message"].as_str().unwrap();
        assert!(
            text.contains(&format!("this page speaks {spoken}"))
                && text.contains(&format!("the server version {V}")),
            "{text}"
        );
        assert!(!text.contains(token), "{text}");
        assert_eq!(closed(&mut old).await, Some(CloseCode::Policy), "{message}");
    }
    // A page in a room asking again in another version is closed too; its seat goes.
    send(&mut a, json!({"type": "join", "room": "r"})).await;
    assert_eq!(problem(&recv(&mut a).await), "version");
    assert_eq!(closed(&mut a).await, Some(CloseCode::Policy));
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    bye(&mut b).await;
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn bad_messages_get_an_error_and_the_connection_goes_on() {
    let server = start(config()).await;
    let mut page = connect(&server).await;
    for bad in [
        "not json",
        "{\"type\": \"join\"",
        "{\"type\": \"nuke\"}",
        "{\"type\": \"join\", \"v\": 2, \"room\": \"../../etc\"}",
        "{\"type\": \"join\", \"v\": 2, \"room\": \"r\", \"admin\": true}",
        "{\"type\": \"join\", \"v\": \"2\", \"room\": \"r\"}",
        "{\"type\": \"join\", \"v\": 2, \"room\": \"r\", \"peer\": 1}",
        "{\"type\": \"signal\", \"to\": 1, \"signal\": {\"kind\": \"description\", \"type\": \"rollback\", \"sdp\": \"\"}}",
        "{\"type\": \"signal\", \"signal\": {\"kind\": \"end-of-candidates\"}}",
        "{\"type\": \"signal\", \"to\": -1, \"signal\": {\"kind\": \"end-of-candidates\"}}",
        "{\"type\": \"signal\", \"to\": \"2\", \"signal\": {\"kind\": \"end-of-candidates\"}}",
        "[]",
        "null",
        "",
    ] {
        page.send(Message::Text(bad.into())).await.unwrap();
        assert_eq!(problem(&recv(&mut page).await), "bad-message", "for {bad:?}");
    }
    page.send(Message::Binary(vec![0, 1, 2].into()))
        .await
        .unwrap();
    assert_eq!(problem(&recv(&mut page).await), "bad-message");
    send(&mut page, json!({"type": "leave"})).await;
    assert_eq!(problem(&recv(&mut page).await), "not-in-room");
    send(&mut page, json!({"type": "join", "v": V, "room": "r"})).await;
    assert_eq!(recv(&mut page).await["type"], "joined");
    send(&mut page, json!({"type": "join", "v": V, "room": "s"})).await;
    assert_eq!(problem(&recv(&mut page).await), "already-in-room");
    send(
        &mut page,
        json!({"type": "signal", "to": 2, "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    assert_eq!(problem(&recv(&mut page).await), "no-peer");
    bye(&mut page).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn an_oversized_message_closes_the_connection() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let huge = json!({"type": "signal", "to": 2, "signal": {"kind": "description", "type": "offer", "sdp": "x".repeat(70 * 1024)}});
    // The server may close before the whole message is written.
    let _ = a.send(Message::Text(huge.to_string().into())).await;
    let code = closed(&mut a).await;
    assert!(
        matches!(code, None | Some(CloseCode::Size)),
        "closed with {code:?}"
    );
    assert_eq!(
        recv(&mut b).await,
        json!({"type": "peer-left", "peer": 1}),
        "b is told"
    );
    bye(&mut b).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

/// Sends `count` end-of-candidates to peer `to` as fast as the socket takes them, then reads
/// until the server closes; returns whether it said `too-fast`, and the close code.
async fn flood_signals(page: &mut Socket, to: u64, count: usize) -> (bool, Option<CloseCode>) {
    for _ in 0..count {
        let message = json!({"type": "signal", "to": to, "signal": {"kind": "end-of-candidates"}});
        if page
            .send(Message::Text(message.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut saw_too_fast = false;
    let code = loop {
        match tokio::time::timeout(WAIT, page.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                saw_too_fast |= message["problem"] == "too-fast";
            }
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break None,
        }
    };
    (saw_too_fast, code)
}

#[tokio::test]
async fn a_flooding_page_is_told_and_closed() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let burst = Limits::default().messages_at_once(ROOM_SIZE) as usize;
    let flood = std::time::Instant::now();
    let (saw_too_fast, code) = flood_signals(&mut a, 2, burst * 2).await;
    assert!(saw_too_fast, "told why");
    assert_eq!(code, Some(CloseCode::Policy));
    // The bucket refills while the flood lasts (longer on a loaded machine).
    let refill = (flood.elapsed().as_secs_f64() * f64::from(Limits::default().per_second)).ceil();
    // b got at most the burst and the refill, then the news.
    let mut relayed = 0;
    loop {
        let message = recv(&mut b).await;
        if message["type"] == "peer-left" {
            break;
        }
        relayed += 1;
    }
    assert!(
        relayed <= burst + refill as usize,
        "{relayed} relayed, burst {burst}, refill {refill}"
    );
    bye(&mut b).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

/// A description of about 8 KB, as a browser's offer with every codec, told apart by `n`.
fn description(n: usize) -> Value {
    let codecs: String = (0..150)
        .map(|pt| format!("a=rtpmap:{pt} codec{n}-{pt}/90000 with-some-parameters-{pt}\r\n"))
        .collect();
    json!({"kind": "description", "type": "offer", "sdp": format!("{SDP}{codecs}")})
}

#[tokio::test]
async fn a_newcomers_setup_with_five_others_passes_the_rate_limit_and_a_flood_does_not() {
    let server = start(group_config()).await;
    let mut pages = group(&server, "r", 6).await;
    let mut newcomer = pages.pop().unwrap();
    // Everything at once, as a page coming into a room of six sends it: for each of the five, an
    // offer, 20 candidates and end-of-candidates.
    let setup = |to: u64| {
        let mut messages =
            vec![json!({"type": "signal", "to": to, "signal": description(to as usize)})];
        for n in 0..20 {
            messages.push(json!({"type": "signal", "to": to, "signal": candidate(n)}));
        }
        messages.push(json!({"type": "signal", "to": to, "signal": {"kind": "end-of-candidates"}}));
        messages
    };
    let all: Vec<Value> = (1..=5).flat_map(setup).collect();
    assert_eq!(all.len(), 110);
    let size = description(1)["sdp"].as_str().unwrap().len();
    assert!((7_000..9_000).contains(&size), "{size} bytes");
    for message in &all {
        send(&mut newcomer, message.clone()).await;
    }
    assert!(settled(&mut newcomer).await.is_empty(), "not too fast");
    // Each of the five got its own setup, in order, from the newcomer.
    for (at, page) in pages.iter_mut().enumerate() {
        let to = at as u64 + 1;
        for expected in setup(to) {
            let message = recv(page).await;
            assert_eq!(message["from"], 6);
            assert_eq!(message["signal"], expected["signal"], "to {to}");
        }
    }
    // The same page flooding is closed all the same.
    let burst = Limits::default().messages_at_once(ROOM_SIZE) as usize;
    let (saw_too_fast, code) = flood_signals(&mut newcomer, 1, burst * 2).await;
    assert!(saw_too_fast, "told why");
    assert_eq!(code, Some(CloseCode::Policy));
    for page in &mut pages {
        loop {
            let message = recv(page).await;
            if message["type"] == "peer-left" {
                assert_eq!(message["peer"], 6);
                break;
            }
        }
    }
    for page in &mut pages {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
    // The burst grows with the room, not for everyone: in rooms of two, the same 110 messages
    // at once are a flood.
    let mut config = config();
    config.room_size = 2;
    let server = start(config).await;
    let (mut a, mut b) = pair(&server).await;
    let (saw_too_fast, code) = flood_signals(&mut a, 2, all.len()).await;
    assert!(saw_too_fast && code == Some(CloseCode::Policy), "{code:?}");
    loop {
        if recv(&mut b).await["type"] == "peer-left" {
            break;
        }
    }
    bye(&mut b).await;
    rooms_back_to_zero(&server).await;
}
#[tokio::test]
async fn pages_from_other_origins_are_refused() {
    let mut config = config();
    config.allowed_origins = vec!["http://127.0.0.1:8080".into()];
    let server = start(config).await;
    for origin in [
        Some("https://evil.example"),
        Some("null"),
        Some("http://127.0.0.1:8081"),
        None,
    ] {
        let error = connect_from(&server, origin).await.expect_err("refused");
        assert!(error.contains("403"), "{origin:?}: {error}");
    }
    assert!(connect_from(&server, Some("http://127.0.0.1:8080"))
        .await
        .is_ok());
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let mut config = config();
    config.limits.idle = Duration::from_millis(300);
    config.limits.ping = Duration::from_millis(100);
    // Idleness is a lost connection, not a goodbye: the seat waits this long for a resume.
    config.limits.grace = Duration::from_millis(300);
    let server = start(config).await;
    let mut page = connect(&server).await;
    send(&mut page, json!({"type": "join", "v": V, "room": "r"})).await;
    // Not reading: the client answers no ping, as a page that froze or vanished.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut told = false;
    let code = loop {
        match tokio::time::timeout(WAIT, page.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Text(text))) => told |= text.contains("\"idle\""),
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break None,
        }
    };
    assert!(told, "told why");
    assert_eq!(code, Some(CloseCode::Away));
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_lost_page_resumes_its_seat_and_misses_no_signal() {
    let server = start(config()).await;
    let ((mut a, a_token), (mut b, _)) = pair_with_tokens(&server).await;
    // a sends two signals and gets one of the two b sends before its connection is lost.
    signal(&mut a, 2, 100).await;
    signal(&mut a, 2, 101).await;
    expect_signal(&mut b, 1, 100).await;
    expect_signal(&mut b, 1, 101).await;
    signal(&mut b, 1, 0).await;
    signal(&mut b, 1, 1).await;
    expect_signal(&mut a, 2, 0).await;
    // The TCP connection drops with no close frame, as when a laptop lid shuts or the network
    // changes; signal 1 was on its way.
    drop(a);
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    assert_eq!(server.state.store.away(), 1);
    // The call goes on: what b says meanwhile is kept for a, and b hears no error.
    signal(&mut b, 1, 2).await;
    signal(&mut b, 1, 3).await;
    let (mut a, resumed) = resume(&server, "r", &a_token, 1).await;
    let new_token = token_of(&resumed);
    assert_ne!(new_token, a_token, "a new token; the old one is spent");
    assert_eq!(
        resumed,
        json!({"type": "resumed", "v": V, "peer": 1, "peers": [{"peer": 2, "polite": false}],
            "iceServers": [], "resume": new_token, "grace": 30, "received": 2,
            "complete": true}),
        "the same id and role; a's two signals were taken"
    );
    for n in 1..=3 {
        expect_signal(&mut a, 2, n).await;
    }
    assert_eq!(recv(&mut b).await, json!({"type": "peer-back", "peer": 1}));
    // Each exactly once: what comes next is new.
    signal(&mut b, 1, 4).await;
    expect_signal(&mut a, 2, 4).await;
    signal(&mut a, 2, 102).await;
    expect_signal(&mut b, 1, 102).await;
    assert_eq!(server.state.store.away(), 0);
    assert_eq!(server.state.store.rooms(), 1);
    // Lost again: the new token works, once more.
    drop(a);
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    let (mut a, resumed) = resume(&server, "r", &new_token, 5).await;
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    assert_eq!(resumed["received"], 3);
    assert_eq!(recv(&mut b).await, json!({"type": "peer-back", "peer": 1}));
    bye(&mut a).await;
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    bye(&mut b).await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_close_frame_or_a_leave_ends_the_seat_at_once() {
    let server = start(config()).await;
    let ((mut a, a_token), (mut b, b_token)) = pair_with_tokens(&server).await;
    bye(&mut a).await;
    // At once: well within the grace of 30 s.
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    assert_eq!(server.state.store.away(), 0);
    let (mut c, answer) = resume(&server, "r", &a_token, 0).await;
    refused(&answer, "never issued", &a_token);
    send(&mut b, json!({"type": "leave"})).await;
    rooms_back_to_zero_but(&server, 2).await;
    send(
        &mut c,
        json!({"type": "resume", "v": V, "room": "r", "token": b_token, "received": 0}),
    )
    .await;
    refused(&recv(&mut c).await, "never issued", &b_token);
    for mut page in [b, c] {
        bye(&mut page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_moving_to_a_new_socket_keeps_its_seat_and_pings_are_answered() {
    let server = start(config()).await;
    let ((mut a, a_token), (mut b, _)) = pair_with_tokens(&server).await;
    send(&mut a, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut a).await, json!({"type": "pong"}));
    // A page leaving a socket it believes dead says so with its close code: away, not gone.
    a.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: CloseCode::from(loopback_signal::CLOSE_MOVING),
        reason: "moving to a new socket".into(),
    }))
    .await
    .unwrap();
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    let (c, answer) = resume(&server, "r", &a_token, 0).await;
    assert_eq!(answer["type"], "resumed", "{answer}");
    assert_eq!(recv(&mut b).await, json!({"type": "peer-back", "peer": 1}));
    for mut page in [b, c] {
        bye(&mut page).await;
    }
    rooms_back_to_zero(&server).await;
}

/// Waits until no room is left and `peers` are connected.
async fn rooms_back_to_zero_but(server: &Running, peers: usize) {
    let start = std::time::Instant::now();
    while server.state.store.rooms() != 0 || server.state.store.peers() != peers {
        assert!(start.elapsed() < WAIT, "rooms or peers left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_seat_away_past_its_grace_is_gone() {
    let mut config = config();
    config.limits.grace = Duration::from_secs(1);
    let server = start(config).await;
    let ((a, a_token), (mut b, _)) = pair_with_tokens(&server).await;
    drop(a);
    let lost = std::time::Instant::now();
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    assert!(
        lost.elapsed() >= Duration::from_millis(900),
        "{:?}",
        lost.elapsed()
    );
    bye(&mut b).await;
    rooms_back_to_zero(&server).await;
    let (mut c, answer) = resume(&server, "r", &a_token, 0).await;
    refused(&answer, "grace", &a_token);
    // The connection is still good for a fresh start, in a room made anew.
    send(&mut c, json!({"type": "join", "v": V, "room": "r"})).await;
    let answer = recv(&mut c).await;
    joined(&answer);
    assert_eq!(answer["peer"], 1);
    bye(&mut c).await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn bad_tokens_are_refused_and_the_connection_stays_usable() {
    let server = start(config()).await;
    let mut page = connect(&server).await;
    for bad in [
        "short",
        "AAECAwQFBgcICQoLDA0ODw==",
        "AAECAwQFBgcICQoLDA0O+w",
        "AAECAwQFBgcICQoLDA0ODx",
    ] {
        send(
            &mut page,
            json!({"type": "resume", "v": V, "room": "r", "token": bad, "received": 0}),
        )
        .await;
        let answer = recv(&mut page).await;
        assert_eq!(problem(&answer), "bad-message", "{bad}: {answer}");
        assert!(
            !answer["message"].as_str().unwrap().contains(bad),
            "{answer}"
        );
    }
    let unknown = "AAECAwQFBgcICQoLDA0ODw";
    send(
        &mut page,
        json!({"type": "resume", "v": V, "room": "r", "token": unknown, "received": 0}),
    )
    .await;
    refused(&recv(&mut page).await, "never issued", unknown);

    let (a, a_joined) = join(&server, "r", None).await;
    let a_token = token_of(&a_joined);
    drop(a);
    while server.state.store.away() != 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send(
        &mut page,
        json!({"type": "resume", "v": V, "room": "s", "token": a_token, "received": 0}),
    )
    .await;
    refused(&recv(&mut page).await, "another room", &a_token);
    // Once, then spent.
    let (mut a, answer) = resume(&server, "r", &a_token, 0).await;
    assert_eq!(answer["type"], "resumed", "{answer}");
    assert_eq!(answer["peers"], json!([]), "alone");
    send(
        &mut page,
        json!({"type": "resume", "v": V, "room": "r", "token": a_token, "received": 0}),
    )
    .await;
    refused(&recv(&mut page).await, "used already", &a_token);
    // A page with a seat asks for no other.
    let new_token = token_of(&answer);
    send(
        &mut a,
        json!({"type": "resume", "v": V, "room": "r", "token": new_token, "received": 0}),
    )
    .await;
    assert_eq!(problem(&recv(&mut a).await), "already-in-room");
    // After all that, the refused page may still join: the room is a's, so it gets the free role.
    send(&mut page, json!({"type": "join", "v": V, "room": "r"})).await;
    let answer = recv(&mut page).await;
    joined(&answer);
    assert_eq!(roles(&answer), vec![(1, true)]);
    assert_eq!(recv(&mut a).await, peer_joined(2, false));
    for mut page in [a, page] {
        bye(&mut page).await;
    }
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_token_shown_while_its_owner_answers_is_refused() {
    let mut config = config();
    config.limits.probe = Duration::from_millis(300);
    let server = start(config).await;
    let ((mut a, a_token), (mut b, _)) = pair_with_tokens(&server).await;
    let mut thief = connect(&server).await;
    send(
        &mut thief,
        json!({"type": "resume", "v": V, "room": "r", "token": a_token, "received": 0}),
    )
    .await;
    // a reads on, so its socket answers the server's ping.
    let answer = {
        let owner_reads = async {
            loop {
                match a.next().await {
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    other => break format!("{other:?}"),
                }
            }
        };
        tokio::select! {
            answer = recv(&mut thief) => answer,
            unexpected = owner_reads => panic!("the owner got {unexpected}"),
        }
    };
    refused(&answer, "another live connection", &a_token);
    // The owner is undisturbed, the call goes on, and the token is still a's.
    signal(&mut b, 1, 0).await;
    expect_signal(&mut a, 2, 0).await;
    signal(&mut a, 2, 1).await;
    expect_signal(&mut b, 1, 1).await;
    assert_eq!(server.state.store.peers(), 3);
    drop(a);
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    send(
        &mut thief,
        json!({"type": "resume", "v": V, "room": "r", "token": a_token, "received": 1}),
    )
    .await;
    assert_eq!(recv(&mut thief).await["type"], "resumed");
    assert_eq!(recv(&mut b).await, json!({"type": "peer-back", "peer": 1}));
    for mut page in [b, thief] {
        bye(&mut page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_silent_owner_is_closed_as_dead_and_its_seat_resumed() {
    let mut config = config();
    config.limits.probe = Duration::from_millis(300);
    let server = start(config).await;
    let ((mut a, a_token), (mut b, _)) = pair_with_tokens(&server).await;
    signal(&mut b, 1, 0).await;
    // a's TCP connection stays open but the page never reads again (its network went away
    // without a word): nothing answers the probe's ping.
    let asked = std::time::Instant::now();
    let (mut a2, resumed) = resume(&server, "r", &a_token, 0).await;
    assert!(
        asked.elapsed() >= Duration::from_millis(300),
        "resumed after {:?}, before the probe time",
        asked.elapsed()
    );
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    assert_eq!(roles(&resumed), vec![(2, false)]);
    assert_eq!(resumed["complete"], true);
    // Signal 0 may have reached a's socket; a's page never counted it: it comes again.
    expect_signal(&mut a2, 2, 0).await;
    signal(&mut a2, 2, 1).await;
    assert_eq!(
        recv_past_presence(&mut b).await,
        json!({"type": "signal", "from": 1, "signal": candidate(1)})
    );
    // The old connection was closed.
    let _ = closed(&mut a).await;
    assert_eq!(server.state.store.peers(), 2);
    assert_eq!(server.state.store.away(), 0);
    for mut page in [a2, b] {
        bye(&mut page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_restarted_server_knows_no_seat_but_honors_the_old_role() {
    let server = start(config()).await;
    let (mut a, a_joined) = join(&server, "r", Some(true)).await;
    let a_token = token_of(&a_joined);
    // The page reads on, so it answers the closing handshake and the server stops at once.
    let stopping = tokio::spawn(server.shut_down());
    let _ = closed(&mut a).await;
    stopping.await.unwrap().unwrap();

    let server = start(config()).await;
    let (mut a, answer) = resume(&server, "r", &a_token, 0).await;
    refused(&answer, "never issued", &a_token);
    // a carries on its call as the polite peer it was; an empty room grants the wish.
    send(
        &mut a,
        json!({"type": "join", "v": V, "room": "r", "polite": true}),
    )
    .await;
    joined(&recv(&mut a).await);
    let (mut b, b_joined) = join(&server, "r", Some(false)).await;
    assert_eq!(
        roles(&b_joined),
        vec![(1, false)],
        "the opposite wish: granted"
    );
    assert_eq!(
        recv(&mut a).await,
        peer_joined(2, true),
        "a polite, as it was"
    );
    // Whoever comes next takes b's side toward a: a stays polite toward everyone.
    let (e, e_joined) = join(&server, "r", None).await;
    assert_eq!(roles(&e_joined), vec![(1, false), (2, false)]);
    assert_eq!(recv(&mut a).await, peer_joined(3, true));
    assert_eq!(recv(&mut b).await, peer_joined(3, true));
    // Two pages wishing for the same role: the second gets the one that is free.
    let (mut c, _) = join(&server, "q", Some(true)).await;
    let (d, d_joined) = join(&server, "q", Some(true)).await;
    assert_eq!(
        roles(&d_joined),
        vec![(1, false)],
        "the wish would make two polite peers"
    );
    assert_eq!(recv(&mut c).await, peer_joined(2, true));
    for mut page in [a, b, c, d, e] {
        bye(&mut page).await;
    }
    rooms_back_to_zero(&server).await;
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn a_page_that_vanishes_is_away_then_gone() {
    let mut config = config();
    config.limits.grace = Duration::from_millis(200);
    let server = start(config).await;
    let (a, mut b) = pair(&server).await;
    // The TCP connection drops with no close frame: the seat is kept a while, then freed.
    drop(a);
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    bye(&mut b).await;
    rooms_back_to_zero(&server).await;
}

/// Checks the TURN credentials in `message`: this server's URL, valid ten minutes from now, of a
/// username of its own, `renewIn` halfway, the secret not in it; returns the username.
fn turn_of(message: &Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let turn = &message["iceServers"][0];
    assert_eq!(turn["urls"], json!(["turn:127.0.0.1:3478"]), "{message}");
    assert_eq!(message["renewIn"], 300, "{message}");
    let username = turn["username"].as_str().unwrap().to_owned();
    let (expires, id) = username.split_once(':').expect("expiry:id");
    let expires: u64 = expires.parse().unwrap();
    assert!(
        (now + 590..=now + 610).contains(&expires),
        "{expires} vs {now}"
    );
    assert_eq!(id.len(), 16, "{username}");
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        loopback_server::turn::credential("north-wind", &username)
    );
    assert!(
        !message.to_string().contains("north-wind"),
        "the secret stays home"
    );
    username
}

#[tokio::test]
async fn pages_get_turn_credentials_of_their_own_once_there_is_someone_to_call() {
    let server = start(with_turn()).await;
    // Alone in a room: no TURN at all, however often it joins.
    let mut lone = connect(&server).await;
    for _ in 0..3 {
        send(&mut lone, json!({"type": "join", "v": V, "room": "alone"})).await;
        let joined = recv(&mut lone).await;
        assert_eq!(joined["iceServers"], json!([]), "{joined}");
        assert!(joined.get("renewIn").is_none(), "{joined}");
        send(&mut lone, json!({"type": "leave"})).await;
    }
    bye(&mut lone).await;
    // The first page gets its credentials with the first `peer-joined`; the second, which has
    // someone to call at once, with `joined`.
    let (mut a, a_joined) = join(&server, "r", None).await;
    assert_eq!(a_joined["iceServers"], json!([]));
    let (mut b, b_joined) = join(&server, "r", None).await;
    let mut usernames = vec![turn_of(&b_joined)];
    let heard = recv(&mut a).await;
    assert_eq!(heard["type"], "peer-joined", "{heard}");
    usernames.push(turn_of(&heard));
    // A third: its own credentials with `joined`; the others have theirs, and hear of it
    // without any.
    let (c, c_joined) = join(&server, "r", None).await;
    usernames.push(turn_of(&c_joined));
    for page in [&mut a, &mut b] {
        assert_eq!(recv(page).await, peer_joined(3, false), "no TURN again");
    }
    // Back on a new connection with others there: new credentials of its own.
    let c_token = token_of(&c_joined);
    drop(c);
    for page in [&mut a, &mut b] {
        assert_eq!(recv(page).await, json!({"type": "peer-away", "peer": 3}));
    }
    let (mut c, resumed) = resume(&server, "r", &c_token, 0).await;
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    usernames.push(turn_of(&resumed));
    let mut distinct = usernames.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        usernames.len(),
        "one credential each time: {usernames:?}"
    );
    // Back alone: none.
    let (solo, solo_joined) = join(&server, "solo", None).await;
    drop(solo);
    until("the lone seat away", WAIT, || {
        server.state.store.away() == 1
    })
    .await;
    let (mut solo, resumed) = resume(&server, "solo", &token_of(&solo_joined), 0).await;
    assert_eq!(resumed["iceServers"], json!([]), "{resumed}");
    assert!(resumed.get("renewIn").is_none(), "{resumed}");
    for page in [&mut a, &mut b, &mut c, &mut solo] {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_away_in_a_group_gets_every_signal_once_in_order_from_those_still_there() {
    let server = start(group_config()).await;
    let mut pages = group_with_tokens(&server, "r", 4).await;
    let (mut d, _) = pages.pop().unwrap();
    let (mut c, _) = pages.pop().unwrap();
    let (mut b, _) = pages.pop().unwrap();
    let (mut a, a_token) = pages.pop().unwrap();
    // a counted one signal from b before its connection was lost.
    signal(&mut b, 1, 9).await;
    expect_signal(&mut a, 2, 9).await;
    drop(a);
    for page in [&mut b, &mut c, &mut d] {
        assert_eq!(recv(page).await, json!({"type": "peer-away", "peer": 1}));
    }
    // The others go on signaling it, each signal handled before the next is sent, so that the
    // order is known.
    for (sender, n) in [(2, 10), (3, 20), (4, 40), (2, 11)] {
        let page = match sender {
            2 => &mut b,
            3 => &mut c,
            _ => &mut d,
        };
        signal(page, 1, n).await;
        assert!(settled(page).await.is_empty(), "no error for an away peer");
    }
    // d leaves (what it said is of no use to a any more), e comes and sees a away.
    send(&mut d, json!({"type": "leave"})).await;
    for page in [&mut b, &mut c] {
        assert_eq!(recv(page).await, json!({"type": "peer-left", "peer": 4}));
    }
    let (mut e, e_joined) = join(&server, "r", None).await;
    assert_eq!(e_joined["peer"], 5);
    assert_eq!(
        e_joined["peers"],
        json!([{"peer": 1, "polite": true, "away": true}, {"peer": 2, "polite": true},
            {"peer": 3, "polite": true}])
    );
    for page in [&mut b, &mut c] {
        assert_eq!(recv(page).await, peer_joined(5, false));
    }
    for (page, n) in [(&mut e, 50), (&mut c, 21)] {
        signal(page, 1, n).await;
        assert!(settled(page).await.is_empty());
    }
    // a comes back having counted one: the room as it is now, then each signal it missed,
    // once, in order, with its true sender; nothing from d.
    let (mut a, resumed) = resume(&server, "r", &a_token, 1).await;
    let new_token = token_of(&resumed);
    assert_eq!(
        resumed,
        json!({"type": "resumed", "v": V, "peer": 1,
            "peers": [{"peer": 2, "polite": false}, {"peer": 3, "polite": false},
                {"peer": 5, "polite": false}],
            "iceServers": [], "resume": new_token, "grace": 30, "received": 0,
            "complete": true}),
        "d gone, e come"
    );
    for (from, n) in [(2, 10), (3, 20), (2, 11), (5, 50), (3, 21)] {
        expect_signal(&mut a, from, n).await;
    }
    assert!(settled(&mut a).await.is_empty(), "none twice, none from d");
    for page in [&mut b, &mut c, &mut e] {
        assert_eq!(recv(page).await, json!({"type": "peer-back", "peer": 1}));
    }
    // And the calls go on: what comes next is new.
    signal(&mut b, 1, 12).await;
    expect_signal(&mut a, 2, 12).await;
    signal(&mut a, 5, 15).await;
    expect_signal(&mut e, 1, 15).await;
    for page in [&mut a, &mut b, &mut c, &mut d, &mut e] {
        bye(page).await;
    }
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn shutting_down_tells_every_page() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let hub = std::sync::Arc::clone(&server.state.store);
    let stopping = tokio::spawn(server.shut_down());
    for page in [&mut a, &mut b] {
        let mut told = false;
        loop {
            match tokio::time::timeout(WAIT, page.next())
                .await
                .expect("closed in time")
            {
                Some(Ok(Message::Text(text))) => told |= text.contains("shutting-down"),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
        assert!(told);
    }
    stopping.await.unwrap().unwrap();
    assert_eq!(hub.rooms(), 0);
}

/// `GET path` on the server's socket: the whole response, head and body.
async fn get(server: &Running, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

fn cache_control(response: &str) -> Option<&str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines()
        .find_map(|line| line.strip_prefix("cache-control: "))
}

#[tokio::test]
async fn the_page_is_served_and_nothing_outside_it() {
    let server = start(config()).await;
    let get = |path| get(&server, path);
    let page = get("/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<title>page</title>"));
    for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/nope.js"] {
        let response = get(path).await;
        assert!(
            response.starts_with("HTTP/1.1 404") || response.starts_with("HTTP/1.1 400"),
            "{path}: {response}"
        );
    }
    // The signaling path without an upgrade is not a page either.
    let plain = get(SIGNAL_PATH).await;
    assert!(plain.starts_with("HTTP/1.1 4"), "{plain}");
}

/// The body of a whole response.
fn body(response: &str) -> &str {
    response.split("\r\n\r\n").nth(1).unwrap_or_default()
}

/// `request` (its head, then a blank line) on the server's socket: the whole response.
async fn raw(server: &Running, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// A check's request for the server's ICE servers, as its page sends it, with `extra` headers.
async fn ask_check(server: &Running, extra: &str) -> String {
    raw(
        server,
        &format!(
            "GET {CHECK_ICE_PATH} HTTP/1.1\r\nHost: {}\r\n{CHECK_HEADER}: 1\r\n{extra}Connection: close\r\n\r\n",
            server.addr
        ),
    )
    .await
}

#[tokio::test]
async fn the_check_gets_short_turn_credentials_of_its_own_no_faster_than_joins() {
    let mut config = with_turn();
    config.limits.joins_burst = 2;
    config.limits.joins_per_minute = 2;
    let server = start(config).await;
    let mut usernames = Vec::new();
    for _ in 0..2 {
        let response = ask_check(&server, "").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert_eq!(cache_control(&response), Some("no-store"));
        let answer: Value = serde_json::from_str(body(&response)).expect("JSON");
        let ice = &answer["iceServers"][0];
        assert_eq!(ice["urls"], json!(["turn:127.0.0.1:3478"]));
        let username = ice["username"].as_str().expect("a username");
        assert_eq!(
            ice["credential"].as_str(),
            Some(loopback_server::turn::credential("north-wind", username).as_str()),
            "coturn would not take it"
        );
        // Valid for one run of the checks (5 minutes), not for the 10 a call's would be.
        assert_eq!(answer["ttl"], CHECK_TTL.as_secs());
        let expires: u64 = username
            .split(':')
            .next()
            .and_then(|t| t.parse().ok())
            .expect("coturn's expiry:id form");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(expires <= now + CHECK_TTL.as_secs() + 1, "{username}");
        usernames.push(username.to_owned());
    }
    assert_ne!(
        usernames[0], usernames[1],
        "each check has credentials of its own"
    );
    // The address's joins are spent: no more credentials, and no room either.
    let refused = ask_check(&server, "").await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    let mut page = connect(&server).await;
    send(
        &mut page,
        json!({"type": "join", "v": V, "room": "after-checks"}),
    )
    .await;
    let answer = recv(&mut page).await;
    assert_eq!(problem(&answer), "too-many-joins", "{answer}");
    bye(&mut page).await;
}

#[tokio::test]
async fn without_turn_the_check_is_told_there_is_none() {
    let server = start(config()).await;
    let response = ask_check(&server, "").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let answer: Value = serde_json::from_str(body(&response)).expect("JSON");
    assert_eq!(answer, json!({"iceServers": [], "ttl": 0}));
}

#[tokio::test]
async fn other_sites_and_odd_requests_get_no_credentials_and_spend_no_joins() {
    let mut config = with_turn();
    config.limits.joins_burst = 1;
    config.limits.joins_per_minute = 1;
    let server = start(config).await;
    let host = server.addr;
    for request in [
        // An <img> or a link of another site: no header of the check's.
        format!("GET {CHECK_ICE_PATH} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        // A script of another site that got the header through (a lax proxy).
        format!("GET {CHECK_ICE_PATH} HTTP/1.1\r\nHost: {host}\r\nOrigin: https://evil.example\r\n{CHECK_HEADER}: 1\r\nConnection: close\r\n\r\n"),
        format!("POST {CHECK_ICE_PATH} HTTP/1.1\r\nHost: {host}\r\n{CHECK_HEADER}: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"),
        format!("GET {CHECK_ICE_PATH}/../../etc/passwd HTTP/1.1\r\nHost: {host}\r\n{CHECK_HEADER}: 1\r\nConnection: close\r\n\r\n"),
        format!("OPTIONS {CHECK_ICE_PATH} HTTP/1.1\r\nHost: {host}\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Headers: {CHECK_HEADER}\r\nConnection: close\r\n\r\n"),
    ] {
        let response = raw(&server, &request).await;
        assert!(response.starts_with("HTTP/1.1 4"), "{request}: {response}");
        assert!(!response.contains("credential"), "{request}: {response}");
        assert!(
            !response.to_ascii_lowercase().contains("access-control-allow"),
            "{request}: {response}"
        );
    }
    // None of them spent the address's one join: the check's own request still gets its answer.
    let response = ask_check(&server, "").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(body(&response).contains("credential"), "{response}");
    // Its own origin, named, is its own.
    let server = start(with_turn()).await;
    let named = ask_check(&server, &format!("Origin: http://{}\r\n", server.addr)).await;
    assert!(named.starts_with("HTTP/1.1 200"), "{named}");
}

#[tokio::test]
async fn files_named_by_content_are_kept_and_the_page_is_asked_for_again() {
    let config = config();
    let hashed = "style-2bab40d47738c1da.css";
    std::fs::write(config.dist.join(hashed), "body {}").unwrap();
    std::fs::write(config.dist.join("plain.js"), "1").unwrap();
    let server = start(config).await;
    let asset = get(&server, &format!("/{hashed}")).await;
    assert!(asset.starts_with("HTTP/1.1 200"), "{asset}");
    assert_eq!(
        cache_control(&asset),
        Some("public, max-age=31536000, immutable")
    );
    // A name the page may soon name (a deploy half done) is not kept missing for good.
    let missing = "/loopback-rtc-0123456789abcdef.js";
    for path in [
        "/",
        "/index.html",
        "/?room=abc",
        "/plain.js",
        "/nope.js",
        missing,
    ] {
        let response = get(&server, path).await;
        assert_eq!(
            cache_control(&response),
            Some("no-cache"),
            "{path}: {response}"
        );
    }
    assert!(get(&server, missing).await.starts_with("HTTP/1.1 404"));
}

#[tokio::test]
async fn health_says_up_and_readiness_turns_away_new_pages_while_draining() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let status = |response: &str| response.lines().next().unwrap_or_default().to_owned();
    for (path, word) in [(HEALTH_PATH, "ok"), (READY_PATH, "ready")] {
        let response = get(&server, path).await;
        assert_eq!(status(&response), "HTTP/1.1 200 OK", "{response}");
        assert!(response.ends_with(word), "{response}");
        assert_eq!(cache_control(&response), Some("no-store"), "{response}");
    }
    server.drain();
    let ready = get(&server, READY_PATH).await;
    assert_eq!(
        status(&ready),
        "HTTP/1.1 503 Service Unavailable",
        "{ready}"
    );
    assert!(ready.contains("draining"), "{ready}");
    assert!(get(&server, HEALTH_PATH).await.starts_with("HTTP/1.1 200"));
    // Draining is for the balancer: the calls here go on, and a page that comes anyway is served.
    signal(&mut a, 2, 1).await;
    expect_signal(&mut b, 1, 1).await;
    let (mut late, joined) = join(&server, "late-comer-room-0123456789", None).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    for page in [&mut a, &mut b, &mut late] {
        bye(page).await;
    }
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn without_signaling_the_server_is_a_static_host() {
    let mut config = config();
    config.signaling = false;
    let server = start(config).await;
    let origin = format!("http://{}", server.addr);
    let error = connect_from(&server, Some(&origin))
        .await
        .expect_err("no signaling");
    assert!(error.contains("404"), "{error}");
    // A static host is balanced too.
    assert!(get(&server, READY_PATH).await.starts_with("HTTP/1.1 200"));
}

/// A WebSocket over `stream`, as the server's own page opens it, with `headers` set on top
/// (another `Origin` or `Host`, an `X-Forwarded-For`).
async fn websocket_over(
    server: &Running,
    stream: TcpStream,
    headers: &[(&str, &str)],
) -> Result<Socket, String> {
    let mut request = format!("ws://{}{SIGNAL_PATH}", server.addr)
        .into_client_request()
        .unwrap();
    let origin = format!("http://{}", server.addr);
    let all = request.headers_mut();
    all.insert("Origin", HeaderValue::from_str(&origin).unwrap());
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        all.insert(name, HeaderValue::from_str(value).unwrap());
    }
    tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| e.to_string())
}

/// A WebSocket from the server's own page whose receive buffer is tiny: once the test stops
/// reading it, the server's writes to it back up within a few kilobytes.
async fn connect_not_reading(server: &Running) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    websocket_over(server, stream, &[]).await.unwrap()
}

/// Big signals enough to fill what the kernel buffers for one socket (4 MiB sent, 4 KiB received
/// here), fewer than an outbox holds.
const BIG: usize = 120;

/// A signal of about 60 KB, told apart by `n`.
fn big_signal(n: usize) -> Value {
    // Long lines: JSON writes each CR LF as four bytes, and the whole must stay under 64 KiB.
    let line = format!("a={}\r\n", "x".repeat(1000));
    let sdp = format!(
        "v=0\r\no=- {n} 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n{}",
        line.repeat(58)
    );
    json!({"kind": "description", "type": "offer", "sdp": sdp})
}

/// Waits until `ready` holds, for `within` at most.
async fn until(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Limits that let a test push far more bytes than a page would, to reach the socket's limits.
fn generous() -> Config {
    let mut config = config();
    config.limits.burst = 10_000;
    config.limits.per_second = 10_000;
    config.limits.bytes_burst = u32::MAX;
    config.limits.bytes_per_second = u32::MAX;
    config.limits.write = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn a_page_that_stops_reading_is_closed_and_misses_no_signal() {
    let server = start(generous()).await;
    let (mut a, a_token) = join_not_reading(&server).await;
    let (mut b, _) = join(&server, "r", None).await;
    // `a` reads nothing from here on; `b` sends far more than a socket holds, then small ones.
    let flood = std::time::Instant::now();
    for n in 0..BIG {
        send(
            &mut b,
            json!({"type": "signal", "to": 1, "signal": big_signal(n)}),
        )
        .await;
    }
    for n in BIG..160 {
        signal(&mut b, 1, n).await;
    }
    // Its connection ends within the write limit (or at once, its outbox overflowing), its seat
    // kept away as for a lost connection, and `b` told.
    until("the stalled connection to end", WAIT, || {
        server.state.store.peers() == 1 && server.state.store.away() == 1
    })
    .await;
    println!(
        "stalled reader closed {:?} after the flood",
        flood.elapsed()
    );
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    drop(a.close(None).await);

    // The page resumes on a new socket: every signal, in order, none lost.
    let (mut a, resumed) = resume(&server, "r", &a_token, 0).await;
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    assert_eq!(resumed["complete"], true, "{resumed}");
    for n in 0..BIG {
        let message = recv(&mut a).await;
        assert_eq!(message["from"], 2);
        assert_eq!(message["signal"], big_signal(n), "signal {n}");
    }
    for n in BIG..160 {
        expect_signal(&mut a, 2, n).await;
    }
    // And the room works as before.
    assert_eq!(recv(&mut b).await, json!({"type": "peer-back", "peer": 1}));
    signal(&mut b, 1, 160).await;
    expect_signal(&mut a, 2, 160).await;
    bye(&mut a).await;
    bye(&mut b).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

/// [`join`] on a socket that stops reading once joined.
async fn join_not_reading(server: &Running) -> (Socket, String) {
    let mut page = connect_not_reading(server).await;
    send(&mut page, json!({"type": "join", "v": V, "room": "r"})).await;
    let answer = recv(&mut page).await;
    let token = joined(&answer);
    (page, token)
}

#[tokio::test]
async fn a_page_that_stops_reading_cannot_hold_the_shutdown() {
    let mut config = config();
    config.limits.write = Duration::from_secs(60);
    let server = start(config).await;
    let (_a, _) = join_not_reading(&server).await;
    let (mut b, _) = join(&server, "r", None).await;
    // Enough for `a`'s socket to back up, within the default limits' burst.
    for n in 0..15 {
        send(
            &mut b,
            json!({"type": "signal", "to": 1, "signal": big_signal(n)}),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(15), server.shut_down())
        .await
        .expect("shut down within 15 s")
        .unwrap();
    println!("shut down in {:?}", stopping.elapsed());
}

#[tokio::test]
async fn an_http_client_that_never_reads_cannot_hold_the_shutdown() {
    // A file far larger than the sockets' buffers, asked for and never read.
    let dir = std::env::temp_dir().join(format!("loopback-server-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
    std::fs::write(dir.join("big.bin"), vec![7u8; 32 << 20]).unwrap();
    let mut config = config();
    config.dist = dir.clone();
    let server = start(config).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(15), server.shut_down())
        .await
        .expect("shut down within 15 s, whatever the client does")
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(10));
    drop(stream);
    let _ = std::fs::remove_dir_all(dir);
}

/// Sends `n` frames made by `frame` as fast as the socket takes them, then reads until the
/// server closes; returns the close code and how many error replies came first.
async fn flood(
    socket: &mut Socket,
    n: usize,
    frame: impl Fn() -> Message,
) -> (Option<CloseCode>, usize) {
    for _ in 0..n {
        if socket.send(frame()).await.is_err() {
            break;
        }
    }
    let mut errors = 0;
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Text(_))) => errors += 1,
            Some(Ok(Message::Close(frame))) => return (frame.map(|f| f.code), errors),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return (None, errors),
        }
    }
}

#[tokio::test]
async fn floods_of_any_frame_kind_and_of_bytes_are_closed() {
    let server = start(config()).await;
    let burst = Limits::default().messages_at_once(ROOM_SIZE) as usize;
    // Binary frames and pings count as messages do.
    let (mut a, mut b) = pair(&server).await;
    // The flood goes on after the server closed, so its Close may be lost in a reset.
    let (code, errors) = flood(&mut a, 3000, || Message::Binary(vec![0u8; 16].into())).await;
    assert!(matches!(code, Some(CloseCode::Policy) | None), "{code:?}");
    assert!(errors <= burst + 1, "{errors} error replies");
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    bye(&mut b).await;

    let mut c = connect(&server).await;
    let (code, _) = flood(&mut c, 3000, || Message::Ping(vec![1u8; 16].into())).await;
    assert!(matches!(code, Some(CloseCode::Policy) | None), "{code:?}");

    // Few messages but many bytes: twice what the byte burst holds, in signals of 60 KB, pass
    // the message count, not the byte limit.
    let (mut d, mut e) = pair(&server).await;
    let big = json!({"type": "signal", "to": 2, "signal": big_signal(0)}).to_string();
    let limits = Limits::default();
    let sent = 2 * limits.bytes_at_once(ROOM_SIZE) as usize / big.len();
    assert!(sent < burst, "{sent} messages");
    let started = std::time::Instant::now();
    let (code, _) = flood(&mut d, sent, || Message::Text(big.clone().into())).await;
    assert!(matches!(code, Some(CloseCode::Policy) | None), "{code:?}");
    let mut relayed = 0;
    while recv(&mut e).await["type"] == "signal" {
        relayed += 1;
    }
    // The byte bucket's burst, and what it refilled while the flood lasted.
    let allowed = (f64::from(limits.bytes_at_once(ROOM_SIZE))
        + started.elapsed().as_secs_f64() * f64::from(limits.bytes_per_second))
        / big.len() as f64;
    assert!(
        (relayed as usize) < sent && f64::from(relayed) <= allowed.ceil(),
        "{relayed} big signals relayed, {allowed:.1} allowed"
    );
    bye(&mut e).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn error_replies_quote_a_few_bytes_of_the_bad_input() {
    let server = start(config()).await;
    let mut a = connect(&server).await;
    let bad = format!("{{\"type\": \"{}\"}}", "x".repeat(60_000));
    a.send(Message::Text(bad.into())).await.unwrap();
    let reply = recv(&mut a).await;
    assert_eq!(problem(&reply), "bad-message");
    let text = reply.to_string();
    assert!(text.len() < 300, "{} bytes: {text}", text.len());
    // The connection goes on.
    send(&mut a, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut a).await, json!({"type": "pong"}));
    bye(&mut a).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_whose_outbox_overflows_is_ended_at_once_and_told_it_missed_signals() {
    let mut config = generous();
    // Not the write limit: the full outbox ends it.
    config.limits.write = Duration::from_secs(60);
    let server = start(config).await;
    let (mut a, a_token) = join_not_reading(&server).await;
    let (mut b, _) = join(&server, "r", None).await;
    let flood = std::time::Instant::now();
    for n in 0..BIG {
        send(
            &mut b,
            json!({"type": "signal", "to": 1, "signal": big_signal(n)}),
        )
        .await;
    }
    // More than a page's outbox in a room of six holds, and than its seat's replay log.
    let small = Limits::default().outbox_for(ROOM_SIZE) + 100;
    assert!(small > loopback_server::hub::replay_capacity(ROOM_SIZE));
    for n in BIG..BIG + small {
        signal(&mut b, 1, n).await;
    }
    until("the overflowing connection to end", WAIT, || {
        server.state.store.peers() == 1 && server.state.store.away() == 1
    })
    .await;
    assert!(
        flood.elapsed() < Duration::from_secs(10),
        "{:?}",
        flood.elapsed()
    );
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    drop(a.close(None).await);
    // More than the seat's replay log holds went by: the page hears that it missed some (and
    // starts its negotiation over), never that it has them all.
    let (mut a, resumed) = resume(&server, "r", &a_token, 0).await;
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    assert_eq!(resumed["complete"], false, "{resumed}");
    bye(&mut a).await;
    bye(&mut b).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

/// A TCP connection to the server from `source` (any 127.0.0.x: all of 127/8 is this machine).
async fn tcp_from(server: &Running, source: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server.addr).await.unwrap()
}

/// Whether the server closes `stream` within `within` (reads past anything it sends first).
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// `GET /` from `source`: the status line.
async fn get_from(server: &Running, source: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tcp_from(server, source).await;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A normal call: two pages meet, a signal crosses, both leave.
async fn a_call_still_works(server: &Running, room: &str) {
    let (mut a, _) = join(server, room, None).await;
    let (mut b, b_joined) = join(server, room, None).await;
    assert_eq!(roles(&b_joined), vec![(1, true)]);
    assert_eq!(recv(&mut a).await, peer_joined(2, false));
    signal(&mut a, 2, 1).await;
    expect_signal(&mut b, 1, 1).await;
    bye(&mut a).await;
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left", "peer": 1}));
    bye(&mut b).await;
}

#[tokio::test]
async fn connections_are_capped_per_address_and_in_all() {
    let mut config = config();
    config.limits.connections = 12;
    config.limits.connections_per_address = 5;
    let server = start(config).await;
    let door = server.state.door.clone();
    // Five idle connections from one address are taken; the sixth is closed at once.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(tcp_from(&server, "127.0.0.2").await);
    }
    until("five connections open", WAIT, || door.open() == 5).await;
    let mut sixth = tcp_from(&server, "127.0.0.2").await;
    assert!(closed_by_server(&mut sixth, Duration::from_secs(2)).await);
    assert_eq!(door.refused(), 1);
    // Everyone else is served meanwhile, calls included.
    assert_eq!(get_from(&server, "127.0.0.3").await, "HTTP/1.1 200 OK");
    a_call_still_works(&server, "during").await;
    // Up to the total: then every address is refused, until some close.
    for source in ["127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        for _ in 0..2 {
            held.push(tcp_from(&server, source).await);
        }
    }
    held.push(tcp_from(&server, "127.0.0.6").await);
    until("twelve connections open", WAIT, || door.open() == 12).await;
    let mut one_more = tcp_from(&server, "127.0.0.7").await;
    assert!(closed_by_server(&mut one_more, Duration::from_secs(2)).await);
    held.clear();
    until("the connections closed", WAIT, || door.open() == 0).await;
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn slow_or_silent_clients_get_a_deadline_for_each_request_head() {
    use tokio::io::AsyncWriteExt;
    let mut config = config();
    config.limits.head = Duration::from_secs(1);
    let server = start(config).await;
    // Silent: not one byte.
    let mut silent = tcp_from(&server, "127.0.0.2").await;
    // Slowloris: a header byte every 200 ms, never the end of the head.
    let mut slow = tcp_from(&server, "127.0.0.3").await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let dripping = tokio::spawn(async move {
        for _ in 0..40 {
            if slow.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    });
    // A large unfinished head.
    let mut large = tcp_from(&server, "127.0.0.4").await;
    large
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let lines = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let _ = large.write_all(lines.repeat(4_000).as_bytes()).await;
    let started = std::time::Instant::now();
    assert!(
        closed_by_server(&mut silent, Duration::from_secs(3)).await,
        "silent"
    );
    assert!(
        closed_by_server(&mut large, Duration::from_secs(3)).await,
        "large"
    );
    assert!(dripping.await.unwrap(), "the slow one was closed");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    until("every connection gone", WAIT, || {
        server.state.door.open() == 0
    })
    .await;
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_websocket_that_takes_no_seat_is_closed() {
    let mut config = config();
    config.limits.first_message = Duration::from_secs(1);
    let server = start(config).await;
    let mut idle = connect(&server).await;
    let reply = recv(&mut idle).await;
    assert_eq!(problem(&reply), "idle", "{reply}");
    assert_eq!(closed(&mut idle).await, Some(CloseCode::Policy));
    // One that joins is not; after leaving, it has the same time to join again.
    let (mut page, _) = join(&server, "r", None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send(&mut page, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut page).await, json!({"type": "pong"}));
    send(&mut page, json!({"type": "leave"})).await;
    assert_eq!(problem(&recv(&mut page).await), "idle");
    until("every connection gone", WAIT, || {
        server.state.door.open() == 0
    })
    .await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn http2_is_not_spoken_on_the_plain_port() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(config()).await;
    let mut stream = tcp_from(&server, "127.0.0.2").await;
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await;
    // An HTTP/2 server would answer with a SETTINGS frame (type 4, the fourth byte).
    assert!(
        response.is_empty() || response.starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
}

#[tokio::test]
async fn every_response_says_no_sniffing_no_referrer_no_framing() {
    let server = start(config()).await;
    for path in ["/", "/nope.js", SIGNAL_PATH] {
        let response = get(&server, path).await;
        let head = response.split("\r\n\r\n").next().unwrap().to_owned();
        for line in [
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
            "x-frame-options: DENY",
            "content-security-policy: frame-ancestors 'none'",
        ] {
            assert!(head.contains(line), "{path}: no {line:?} in {head}");
        }
        assert!(!head.contains("strict-transport-security"), "{head}");
    }
    let mut config = config();
    config.hsts = true;
    let server = start(config).await;
    let head = get(&server, "/").await;
    assert!(
        head.contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );
}

/// Everything the server logs while `body` runs on this thread (the test's runtime has one).
async fn logged_during<F: std::future::Future<Output = ()>>(body: F) -> String {
    use std::sync::{Arc, Mutex};
    let lines: Arc<Mutex<Vec<u8>>> = Arc::default();
    let sink = Arc::clone(&lines);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || Writer(Arc::clone(&sink)))
        .finish();
    // A second dispatch, alive throughout: while only one exists, tracing-core asks the thread
    // that first reaches a log line whether anyone wants it, and another test's connection task,
    // with no subscriber, caches "never" for this one too (tokio-rs/tracing#3611).
    let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let guard = tracing::subscriber::set_default(subscriber);
    body.await;
    drop(guard);
    drop(second);
    let bytes = lines.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

struct Writer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_log_never_names_a_room_and_cannot_be_flooded() {
    let room = "our-secret-meeting-place";
    let (name, new_name) = ("Ada Secretname", "Bo Hiddenname");
    let log = logged_during(async {
        let mut config = config();
        config.room_size = 2;
        let server = start(config).await;
        // Joins, a full room, a rename, a leave, a lost connection, a refused resume and an
        // old page: every log line about a room or a person.
        let mut a = connect(&server).await;
        send(
            &mut a,
            json!({"type": "join", "v": V, "room": room, "name": name}),
        )
        .await;
        let a_token = joined(&recv(&mut a).await);
        let (mut b, _) = join(&server, room, None).await;
        send(&mut b, json!({"type": "name", "name": new_name})).await;
        let mut c = connect(&server).await;
        send(
            &mut c,
            json!({"type": "join", "v": V, "room": room, "name": name}),
        )
        .await;
        assert_eq!(problem(&recv(&mut c).await), "room-full");
        drop(c);
        assert_eq!(recv(&mut a).await["type"], "peer-joined");
        assert_eq!(recv(&mut a).await["type"], "peer-named");
        let mut old = connect(&server).await;
        send(
            &mut old,
            json!({"type": "join", "room": room, "name": name}),
        )
        .await;
        assert_eq!(problem(&recv(&mut old).await), "version");
        drop(a);
        let (mut d, answer) = resume(&server, room, "AAAAAAAAAAAAAAAAAAAAAA", 0).await;
        assert_eq!(answer["type"], "error");
        let (mut a, answer) = resume(&server, room, &a_token, 0).await;
        assert_eq!(answer["type"], "resumed", "{answer}");
        send(&mut a, json!({"type": "leave"})).await;
        bye(&mut a).await;
        bye(&mut b).await;
        bye(&mut d).await;
        // A hundred refused origins.
        for _ in 0..100 {
            assert!(connect_from(&server, Some("https://evil.example"))
                .await
                .is_err());
        }
        rooms_back_to_zero(&server).await;
    })
    .await;
    assert!(!log.contains(room), "the room's name is in the log:\n{log}");
    for name in [name, new_name] {
        for part in name.split(' ') {
            assert!(!log.contains(part), "a name is in the log:\n{log}");
        }
    }
    assert!(log.contains("joined"), "{log}");
    let refusals = log.matches("foreign origin refused").count();
    assert!(refusals <= 1, "{refusals} lines for 100 refusals:\n{log}");
}

/// A WebSocket request with `host` as its `Host` and `origin` as its `Origin`.
async fn connect_as(server: &Running, host: &str, origin: &str) -> Result<Socket, String> {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    websocket_over(server, stream, &[("Host", host), ("Origin", origin)]).await
}

#[tokio::test]
async fn a_page_on_a_name_pointed_here_is_refused_unless_the_name_is_ours() {
    let mut config = config();
    config.public_origins = vec!["https://call.example.org".to_owned()];
    let server = start(config).await;
    let port = server.addr.port();
    // DNS rebinding: evil.example now points here, and its page's Origin matches its Host.
    let evil = format!("evil.example:{port}");
    let refused = connect_as(&server, &evil, &format!("http://{evil}")).await;
    assert!(refused.is_err_and(|e| e.contains("403")));
    // The public name, as a TLS-terminating proxy passes it on, and plain addresses.
    let mut ours = connect_as(&server, "call.example.org", "https://call.example.org")
        .await
        .unwrap();
    send(&mut ours, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut ours).await, json!({"type": "pong"}));
    bye(&mut ours).await;
    let local = format!("localhost:{port}");
    let mut here = connect_as(&server, &local, &format!("http://{local}"))
        .await
        .unwrap();
    bye(&mut here).await;
    assert!(
        connect_as(&server, "call.example.org", "https://evil.example")
            .await
            .is_err()
    );
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

/// A WebSocket from the server's own page, from `source`.
async fn connect_from_address(server: &Running, source: &str) -> Socket {
    let stream = tcp_from(server, source).await;
    websocket_over(server, stream, &[]).await.unwrap()
}

#[tokio::test]
async fn one_address_cannot_try_room_names_fast() {
    let mut config = config();
    config.limits.joins_burst = 5;
    config.limits.joins_per_minute = 5;
    let server = start(config).await;
    // Someone waits in a room with a guessable name.
    let (mut waiting, _) = join(&server, "test", None).await;
    // A guesser tries names from one address, on one socket: five, then refused.
    let mut guesser = connect_from_address(&server, "127.0.0.2").await;
    for name in ["a", "b", "c", "d", "e"] {
        send(&mut guesser, json!({"type": "join", "v": V, "room": name})).await;
        assert_eq!(recv(&mut guesser).await["type"], "joined");
        send(&mut guesser, json!({"type": "leave"})).await;
    }
    send(
        &mut guesser,
        json!({"type": "join", "v": V, "room": "test"}),
    )
    .await;
    let refused = recv(&mut guesser).await;
    assert_eq!(problem(&refused), "too-many-joins", "{refused}");
    // New sockets from that address do no better; other addresses are not affected.
    let mut again = connect_from_address(&server, "127.0.0.2").await;
    send(&mut again, json!({"type": "join", "v": V, "room": "test"})).await;
    assert_eq!(problem(&recv(&mut again).await), "too-many-joins");
    let mut friend = connect_from_address(&server, "127.0.0.3").await;
    send(&mut friend, json!({"type": "join", "v": V, "room": "test"})).await;
    assert_eq!(recv(&mut friend).await["type"], "joined");
    assert_eq!(recv(&mut waiting).await, peer_joined(2, false));
    for page in [&mut waiting, &mut guesser, &mut again, &mut friend] {
        bye(page).await;
    }
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn relayed_signals_are_what_they_claim_and_aim_at_no_forbidden_address() {
    let server = start(config()).await;
    let ((mut a, a_token), (mut b, _)) = pair_with_tokens(&server).await;
    // A candidate aimed at the cloud metadata address is dropped; the next one goes through.
    let metadata = json!({"kind": "candidate", "candidate": "candidate:9 1 udp 2122260223 169.254.169.254 80 typ host"});
    send(
        &mut a,
        json!({"type": "signal", "to": 2, "signal": metadata}),
    )
    .await;
    signal(&mut a, 2, 1).await;
    expect_signal(&mut b, 1, 1).await;
    // Garbage calling itself an offer is refused, and not relayed.
    let garbage = json!({"kind": "description", "type": "offer", "sdp": "GET / HTTP/1.1\r\n"});
    send(
        &mut a,
        json!({"type": "signal", "to": 2, "signal": garbage}),
    )
    .await;
    let refused = recv(&mut a).await;
    assert_eq!(problem(&refused), "bad-message", "{refused}");
    let bad_candidate = json!({"kind": "candidate", "candidate": "candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\na=x"});
    send(
        &mut a,
        json!({"type": "signal", "to": 2, "signal": bad_candidate}),
    )
    .await;
    assert_eq!(problem(&recv(&mut a).await), "bad-message");
    // A description with a forbidden candidate line arrives without it.
    let with_metadata =
        format!("{SDP}a=candidate:9 1 udp 2122260223 169.254.169.254 80 typ host\r\n");
    let offer = json!({"kind": "description", "type": "offer", "sdp": with_metadata});
    send(&mut a, json!({"type": "signal", "to": 2, "signal": offer})).await;
    let relayed = recv(&mut b).await;
    assert_eq!(relayed["signal"]["sdp"], SDP, "{relayed}");
    // Every one of the five counts as taken: a resume asks for none of them again.
    a.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: CloseCode::from(loopback_signal::CLOSE_MOVING),
        reason: "moving".into(),
    }))
    .await
    .unwrap();
    assert_eq!(recv(&mut b).await, json!({"type": "peer-away", "peer": 1}));
    let (mut a, resumed) = resume(&server, "r", &a_token, 0).await;
    assert_eq!(resumed["received"], 5, "{resumed}");
    assert_eq!(recv(&mut b).await, json!({"type": "peer-back", "peer": 1}));
    bye(&mut a).await;
    bye(&mut b).await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

/// A WebSocket from `source` (a proxy) naming `client` in `X-Forwarded-For`.
async fn connect_forwarded(server: &Running, source: &str, client: &str) -> Result<Socket, String> {
    let stream = tcp_from(server, source).await;
    websocket_over(server, stream, &[("X-Forwarded-For", client)]).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_clients_it_names_are_limited_not_the_proxy() {
    let mut config = config();
    config.trusted_proxies = vec!["127.0.0.9".parse().unwrap()];
    config.limits.connections_per_address = 3;
    config.limits.joins_burst = 2;
    config.limits.joins_per_minute = 2;
    let server = start(config).await;
    // The proxy carries more than one address's share of connections.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            connect_forwarded(&server, "127.0.0.9", "203.0.113.5")
                .await
                .unwrap(),
        );
    }
    let fourth = connect_forwarded(&server, "127.0.0.9", "203.0.113.5").await;
    assert!(
        fourth.is_err_and(|e| e.contains("429")),
        "203.0.113.5 is at its cap"
    );
    let mut other = connect_forwarded(&server, "127.0.0.9", "198.51.100.7")
        .await
        .unwrap();
    // Joins count per named client too.
    for room in ["x", "y"] {
        send(&mut other, json!({"type": "join", "v": V, "room": room})).await;
        assert_eq!(recv(&mut other).await["type"], "joined");
        send(&mut other, json!({"type": "leave"})).await;
    }
    send(&mut other, json!({"type": "join", "v": V, "room": "z"})).await;
    assert_eq!(problem(&recv(&mut other).await), "too-many-joins");
    let page = &mut held[0];
    send(page, json!({"type": "join", "v": V, "room": "z"})).await;
    assert_eq!(
        recv(page).await["type"],
        "joined",
        "another client's joins are its own"
    );
    // Anyone else's X-Forwarded-For proves nothing: its own address is what counts.
    let mut liar = connect_forwarded(&server, "127.0.0.2", "192.0.2.99")
        .await
        .unwrap();
    for room in ["p", "q"] {
        send(&mut liar, json!({"type": "join", "v": V, "room": room})).await;
        assert_eq!(recv(&mut liar).await["type"], "joined");
        send(&mut liar, json!({"type": "leave"})).await;
    }
    let mut liar_again = connect_forwarded(&server, "127.0.0.2", "192.0.2.100")
        .await
        .unwrap();
    send(
        &mut liar_again,
        json!({"type": "join", "v": V, "room": "r"}),
    )
    .await;
    assert_eq!(problem(&recv(&mut liar_again).await), "too-many-joins");
    for page in held
        .iter_mut()
        .chain([&mut other, &mut liar, &mut liar_again])
    {
        bye(page).await;
    }
    until("every connection gone", WAIT, || {
        server.state.door.open() == 0 && server.state.forwarded.open() == 0
    })
    .await;
    // A normal call, after the attack.
    a_call_still_works(&server, "after").await;
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn turn_credentials_are_renewed_on_request_no_faster_than_needed() {
    let config = with_turn();
    let server = start(config).await;
    let mut a = connect(&server).await;
    send(&mut a, json!({"type": "renew"})).await;
    assert_eq!(problem(&recv(&mut a).await), "not-in-room");
    send(&mut a, json!({"type": "join", "v": V, "room": "r"})).await;
    recv(&mut a).await;
    send(&mut a, json!({"type": "renew"})).await;
    assert_eq!(
        problem(&recv(&mut a).await),
        "no-peer",
        "alone: nothing to renew for"
    );
    let (mut b, _) = join(&server, "r", None).await;
    let joined = recv(&mut a).await;
    assert_eq!(joined["renewIn"], 300, "{joined}");
    let first = joined["iceServers"][0]["username"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&mut a, json!({"type": "renew"})).await;
    let renewed = recv(&mut a).await;
    assert_eq!(renewed["type"], "renewed", "{renewed}");
    assert_eq!(renewed["renewIn"], 300);
    let turn = &renewed["iceServers"][0];
    let username = turn["username"].as_str().unwrap();
    assert_ne!(username, first, "a credential of its own again");
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        loopback_server::turn::credential("north-wind", username)
    );
    // Once per half renewal at most: no minting.
    send(&mut a, json!({"type": "renew"})).await;
    assert_eq!(problem(&recv(&mut a).await), "bad-message");
    // Alone again: nobody to renew for.
    bye(&mut b).await;
    assert_eq!(recv(&mut a).await, json!({"type": "peer-left", "peer": 2}));
    send(&mut a, json!({"type": "renew"})).await;
    assert_eq!(problem(&recv(&mut a).await), "no-peer");
    bye(&mut a).await;
    rooms_back_to_zero(&server).await;
}

/// Not a tokio test: the server gets a runtime of its own, which the test then shuts down with
/// the connection's task in the middle of its work, as a panic would end it.
#[test]
fn a_connection_task_ended_midway_still_gives_its_seat_back() {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_runtime.block_on(start(config()));
    let hub = std::sync::Arc::clone(&server.state.store);
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let page = client_runtime.block_on(async {
        let (page, _) = join(&server, "r", None).await;
        page
    });
    assert_eq!((hub.peers(), hub.away()), (1, 0));
    // Every task of the server is dropped where it stands, the connection's with it.
    server_runtime.shutdown_timeout(Duration::from_secs(2));
    assert_eq!(hub.peers(), 0, "the connection is gone");
    assert_eq!(
        hub.away(),
        1,
        "its seat is kept away for its page, not held forever"
    );
    drop(page);
}
