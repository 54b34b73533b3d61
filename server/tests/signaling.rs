//! The server over real sockets on 127.0.0.1: pages meeting in rooms, and everything a hostile or
//! broken client can send, each answered with a clear error or a clean close, and the rooms empty
//! again afterwards.

use futures_util::{SinkExt, StreamExt};
use loopback_server::turn::Turn;
use loopback_server::{Config, Limits, Running, SIGNAL_PATH};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

/// A folder with a page in it, for the server to serve.
fn dist() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loopback-server-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>page</title>").unwrap();
    dir
}

fn config() -> Config {
    Config {
        dist: dist(),
        allowed_origins: vec![],
        limits: Limits::default(),
        turn: None,
        tls: false,
        signaling: true,
    }
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

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next message from the server, skipping pings.
async fn recv(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket open")
            .expect("a frame");
        match frame {
            Message::Text(text) => {
                return serde_json::from_str(&text).expect("JSON from the server")
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Reads until the server closes; returns the close code (None: the stream just ended).
async fn closed(socket: &mut Socket) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Err(_) => panic!("the server did not close within 5 s"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code),
            Ok(Some(Ok(_))) => continue,
        }
    }
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
    while server.state.hub.rooms() != 0 || server.state.hub.peers() != 0 {
        assert!(
            start.elapsed() < WAIT,
            "{} rooms and {} peers left",
            server.state.hub.rooms(),
            server.state.hub.peers()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two pages in room `r`: the first impolite, the second polite, both told the other is there.
async fn pair(server: &Running) -> (Socket, Socket) {
    let mut a = connect(server).await;
    send(&mut a, json!({"type": "join", "room": "r"})).await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "joined", "polite": false, "iceServers": []})
    );
    let mut b = connect(server).await;
    send(&mut b, json!({"type": "join", "room": "r"})).await;
    assert_eq!(
        recv(&mut b).await,
        json!({"type": "joined", "polite": true, "iceServers": []})
    );
    assert_eq!(recv(&mut b).await, json!({"type": "peer-joined"}));
    assert_eq!(recv(&mut a).await, json!({"type": "peer-joined"}));
    (a, b)
}

#[tokio::test]
async fn two_pages_meet_exchange_signals_and_part() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    assert_eq!(server.state.hub.rooms(), 1);

    let offer = json!({"kind": "description", "type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"});
    send(&mut a, json!({"type": "signal", "signal": offer})).await;
    assert_eq!(
        recv(&mut b).await,
        json!({"type": "signal", "signal": offer})
    );
    let candidate = json!({"kind": "candidate", "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host", "sdpMid": "0", "sdpMLineIndex": 0});
    send(&mut b, json!({"type": "signal", "signal": candidate})).await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "signal", "signal": candidate})
    );
    send(
        &mut b,
        json!({"type": "signal", "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "signal", "signal": {"kind": "end-of-candidates"}})
    );

    // HangUp on one side: the other is told, and may wait for someone new.
    send(&mut a, json!({"type": "leave"})).await;
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left"}));
    assert_eq!(server.state.hub.rooms(), 1, "b is still in the room");
    send(&mut a, json!({"type": "join", "room": "r"})).await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "joined", "polite": false, "iceServers": []}),
        "back in, with the role b does not have"
    );
    assert_eq!(recv(&mut a).await, json!({"type": "peer-joined"}));
    assert_eq!(recv(&mut b).await, json!({"type": "peer-joined"}));
    a.close(None).await.unwrap();
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left"}));
    b.close(None).await.unwrap();
    rooms_back_to_zero(&server).await;
    server.shut_down().await.unwrap();
}

