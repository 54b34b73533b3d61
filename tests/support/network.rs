//! Calls across the network lab's networks, one function per scenario of the issue they prove
//! (`tests/networks.rs` runs each as a test; the benchmark times the recoveries): each builds its
//! own lab, serves the release page from the project's server over HTTPS on the lab's internet
//! segment, drives a browser on each machine, and ends with HangUp, nothing left open on either
//! side and no room left on the server. A scenario that returns a duration measured it.

use super::group::{fps_per_call, frames_from, join, people, set_name, tile_reconnecting};
use super::lab::{self, Lab, Nat, SERVER_IP};
use super::room::{call, hang_up, logs, press_call, room_url, rooms_empty, Coturn, Side};
use super::{dist, Browser, Engine};
use loopback_server::turn::Turn;
use loopback_server::{Config, Limits, Running};
use serde_json::json;
use std::time::{Duration, Instant};

/// The server's configuration in the lab: the release page, TURN through the lab's coturn
/// when there is one.
fn config(turn: Option<&Coturn>) -> Config {
    Config {
        dist: dist(),
        allowed_origins: Vec::new(),
        public_origins: Vec::new(),
        trusted_proxies: Vec::new(),
        denied_candidates: loopback_server::inspect::default_denied(),
        limits: Limits::default(),
        turn: turn.map(|turn| Turn {
            urls: vec![
                format!("stun:{SERVER_IP}:{}", turn.port),
                format!("turn:{SERVER_IP}:{}?transport=udp", turn.port),
            ],
            secret: turn.secret.clone(),
            ttl: Duration::from_secs(600),
        }),
        tls: true,
        hsts: false,
        signaling: true,
        room_size: loopback_signal::room::DEFAULT_SIZE,
    }
}

/// One browser on each of the lab's machines.
struct Browsers {
    browsers: Vec<Browser>,
}

impl Browsers {
    async fn launch<const N: usize>(lab: &Lab, engines: [Engine; N]) -> Self {
        let prefs = json!({});
        let mut browsers = Vec::with_capacity(N);
        for (i, engine) in engines.into_iter().enumerate() {
            browsers.push(Browser::launch_in(engine, Some(lab.machine(i)), &[], &prefs).await);
        }
        Self { browsers }
    }

    /// The page of each machine, named after its browser and machine.
    async fn every_side(&self) -> Vec<Side<'_>> {
        let mut sides = Vec::with_capacity(self.browsers.len());
        for (i, browser) in self.browsers.iter().enumerate() {
            let name = format!("{} on machine {}", browser.engine.name(), i + 1);
            sides.push(Side::of(browser, name).await);
        }
        sides
    }

    /// The pages of a lab of two machines.
    async fn sides(&self) -> (Side<'_>, Side<'_>) {
        let mut sides = self.every_side().await.into_iter();
        match (sides.next(), sides.next()) {
            (Some(a), Some(b)) => (a, b),
            _ => panic!("a call of two needs a lab of two machines"),
        }
    }

    /// Closes every browser and stops `server`: the scenario is over.
    async fn close(self, server: Running) {
        for browser in self.browsers {
            browser.close().await;
        }
        let _ = server.shut_down().await;
    }
}

/// The candidate types of the pair in use, as `side`'s stats panel shows them (local,
/// remote), once the panel shows one.
async fn candidate_pair(side: &Side<'_>) -> (String, String) {
    side.wait_for(
        "the stats panel's candidate pair",
        "return document.querySelector(\"[data-stat='pair-local']\").textContent !== '–';",
    )
    .await;
    let pair = side
        .eval(
            "return ['pair-local', 'pair-remote'].map(s =>
                document.querySelector(`[data-stat='${s}']`).textContent);",
        )
        .await;
    let kind = |i: usize| {
        pair[i]
            .as_str()
            .and_then(|t| t.split_whitespace().next())
            .unwrap_or_default()
            .to_owned()
    };
    println!("{}: candidate pair {pair}", side.name);
    (kind(0), kind(1))
}

