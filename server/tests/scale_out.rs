//! Three `loopback-server` processes sharing their rooms through one `redis-server` (each test
//! starts its own on 127.0.0.1, on free ports; `scripts/dev test` installs Debian's), with pages
//! as WebSockets on real sockets: pages on different instances call each other, rooms never
//! overfill and roles never agree however the joins race, a killed instance's seats free
//! themselves, a page moving to another instance misses nothing and gets nothing twice, and
//! Redis's connections killed or Redis stopped lose nothing.

mod support {
    pub mod page;
    pub mod redis;
}

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::page::{send, signal, Socket};
use support::redis::Redis;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);
const V: u32 = loopback_signal::PROTOCOL;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A folder of this test's own: the page to serve, Redis's append-only file, the logs.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loopback-scale-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>page</title>").unwrap();
    dir
}

/// A `loopback-server` process on the shared Redis, killed when dropped.
struct Instance {
    port: u16,
    child: Child,
}

impl Instance {
    fn start(redis: &Redis, dir: &Path, name: &str, extra: &[&str]) -> Self {
        let port = free_port();
        // Pages of a test all come from 127.0.0.1: joins limited only where a test says so.
        let joins = ["--joins-per-minute", "100000"];
        let extra = if extra.contains(&"--joins-per-minute") {
            extra.to_vec()
        } else {
            [extra, &joins[..]].concat()
        };
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_loopback-server"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--dist")
            .arg(dir)
            .args(["--redis", &redis.url(), "--instance", name])
            .args(&extra)
            .args([
                "--max-connections-per-address",
                "4096",
                "--messages-burst",
                "1000",
            ])
            .env("RUST_LOG", "loopback_server=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the loopback-server binary");
        wait_for_port(port, name);
        Self { port, child }
    }

    /// A page's WebSocket to this instance.
    async fn connect(&self) -> Socket {
        let mut request = format!("ws://127.0.0.1:{}/signal", self.port)
            .into_client_request()
            .unwrap();
        let origin = format!("http://127.0.0.1:{}", self.port);
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(&origin).unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("a WebSocket to the instance");
        socket
    }

    /// `/readyz`'s status.
    async fn ready(&self) -> u16 {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(WAIT, stream.read_to_string(&mut answer)).await;
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Redis and three instances on it.
struct Cluster {
    redis: Redis,
    instances: Vec<Instance>,
    _dir: PathBuf,
}

impl Cluster {
    fn start(name: &str, extra: &[&str]) -> Self {
        let dir = scratch(name);
        let redis = Redis::start_persistent(&dir);
        let instances = (0..3)
            .map(|n| Instance::start(&redis, &dir, &format!("{name}-{n}"), extra))
            .collect();
        Self {
            redis,
            instances,
            _dir: dir,
        }
    }
}

/// The next message, skipping pings; None if the socket closed.
async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message within 10 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Some(serde_json::from_str(&text).expect("JSON from the server"))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return None,
        }
    }
}

async fn recv(socket: &mut Socket) -> Value {
    next(socket).await.expect("the socket open")
}

/// The next message that is not about TURN or someone's connection coming and going.
async fn recv_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let message = recv(socket).await;
        if message["type"] == kind {
            return message;
        }
        assert!(
            ["peer-away", "peer-back", "pong"].contains(&message["type"].as_str().unwrap_or("")),
            "waiting for {kind}: {message}"
        );
    }
}

async fn join(instance: &Instance, room: &str, name: &str) -> (Socket, Value) {
    let mut page = instance.connect().await;
    send(
        &mut page,
        json!({"type": "join", "v": V, "room": room, "name": name}),
    )
    .await;
    let answer = recv(&mut page).await;
    (page, answer)
}