#[tokio::test]
async fn a_third_page_is_told_the_room_is_full() {
    let server = start(config()).await;
    let (mut a, b) = pair(&server).await;
    let mut c = connect(&server).await;
    send(&mut c, json!({"type": "join", "room": "r"})).await;
    assert_eq!(problem(&recv(&mut c).await), "room-full");
    // c is in no room: its signals go nowhere, and the pair is undisturbed.
    send(
        &mut c,
        json!({"type": "signal", "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    assert_eq!(problem(&recv(&mut c).await), "not-in-room");
    send(
        &mut a,
        json!({"type": "signal", "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    drop((a, b, c));
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
        "{\"type\": \"join\", \"room\": \"../../etc\"}",
        "{\"type\": \"join\", \"room\": \"r\", \"admin\": true}",
        "{\"type\": \"signal\", \"signal\": {\"kind\": \"description\", \"type\": \"rollback\", \"sdp\": \"\"}}",
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
    send(&mut page, json!({"type": "join", "room": "r"})).await;
    assert_eq!(recv(&mut page).await["type"], "joined");
    send(&mut page, json!({"type": "join", "room": "s"})).await;
    assert_eq!(problem(&recv(&mut page).await), "already-in-room");
    send(
        &mut page,
        json!({"type": "signal", "signal": {"kind": "end-of-candidates"}}),
    )
    .await;
    assert_eq!(problem(&recv(&mut page).await), "no-peer");
    drop(page);
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn an_oversized_message_closes_the_connection() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let huge = json!({"type": "signal", "signal": {"kind": "description", "type": "offer", "sdp": "x".repeat(70 * 1024)}});
    // The server may close before the whole message is written.
    let _ = a.send(Message::Text(huge.to_string().into())).await;
    let code = closed(&mut a).await;
    assert!(
        matches!(code, None | Some(CloseCode::Size)),
        "closed with {code:?}"
    );
    assert_eq!(
        recv(&mut b).await,
        json!({"type": "peer-left"}),
        "b is told"
    );
    drop(b);
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_flooding_page_is_told_and_closed() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let burst = Limits::default().burst as usize;
    for _ in 0..burst * 2 {
        let message = json!({"type": "signal", "signal": {"kind": "end-of-candidates"}});
        if a.send(Message::Text(message.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut saw_too_fast = false;
    let code = loop {
        match tokio::time::timeout(WAIT, a.next())
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
    assert!(saw_too_fast, "told why");
    assert_eq!(code, Some(CloseCode::Policy));
    // b got at most the burst, then the news.
    let mut relayed = 0;
    loop {
        let message = recv(&mut b).await;
        if message["type"] == "peer-left" {
            break;
        }
        relayed += 1;
    }
    assert!(relayed <= burst, "{relayed} relayed");
    drop(b);
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
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let mut config = config();
    config.limits.idle = Duration::from_millis(300);
    config.limits.ping = Duration::from_millis(100);
    let server = start(config).await;
    let mut page = connect(&server).await;
    send(&mut page, json!({"type": "join", "room": "r"})).await;
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
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn a_page_that_vanishes_mid_call_frees_the_room() {
    let server = start(config()).await;
    let (a, mut b) = pair(&server).await;
    // The TCP connection drops with no close frame, as when a laptop lid shuts.
    drop(a);
    assert_eq!(recv(&mut b).await, json!({"type": "peer-left"}));
    b.close(None).await.unwrap();
    rooms_back_to_zero(&server).await;
}

#[tokio::test]
async fn joining_pages_get_short_lived_turn_credentials() {
    let mut config = config();
    config.turn = Some(Turn {
        urls: vec!["turn:127.0.0.1:3478".into()],
        secret: "north-wind".into(),
        ttl: Duration::from_secs(600),
    });
    let server = start(config).await;
    let mut page = connect(&server).await;
    send(&mut page, json!({"type": "join", "room": "r"})).await;
    let joined = recv(&mut page).await;
    let turn = &joined["iceServers"][0];
    assert_eq!(turn["urls"], json!(["turn:127.0.0.1:3478"]));
    let expires: u64 = turn["username"].as_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 590..=now + 610).contains(&expires),
        "{expires} vs {now}"
    );
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        loopback_server::turn::credential("north-wind", &expires.to_string())
    );
    assert!(
        !joined.to_string().contains("north-wind"),
        "the secret stays home"
    );
}

#[tokio::test]
async fn shutting_down_tells_every_page() {
    let server = start(config()).await;
    let (mut a, mut b) = pair(&server).await;
    let hub = std::sync::Arc::clone(&server.state.hub);
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
async fn without_signaling_the_server_is_a_static_host() {
    let mut config = config();
    config.signaling = false;
    let server = start(config).await;
    let origin = format!("http://{}", server.addr);
    let error = connect_from(&server, Some(&origin))
        .await
        .expect_err("no signaling");
    assert!(error.contains("404"), "{error}");
}