/// Hangs up and checks that nothing is left, on either page or on the server.
async fn end(a: &Side<'_>, b: &Side<'_>, server: &Running) {
    hang_up(a, b).await;
    rooms_empty(&server.state.store).await;
}

/// Scenario 1: two machines on one LAN with the server, over HTTPS with a self-signed
/// certificate (the README's LAN recipe): a direct host ↔ host pair, no relay.
pub async fn lan(first: Engine, second: Engine) {
    let lab = Lab::build([Nat::None, Nat::None]);
    let (server, base) = lab::serve(&lab, config(None)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    for side in [&a, &b] {
        let (fps, loss) = side.decoding(Duration::from_secs(2)).await;
        println!("{}: {fps:.1} fps, {:.1} % lost", side.name, loss * 100.0);
    }
    for side in [&a, &b] {
        let (local, remote) = candidate_pair(side).await;
        assert_eq!(local, "host", "{}: a direct pair on a LAN", side.name);
        assert_ne!(remote, "relay", "{}", side.name);
    }
    end(&a, &b, &server).await;
    browsers.close(server).await;
}

/// Scenario 2: one home behind a (port-preserving) NAT, the other machine on the internet,
/// TURN offered: still a direct pair (server- or peer-reflexive), no relay.
pub async fn one_home_behind_a_nat(first: Engine, second: Engine) {
    let lab = Lab::build([Nat::PortPreserving, Nat::None]);
    let turn = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, config(Some(&turn))).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    for side in [&a, &b] {
        let (local, remote) = candidate_pair(side).await;
        assert!(
            local != "relay" && remote != "relay",
            "{}: a direct pair ({local} ↔ {remote})",
            side.name
        );
    }
    end(&a, &b, &server).await;
    browsers.close(server).await;
}

/// Scenario 3: both homes behind symmetric NATs, the server handing out coturn's
/// credentials: the call connects through the relay, and the panel says so.
pub async fn symmetric_nats_through_turn(first: Engine, second: Engine) -> Duration {
    let lab = Lab::build([Nat::Symmetric, Nat::Symmetric]);
    let turn = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, config(Some(&turn))).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    let took = call(&a, &b, &room_url(&base, "")).await;
    println!(
        "symmetric NATs through TURN: both play {} ms after Call",
        took.as_millis()
    );
    // It keeps playing: a relay that works for the first frames only is no relay.
    for _ in 0..3 {
        for side in [&a, &b] {
            let (fps, loss) = side.decoding(Duration::from_secs(2)).await;
            println!(
                "{} through the relay: {fps:.1} fps, {:.1} % of video packets lost",
                side.name,
                loss * 100.0
            );
            assert!(fps >= 15.0, "{}: {fps:.1} fps through the relay", side.name);
        }
    }
    for side in [&a, &b] {
        let (local, remote) = candidate_pair(side).await;
        assert!(
            local == "relay" || remote == "relay",
            "{}: through the relay ({local} ↔ {remote})",
            side.name
        );
    }
    end(&a, &b, &server).await;
    browsers.close(server).await;
    took
}

/// The idle timeout the lab's server runs with in the outage scenarios: short, so that a
/// cut longer than it is a test of a few seconds.
const IDLE: Duration = Duration::from_secs(15);