fn candidate_number(message: &Value) -> usize {
    assert_eq!(message["type"], "signal", "{message}");
    let text = message["signal"]["candidate"].as_str().unwrap();
    text["candidate:".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_on_different_instances_call_each_other() {
    let cluster = Cluster::start("call", &[]);
    let [a_at, b_at, _] = &cluster.instances[..] else {
        unreachable!()
    };
    let (mut a, joined) = join(a_at, "across", "Ada").await;
    assert_eq!(
        (joined["type"].as_str(), joined["peer"].as_u64()),
        (Some("joined"), Some(1))
    );
    let (mut b, joined) = join(b_at, "across", "<b>Bo</b>").await;
    assert_eq!(joined["peer"], 2);
    assert_eq!(joined["peers"][0]["peer"], 1);
    assert_eq!(joined["peers"][0]["name"], "Ada");
    let heard = recv(&mut a).await;
    assert_eq!(heard["type"], "peer-joined");
    assert_eq!(
        (heard["peer"].as_u64(), heard["name"].as_str()),
        (Some(2), Some("<b>Bo</b>"))
    );
    assert_ne!(
        heard["polite"], joined["peers"][0]["polite"],
        "opposite roles"
    );
    // Each way, in order.
    for n in 0..30 {
        signal(&mut a, 2, n).await;
        signal(&mut b, 1, 100 + n).await;
    }
    for n in 0..30 {
        let got = recv(&mut b).await;
        assert_eq!(got["from"], 1);
        assert_eq!(candidate_number(&got), n);
        assert_eq!(candidate_number(&recv(&mut a).await), 100 + n);
    }
    send(&mut b, json!({"type": "name", "name": "Bo"})).await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "peer-named", "peer": 2, "name": "Bo"})
    );
    // A signal for nobody, or as nobody: refused as on one server.
    signal(&mut a, 7, 0).await;
    assert_eq!(recv(&mut a).await["problem"], "unknown-peer");
    send(&mut b, json!({"type": "leave"})).await;
    assert_eq!(recv(&mut a).await, json!({"type": "peer-left", "peer": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_pages_racing_into_a_room_across_three_instances_never_overfill_it() {
    let cluster = Cluster::start("race", &["--room-size", "4"]);
    for round in 0..100 {
        let room = format!("race-{round}");
        let joins: Vec<_> = (0..6)
            .map(|n| {
                let instance = &cluster.instances[n % 3];
                join(instance, &room, "")
            })
            .collect();
        let answers = futures_util::future::join_all(joins).await;
        let mut seated = Vec::new();
        let mut full = 0;
        for (page, answer) in answers {
            match answer["type"].as_str() {
                Some("joined") => seated.push((page, answer)),
                Some("error") if answer["problem"] == "room-full" => full += 1,
                _ => panic!("round {round}: {answer}"),
            }
        }
        assert_eq!((seated.len(), full), (4, 2), "round {round}");
        // Each page's role toward each other, from its own `joined` and its `peer-joined`s.
        let mut roles: HashMap<(u64, u64), bool> = HashMap::new();
        for (page, joined) in &mut seated {
            let me = joined["peer"].as_u64().unwrap();
            for other in joined["peers"].as_array().unwrap() {
                roles.insert(
                    (me, other["peer"].as_u64().unwrap()),
                    other["polite"] == true,
                );
            }
            let later = 4 - joined["peers"].as_array().unwrap().len() - 1;
            for _ in 0..later {
                let heard = recv_of(page, "peer-joined").await;
                roles.insert(
                    (me, heard["peer"].as_u64().unwrap()),
                    heard["polite"] == true,
                );
            }
        }
        let mut ids: Vec<u64> = seated
            .iter()
            .map(|(_, j)| j["peer"].as_u64().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3, 4], "round {round}");
        assert_eq!(roles.len(), 12, "round {round}: every pair, both ways");
        for (&(me, other), &polite) in &roles {
            assert_ne!(
                polite,
                roles[&(other, me)],
                "round {round}: {me} and {other} agree"
            );
        }
        for (mut page, _) in seated {
            send(&mut page, json!({"type": "leave"})).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instances_seats_free_themselves_and_the_others_are_told() {
    let mut cluster = Cluster::start("kill", &["--seat-ttl-ms", "1500", "--room-size", "2"]);
    let (mut a, _) = join(&cluster.instances[0], "kill", "").await;
    let (_b, joined) = join(&cluster.instances[1], "kill", "").await;
    assert_eq!(joined["peer"], 2);
    assert_eq!(recv(&mut a).await["type"], "peer-joined");
    let (_c, refused) = join(&cluster.instances[2], "kill", "").await;
    assert_eq!(refused["problem"], "room-full");
    let killed = Instant::now();
    cluster.instances[1].kill_9();
    let left = recv_of(&mut a, "peer-left").await;
    assert_eq!(left["peer"], 2);
    let took = killed.elapsed();
    // The seat's expiry, then the next sweep (a third of it later at most), with time to spare
    // for a loaded machine.
    assert!(
        took < Duration::from_millis(1500 + 500 + 2000),
        "told after {took:?}"
    );
    let (_c, joined) = join(&cluster.instances[2], "kill", "").await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["peer"], 3, "a new id, never the dead seat's");
    eprintln!("a killed instance's seat was freed and told after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_resuming_on_another_instance_gets_every_signal_once_in_order() {
    let cluster = Cluster::start("resume", &[]);
    let (mut a, _) = join(&cluster.instances[0], "move", "").await;
    let (mut b, joined) = join(&cluster.instances[1], "move", "").await;
    let token = joined["resume"].as_str().unwrap().to_owned();
    assert_eq!(recv(&mut a).await["type"], "peer-joined");
    // a sends 200 candidates; b reads some, then its socket drops without a word.
    const ALL: usize = 200;
    let sender = tokio::spawn(async move {
        for n in 0..ALL {
            signal(&mut a, 2, n).await;
            if n % 20 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        a
    });
    let mut got = Vec::new();
    while got.len() < 40 {
        got.push(candidate_number(&recv(&mut b).await));
    }
    drop(b);
    // It comes back on the third instance, saying how many it had.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut b = cluster.instances[2].connect().await;
    send(
        &mut b,
        json!({"type": "resume", "v": V, "room": "move", "token": token, "received": got.len()}),
    )
    .await;
    let resumed = recv(&mut b).await;
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    assert_eq!(resumed["peer"], 2);
    assert_eq!(resumed["complete"], true);
    let mut a = sender.await.unwrap();
    while got.len() < ALL {
        let message = recv(&mut b).await;
        if message["type"] == "signal" {
            got.push(candidate_number(&message));
        }
    }
    assert_eq!(
        got,
        (0..ALL).collect::<Vec<_>>(),
        "every one, once, in order"
    );
    // Nothing more comes, and the call goes on: b answers through its new instance.
    signal(&mut b, 1, 999).await;
    assert_eq!(candidate_number(&recv_of(&mut a, "signal").await), 999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_connections_killed_lose_nothing() {
    let cluster = Cluster::start("client-kill", &[]);
    let (mut a, _) = join(&cluster.instances[0], "kill", "").await;
    let (mut b, _) = join(&cluster.instances[1], "kill", "").await;
    assert_eq!(recv(&mut a).await["type"], "peer-joined");
    const ALL: usize = 150;
    let mut admin = cluster.redis.admin();
    let mut killed = 0;
    for n in 0..ALL {
        signal(&mut a, 2, n).await;
        if n % 30 == 15 {
            // Every connection of the instances: commands and pub/sub alike.
            let now: i64 = redis::cmd("CLIENT")
                .arg(&["KILL", "SKIPME", "yes"])
                .query(&mut admin)
                .unwrap();
            killed += now;
        }
    }
    // Both instances' command and pub/sub connections, the first time at least.
    assert!(killed >= 4, "killed {killed}");
    let mut got = Vec::new();
    while got.len() < ALL {
        got.push(candidate_number(&recv_of(&mut b, "signal").await));
    }
    assert_eq!(
        got,
        (0..ALL).collect::<Vec<_>>(),
        "every one, once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_refuses_joins_in_words_and_calls_catch_up_when_it_is_back() {
    let mut cluster = Cluster::start("outage", &[]);
    let (mut a, joined) = join(&cluster.instances[0], "outage", "").await;
    let token = joined["resume"].as_str().unwrap().to_owned();
    let (mut b, _) = join(&cluster.instances[1], "outage", "").await;
    assert_eq!(recv(&mut a).await["type"], "peer-joined");
    assert_eq!(cluster.instances[0].ready().await, 200);
    cluster.redis.stop();
    assert_eq!(cluster.instances[0].ready().await, 503);
    let (_c, refused) = join(&cluster.instances[2], "outage", "").await;
    assert_eq!(refused["problem"], "unavailable", "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("no one can join"));
    // a's signal cannot be taken: its connection ends, as lost, and a comes back to resume.
    signal(&mut a, 2, 1).await;
    let said = recv(&mut a).await;
    assert_eq!(said["problem"], "unavailable", "{said}");
    assert!(next(&mut a).await.is_none(), "closed");
    let mut a = cluster.instances[0].connect().await;
    let resume = json!({"type": "resume", "v": V, "room": "outage", "token": token, "received": 0});
    send(&mut a, resume.clone()).await;
    assert_eq!(recv(&mut a).await["problem"], "unavailable");
    cluster.redis.run();
    let back = Instant::now();
    let resumed = loop {
        let mut page = cluster.instances[0].connect().await;
        send(&mut page, resume.clone()).await;
        let answer = recv(&mut page).await;
        if answer["type"] == "resumed" {
            break (page, answer);
        }
        assert!(back.elapsed() < WAIT, "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (mut a, resumed) = resumed;
    assert_eq!(
        resumed["received"], 0,
        "the signal was not taken: a sends it again"
    );
    assert_eq!(cluster.instances[0].ready().await, 200);
    signal(&mut a, 2, 1).await;
    assert_eq!(candidate_number(&recv_of(&mut b, "signal").await), 1);
    let (_c, joined) = join(&cluster.instances[2], "outage", "").await;
    assert_eq!(joined["type"], "joined", "{joined}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_the_seats_back_and_the_pages_resume_elsewhere() {
    let mut cluster = Cluster::start("term", &[]);
    let (mut a, _) = join(&cluster.instances[0], "term", "").await;
    let (mut b, joined) = join(&cluster.instances[1], "term", "").await;
    let token = joined["resume"].as_str().unwrap().to_owned();
    assert_eq!(recv(&mut a).await["type"], "peer-joined");
    cluster.instances[1].terminate();
    assert_eq!(recv(&mut b).await["problem"], "shutting-down");
    assert!(next(&mut b).await.is_none(), "closed");
    assert_eq!(recv(&mut a).await, json!({"type": "peer-away", "peer": 2}));
    // Meanwhile a's signals wait for b.
    signal(&mut a, 2, 7).await;
    let mut b = cluster.instances[2].connect().await;
    send(
        &mut b,
        json!({"type": "resume", "v": V, "room": "term", "token": token, "received": 0}),
    )
    .await;
    let resumed = recv(&mut b).await;
    assert_eq!(resumed["type"], "resumed", "{resumed}");
    assert_eq!(resumed["peers"][0]["peer"], 1);
    assert_eq!(candidate_number(&recv(&mut b).await), 7);
    assert_eq!(recv(&mut a).await, json!({"type": "peer-back", "peer": 2}));
    signal(&mut b, 1, 8).await;
    assert_eq!(candidate_number(&recv(&mut a).await), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_from_one_address_are_counted_across_the_instances() {
    let cluster = Cluster::start("joins", &["--joins-per-minute", "4"]);
    // Four at once, spread over three instances; the fifth is refused wherever it goes.
    for n in 0..4 {
        let (_page, joined) = join(&cluster.instances[n % 3], &format!("try-{n}"), "").await;
        assert_eq!(joined["type"], "joined", "{joined}");
    }
    for instance in &cluster.instances {
        let (_page, refused) = join(instance, "try-more", "").await;
        assert_eq!(refused["problem"], "too-many-joins", "{refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_gives_turn_credentials_the_turn_server_takes() {
    let turn = [
        "--turn-url",
        "turn:127.0.0.1:3478",
        "--turn-secret",
        "north-wind",
    ];
    let cluster = Cluster::start("turn", &turn);
    let (mut a, _) = join(&cluster.instances[0], "turn", "").await;
    let (_b, joined) = join(&cluster.instances[1], "turn", "").await;
    let heard = recv(&mut a).await;
    // coturn's use-auth-secret: the credential is base64(HMAC-SHA1(secret, username)), the
    // username an expiry and an id; one secret, whichever instance made them.
    for server in [&joined["iceServers"][0], &heard["iceServers"][0]] {
        let username = server["username"].as_str().unwrap();
        let credential = server["credential"].as_str().unwrap();
        let expected = loopback_server::turn::credential("north-wind", username);
        assert_eq!(credential, expected, "{server}");
    }
}