/// Scenario 4: both homes behind symmetric NATs and no TURN: within 20 s the page says in
/// plain words that no direct path was found and a TURN server is needed, lets go of the
/// call and stops retrying.
pub async fn symmetric_nats_without_turn(first: Engine, second: Engine) {
    let lab = Lab::build([Nat::Symmetric, Nat::Symmetric]);
    let (server, base) = lab::serve(&lab, config(None)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    let start = press_call(&a, &b, &room_url(&base, "")).await;
    let said =
        "return document.getElementById('status').textContent.includes('A TURN server is needed');";
    for side in [&a, &b] {
        side.wait_for_within(
            "the word that a TURN server is needed",
            Duration::from_secs(20),
            said,
        )
        .await;
        println!(
            "{}: {:?} after {} ms",
            side.name,
            side.status().await,
            start.elapsed().as_millis()
        );
    }
    assert!(start.elapsed() < Duration::from_secs(21), "within 20 s");
    let restarts = "return [...document.querySelectorAll('#log li')].filter(l => l.textContent.includes('restarts ICE')).length;";
    let before = [a.eval(restarts).await, b.eval(restarts).await];
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        [a.eval(restarts).await, b.eval(restarts).await],
        before,
        "no more tries"
    );
    for side in [&a, &b] {
        assert_eq!(
            side.held().await,
            json!([0, 2]),
            "{}: call released, camera on",
            side.name
        );
        assert_eq!(
            side.eval("return !document.getElementById('call-btn').disabled;")
                .await,
            json!(true),
            "{}: Call may be pressed again",
            side.name
        );
        side.click("hangup-btn").await;
        assert_eq!(side.held().await, json!([0, 0]), "{} left open", side.name);
    }
    rooms_empty(&server.state.store).await;
    browsers.close(server).await;
}

/// The server of the outage scenarios: STUN through the lab's coturn (a machine behind a NAT
/// learns its public address; no relay is offered, so the call stays on its direct path),
/// and a short idle timeout (pings every 4 s).
fn short_idle(stun: &Coturn) -> Config {
    let mut config = config(Some(stun));
    if let Some(turn) = &mut config.turn {
        turn.urls.retain(|url| url.starts_with("stun:"));
    }
    config.limits.idle = IDLE;
    config.limits.ping = Duration::from_secs(4);
    config
}

/// Waits until frames arrive again on both pages (from their receivers' stats) and both
/// pages say the call is back; returns how long until the frames came.
async fn back(a: &Side<'_>, b: &Side<'_>, within: Duration) -> Duration {
    let start = Instant::now();
    let frames = "return __calls.video().then(v => v ? v.frames : 0);";
    loop {
        let before = [a.eval(frames).await, b.eval(frames).await];
        tokio::time::sleep(Duration::from_millis(250)).await;
        let after = [a.eval(frames).await, b.eval(frames).await];
        let moved =
            |i: usize| after[i].as_f64().unwrap_or(0.0) - before[i].as_f64().unwrap_or(0.0) >= 2.0;
        if moved(0) && moved(1) {
            break;
        }
        assert!(
            start.elapsed() < within,
            "no frames again within {within:?}\n{}",
            logs(a, b).await
        );
    }
    let took = start.elapsed();
    for side in [a, b] {
        side.wait_for_within(
            "the page to say the call is back",
            Duration::from_secs(20),
            "const s = document.getElementById('status').textContent;
             return s.startsWith('Back') || s.includes('is back');",
        )
        .await;
    }
    took
}

/// Frames keep coming to both pages (from their receivers' stats).
async fn plays_on(a: &Side<'_>, b: &Side<'_>) {
    for side in [a, b] {
        let start = Instant::now();
        loop {
            let (fps, _) = side.decoding(Duration::from_secs(1)).await;
            if fps >= 5.0 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{}: the video does not play ({fps:.1} fps); log {}",
                side.name,
                side.log().await
            );
        }
    }
}

/// Scenarios 7 and 8: one home's uplink cut for `outage`, then back, on a direct path (one
/// home behind a NAT, the other on the internet). The call comes back by itself; a cut
/// longer than the server's idle timeout also loses the signaling socket, which the page
/// reconnects and resumes (the other page hears that the person is reconnecting, not that
/// they left).
pub async fn uplink_cut(first: Engine, second: Engine, outage: Duration) -> Duration {
    let lab = Lab::build([Nat::PortPreserving, Nat::None]);
    let stun = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, short_idle(&stun)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    plays_on(&a, &b).await;
    lab.cut(0);
    let cut = Instant::now();
    let reconnecting =
        "return document.getElementById('status').textContent.includes('econnecting');";
    for side in [&a, &b] {
        side.wait_for_within(
            "the word that the call is reconnecting",
            outage,
            reconnecting,
        )
        .await;
    }
    if outage > IDLE {
        // The server has closed the cut page's socket: the other page hears it is away.
        b.wait_for_within(
            "the word that the other person is reconnecting",
            outage,
            "return [...document.querySelectorAll('#log li')].some(l => l.textContent.includes(\"the other person's connection to the signaling server was lost\"));",
        )
        .await;
    }
    tokio::time::sleep(outage.saturating_sub(cut.elapsed())).await;
    lab.restore(0);
    let limit = if outage > IDLE { 20 } else { 5 };
    let took = back(&a, &b, Duration::from_secs(limit)).await;
    println!(
        "uplink cut for {} s: both pages say the call is back {} ms after the link's return",
        outage.as_secs(),
        took.as_millis()
    );
    plays_on(&a, &b).await;
    for side in [&a, &b] {
        println!("{}: {}", side.name, side.status().await);
    }
    if outage > IDLE {
        a.wait_for_within(
            "the page back on the signaling server",
            Duration::from_secs(20),
            "return [...document.querySelectorAll('#log li')].some(l => l.textContent.includes('back on the signaling server after'));",
        )
        .await;
    }
    end(&a, &b, &server).await;
    browsers.close(server).await;
    took
}

/// Scenario 9: a home's public address changes mid-call: the call comes back by itself.
pub async fn new_public_address(first: Engine, second: Engine) -> Duration {
    let mut lab = Lab::build([Nat::PortPreserving, Nat::None]);
    let stun = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, short_idle(&stun)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    plays_on(&a, &b).await;
    let new = lab.renumber(0);
    let renumbered = Instant::now();
    println!("machine 1's router is now {new}");
    let took = back(&a, &b, Duration::from_secs(25)).await;
    plays_on(&a, &b).await;
    println!(
        "new public address: the call plays again {} ms later",
        renumbered.elapsed().as_millis()
    );
    end(&a, &b, &server).await;
    browsers.close(server).await;
    took
}

/// Scenario 10: the signaling server restarts mid-call: the media goes on, both pages
/// reconnect to the new process, and renegotiation (an ICE restart) and HangUp work there.
pub async fn server_restart(first: Engine, second: Engine) -> Duration {
    let lab = Lab::build([Nat::PortPreserving, Nat::None]);
    let stun = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, short_idle(&stun)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    plays_on(&a, &b).await;
    server.shut_down().await.expect("the server stops");
    let restarted = Instant::now();
    let (server, _) = lab::serve(&lab, short_idle(&stun)).await;
    plays_on(&a, &b).await;
    for side in [&a, &b] {
        side.wait_for_within(
            "the other page back in the room on the new server",
            Duration::from_secs(25),
            "return [...document.querySelectorAll('#log li')].some(l => l.textContent.includes('the other person is back in the room'));",
        )
        .await;
    }
    let took = restarted.elapsed();
    println!(
        "server restart: both pages back in the room {} ms after the restart",
        took.as_millis()
    );
    // Renegotiation through the new process: an ICE restart from one page.
    let ufrag = "return window.__calls.ufrag();";
    let before = b.eval(ufrag).await;
    b.click("restart-ice-btn").await;
    b.wait_for(
        "new ICE credentials through the new server",
        &format!("return window.__calls.ufrag() !== {before} && window.__calls.connected();"),
    )
    .await;
    plays_on(&a, &b).await;
    end(&a, &b, &server).await;
    browsers.close(server).await;
    took
}

/// Scenario 5: 5 % of the packets lost both ways on one home's uplink: the call stays up,
/// the video keeps decoding at 15 fps or more, audio keeps flowing, and the stats panel shows
/// the loss and the retransmissions that repair it.
pub async fn loss(first: Engine, second: Engine) {
    let lab = Lab::build([Nat::PortPreserving, Nat::None]);
    let (server, base) = lab::serve(&lab, config(None)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    lab.loss(0, 5);
    tokio::time::sleep(Duration::from_secs(3)).await;
    for side in [&a, &b] {
        let (fps, lost) = side.decoding(Duration::from_secs(6)).await;
        let (_, audio) = side.sending(Duration::from_secs(1)).await;
        println!(
            "{} with 5 % loss: {fps:.1} fps decoded, {:.1} % of video packets lost, {audio} audio packets in 1 s",
            side.name,
            lost * 100.0
        );
        assert!(fps >= 15.0, "{}: {fps:.1} fps under 5 % loss", side.name);
        assert!(audio > 10.0, "{}: audio keeps flowing ({audio})", side.name);
    }
    for side in [&a, &b] {
        let lost: f64 = side.panel("video-lost").await.parse().unwrap_or(0.0);
        let repair = side.panel("video-repair").await;
        println!(
            "{}: panel says {lost} packets lost, NACKs sent / packets resent {repair}",
            side.name
        );
        assert!(lost > 0.0, "{}: the panel shows the loss", side.name);
        let nacks: f64 = repair
            .split(" / ")
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        assert!(
            nacks > 0.0,
            "{}: the panel shows the NACKs ({repair})",
            side.name
        );
    }
    end(&a, &b, &server).await;
    browsers.close(server).await;
}

/// Scenario 6: one home's uplink narrowed to 300 kbit/s: within 15 s the sender's video
/// bitrate is under it, the video keeps playing, the panel says why (the quality limitation,
/// where the browser reports it), and the call outlives the server's idle timeout although
/// the signaling socket shares the narrow link.
pub async fn narrow_uplink(first: Engine, second: Engine) {
    let lab = Lab::build([Nat::PortPreserving, Nat::None]);
    let stun = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, short_idle(&stun)).await;
    let browsers = Browsers::launch(&lab, [first, second]).await;
    let (a, b) = browsers.sides().await;
    call(&a, &b, &room_url(&base, "")).await;
    let (before, _) = a.sending(Duration::from_secs(2)).await;
    lab.narrow(0, 300);
    let narrowed = Instant::now();
    loop {
        let (kbps, _) = a.sending(Duration::from_secs(2)).await;
        if kbps < 300.0 {
            println!(
                "narrow uplink: video sent {before:.0} kbit/s before, {kbps:.0} kbit/s {} ms after the link narrowed to 300",
                narrowed.elapsed().as_millis()
            );
            break;
        }
        assert!(
            narrowed.elapsed() < Duration::from_secs(15),
            "{}: still sending {kbps:.0} kbit/s",
            a.name
        );
    }
    // Past the server's idle timeout, on the narrow link.
    while narrowed.elapsed() < IDLE + Duration::from_secs(5) {
        let (fps, _) = b.decoding(Duration::from_secs(2)).await;
        assert!(
            fps > 3.0,
            "{}: the video keeps playing ({fps:.1} fps)",
            b.name
        );
    }
    let (fps, _) = b.decoding(Duration::from_secs(3)).await;
    let (kbps, _) = a.sending(Duration::from_secs(3)).await;
    let limit = a.panel("video-limit").await;
    println!(
        "narrow uplink, steady: {kbps:.0} kbit/s sent, {fps:.1} fps decoded, limited by {limit:?}"
    );
    if a.browser.engine == Engine::Chromium {
        assert_eq!(limit, "bandwidth", "{}: the panel says why", a.name);
    }
    for side in [&a, &b] {
        let log = side.log().await.to_string();
        assert!(
            !log.contains("call torn down"),
            "{}: the call ended: {log}",
            side.name
        );
        assert_eq!(
            side.eval("return window.__calls.connected();").await,
            json!(true)
        );
    }
    end(&a, &b, &server).await;
    browsers.close(server).await;
}

/// Scenario 11, a group call: three people, the first at home behind a symmetric NAT, the other
/// two behind ordinary home routers, TURN offered. The symmetric home's two calls go through the
/// relay and the call between the other two is direct, as each page's table of people says and
/// its peers' own stats agree. Then the second home's uplink is cut for 10 s: the call between the
/// other two never stops (frames decoded in every second of the cut), both show the cut person's
/// tile as reconnecting and keep it, and both of its calls come back by themselves. Returns how
/// long after the link's return every call decoded again.
pub async fn group_of_three(engines: [Engine; 3]) -> Duration {
    let lab = Lab::build([Nat::Symmetric, Nat::PortPreserving, Nat::PortPreserving]);
    let turn = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let (server, base) = lab::serve(&lab, config(Some(&turn))).await;
    let browsers = Browsers::launch(&lab, engines).await;
    let sides = browsers.every_side().await;
    let url = room_url(&base, "");
    for side in &sides {
        side.open(&url).await;
        set_name(side, &side.name).await;
    }
    for (n, side) in sides.iter().enumerate() {
        let took = join(side, n).await;
        println!(
            "{} plays the {n} before it {} ms after Call",
            side.name,
            took.as_millis()
        );
    }
    let all_logs = || async {
        let mut text = String::new();
        for side in &sides {
            text += &format!("{} log: {}\n", side.name, side.log().await);
        }
        text
    };
    for side in &sides {
        if let Err(e) = side
            .try_wait_for("two tiles playing", &super::group::tiles_playing(2))
            .await
        {
            panic!("{e}\n{}", all_logs().await);
        }
    }

    // Relayed exactly where the symmetric NAT is, by the table of people's words…
    let relayed = |i: usize, j: usize| i == 0 || j == 0;
    for (i, side) in sides.iter().enumerate() {
        let start = Instant::now();
        loop {
            let rows = people(side).await;
            let right = rows.len() == 2
                && sides
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .all(|(j, other)| {
                        rows.iter().any(|(name, cells)| {
                            let path = cells["path"].as_str().unwrap_or_default();
                            let how = if relayed(i, j) {
                                "relayed: "
                            } else {
                                "direct: "
                            };
                            *name == other.name && path.starts_with(how)
                        })
                    });
            if right {
                println!("{}: {rows:?}", side.name);
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{}: the paths of its calls: {rows:?}",
                side.name
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // …and by the peers' own stats.
        let each = side.eval("return __calls.each();").await;
        let through_relay = each
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .filter(|c| c["local"] == "relay" || c["remote"] == "relay")
                    .count()
            })
            .unwrap_or_default();
        let expected = (0..3).filter(|j| *j != i && relayed(i, *j)).count();
        assert_eq!(through_relay, expected, "{}: {each}", side.name);
    }

    // The second home's uplink is cut: the first and the third go on with each other.
    let (first, cut, third) = (&sides[0], &sides[1], &sides[2]);
    lab.cut(1);
    let outage = Duration::from_secs(10);
    let started = Instant::now();
    let mut marked = [false; 2];
    let mut slowest = f64::INFINITY;
    while started.elapsed() < outage {
        let before = [
            frames_from(first, &third.name).await,
            frames_from(third, &first.name).await,
        ];
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = [
            frames_from(first, &third.name).await,
            frames_from(third, &first.name).await,
        ];
        for (k, (b, a)) in before.iter().zip(&after).enumerate() {
            let fps = a.unwrap_or(0.0) - b.unwrap_or(0.0);
            slowest = slowest.min(fps);
            assert!(
                fps >= 2.0,
                "the call between the other two stopped during the cut: {fps} frames in a second on {}\n{}",
                [first, third][k].name,
                all_logs().await
            );
        }
        for (k, side) in [first, third].into_iter().enumerate() {
            let reconnecting = tile_reconnecting(side, &cut.name).await;
            assert!(
                reconnecting.is_some(),
                "{}: the cut person's tile stays",
                side.name
            );
            marked[k] |= reconnecting == Some(true);
        }
    }
    println!("during the 10 s cut, the call between the other two decoded at least {slowest} frames in every second");
    assert_eq!(
        marked, [true; 2],
        "both others showed the cut person as reconnecting"
    );
    lab.restore(1);
    let restored = Instant::now();
    loop {
        let mut lowest = f64::INFINITY;
        for side in &sides {
            let fps = fps_per_call(side, Duration::from_secs(1)).await;
            lowest = lowest.min(if fps.len() == 2 { fps[0] } else { 0.0 });
        }
        if lowest >= 2.0 {
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(20),
            "the cut person's calls did not come back: lowest {lowest} fps\n{}",
            all_logs().await
        );
    }
    let took = restored.elapsed();
    println!(
        "group of three: every call decodes again {} ms after the cut home's link came back",
        took.as_millis()
    );
    for side in [first, third] {
        let start = Instant::now();
        while tile_reconnecting(side, &cut.name).await != Some(false) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{}: the cut person's tile still says reconnecting",
                side.name
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    // Everyone hangs up; nothing is left on any page or on the server.
    for side in &sides {
        side.click("hangup-btn").await;
        assert_eq!(side.held().await, json!([0, 0]), "{} left open", side.name);
    }
    rooms_empty(&server.state.store).await;
    drop(sides);
    browsers.close(server).await;
    took
}

/// Scenario 12: "Check this machine" on a machine behind `nat`, the page served by the project's
/// server, which gives two STUN addresses (two coturns, ports 3478 and 3479) and, `with_turn`, a
/// TURN server. A symmetric NAT maps the machine's one socket to a new port for each, and the
/// check says what that means: without TURN, "direct connections to other networks will fail;
/// a TURN server is needed"; with it, pass, having carried data both ways through it. A home
/// router keeps one port for both, and the check passes direct connections.
pub async fn check_behind_a_nat(engine: Engine, nat: Nat, with_turn: bool) {
    let lab = Lab::build([nat]);
    let first = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3478).await;
    let second = Coturn::start_in(Some(lab.internet()), SERVER_IP, 3479).await;
    let mut config = config(Some(&first));
    if let Some(turn) = &mut config.turn {
        turn.urls = vec![
            format!("stun:{SERVER_IP}:{}", first.port),
            format!("stun:{SERVER_IP}:{}", second.port),
        ];
        if with_turn {
            turn.urls
                .push(format!("turn:{SERVER_IP}:{}?transport=udp", first.port));
        }
    }
    let (server, base) = lab::serve(&lab, config).await;
    let browsers = Browsers::launch(&lab, [engine]).await;
    let page = &browsers.browsers[0];
    page.client
        .goto(&format!("{base}?check"))
        .await
        .expect("the check page loads");
    page.wait_for(
        "the check page",
        Duration::from_secs(15),
        "const b = document.getElementById('check-run'); return !!b && !b.disabled;",
    )
    .await;
    // Throughput is measured inside the page, whatever the NAT: not here.
    page.eval("document.getElementById('check-throughput').checked = false; return true;")
        .await;
    page.click("check-run").await;
    page.wait_for(
        "the checks to end",
        Duration::from_secs(90),
        "return document.getElementById('check-summary').textContent.length > 0;",
    )
    .await;
    let network = page
        .eval(
            "const r = document.querySelector('[data-check=network]');
             return [r.dataset.verdict, r.querySelector('.sentence').textContent,
                JSON.parse(r.querySelector('.figures').textContent).nat];",
        )
        .await;
    let turn = if with_turn {
        "with TURN"
    } else {
        "without TURN"
    };
    println!("{} behind {nat:?}, {turn}: {network}", engine.name());
    let said = |words: &str| network[1].as_str().unwrap_or_default().contains(words);
    if nat == Nat::PortPreserving {
        assert_eq!(
            network[2], "endpoint_independent",
            "the NAT's kind: {network}"
        );
        assert_eq!(network[0], "pass", "{network}");
        assert!(
            said("Direct connections to other networks can work"),
            "{network}"
        );
    } else if with_turn {
        assert_eq!(network[2], "symmetric", "the NAT's kind: {network}");
        assert_eq!(network[0], "pass", "{network}");
        let connectivity = page
            .eval(
                "return document.querySelector('[data-check=connectivity] .sentence').textContent;",
            )
            .await;
        assert!(
            connectivity
                .as_str()
                .unwrap_or_default()
                .contains("Data went both ways through the TURN server"),
            "{connectivity}"
        );
    } else {
        assert_eq!(network[2], "symmetric", "the NAT's kind: {network}");
        assert_eq!(network[0], "fail", "{network}");
        assert!(
            said("direct connections to other networks will fail; a TURN server is needed"),
            "{network}"
        );
    }
    browsers.close(server).await;
}
