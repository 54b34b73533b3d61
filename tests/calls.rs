//! Calls between pages as users make them, on the release build served by the project's server:
//! two tabs of one browser with no signaling server, two browsers through the server (Chromium
//! and Chromium, Firefox and Firefox, Chromium and Firefox), and a relay-only call through a
//! coturn started here. Each call plays both ways, and after HangUp nothing is left open.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use loopback_server::turn::Turn;
use serde_json::{json, Value};
use std::time::Duration;
use support::group::{fps_per_call, join, tiles_playing};
use support::room::{call, hang_up, logs, room_url, rooms_empty, Coturn, Cuttable, Side};
use support::{dist, Browser, Engine, Server};

/// Chooses the codec labelled `name` on `side`'s page.
async fn choose_codec(side: &Side<'_>, name: &str) {
    side.eval(&format!(
        "const s = document.getElementById('codec-select');
         s.value = [...s.options].find(o => o.text.startsWith({name:?})).value;
         s.dispatchEvent(new Event('change'));"
    ))
    .await;
}

/// The controls across the room: a chat line from `a` reaches `b`; a codec chosen on the page
/// that made the first offer renegotiates the call, one chosen on the other page is explained;
/// an ICE restart on `b` brings new credentials; the call goes on through all of it.
async fn controls_across(a: &Side<'_>, b: &Side<'_>) {
    let line = format!("hello from {}", a.name);
    a.wait_for(
        "the data channel",
        "return !document.getElementById('chat-send').disabled;",
    )
    .await;
    a.eval(&format!(
        "document.getElementById('chat-input').value = {line:?};"
    ))
    .await;
    a.click("chat-send").await;
    b.wait_for(
        "the chat line",
        &format!(
            "return [...document.querySelectorAll('#chat-log li')]
                .some(l => l.textContent === {:?});",
            format!("Them: {line}")
        ),
    )
    .await;
    a.wait_for(
        "the receipt",
        "return [...document.querySelectorAll('#chat-log li')]
            .some(l => l.textContent.includes(' · delivered, receipt after '));",
    )
    .await;
    let impolite = "return [...document.querySelectorAll('#log li')]
        .some(l => l.textContent.includes(\"this page's peer is the impolite one\"));";
    let (offerer, answerer) = if a.eval(impolite).await == Value::Bool(true) {
        (a, b)
    } else {
        (b, a)
    };
    choose_codec(answerer, "VP9").await;
    answerer
        .wait_for(
            "the word that the other page orders the codecs",
            "return document.getElementById('status').textContent.includes('its codec order stands');",
        )
        .await;
    choose_codec(offerer, "VP9").await;
    for side in [offerer, answerer] {
        side.wait_for(
            "VP9 in use after the renegotiation",
            "return window.__calls.codec().then(c => c === 'video/VP9' && window.__calls.connected());",
        )
        .await;
    }
    let ufrag = "return window.__calls.ufrag();";
    let before = b.eval(ufrag).await;
    b.click("restart-ice-btn").await;
    b.wait_for(
        "new ICE credentials",
        &format!("return window.__calls.ufrag() !== {before};"),
    )
    .await;
    if let Err(e) = b
        .try_wait_for(
            "the call to stay connected",
            "return window.__calls.connected();",
        )
        .await
    {
        panic!("{e}\n{}", logs(a, b).await);
    }
    for side in [a, b] {
        side.wait_for(
            "frames to keep coming",
            "const v = document.getElementById('remoteStream');
             const t = v.currentTime; return new Promise(r => setTimeout(() => r(v.currentTime > t), 500));",
        )
        .await;
    }
}

/// Two windows of one browser and no signaling server: they find each other between tabs.
async fn two_tabs_without_a_server(engine: Engine) {
    let server = Server::start_with(&dist(), |c| c.signaling = false).await;
    let browser = Browser::launch(engine).await;
    let first = browser.client.window().await.unwrap();
    let second = browser.client.new_window(false).await.unwrap().handle;
    let a = Side {
        browser: &browser,
        window: first,
        name: format!("{} tab 1", engine.name()),
    };
    let b = Side {
        browser: &browser,
        window: second,
        name: format!("{} tab 2", engine.name()),
    };
    let url = room_url(&server.url, "");
    call(&a, &b, &url).await;
    for side in [&a, &b] {
        side.assert_logged("between tabs of this browser").await;
    }
    hang_up(&a, &b).await;

    // A call again, and the second tab reloads in the middle of it.
    call(&a, &b, &url).await;
    reload_during_the_call(&a, &b).await;

    // A tab closed for good: its seat is kept for the grace, then the other tab hears it left.
    call(&a, &b, &url).await;
    b.focus().await;
    let closed = std::time::Instant::now();
    browser.client.close_window().await.expect("the tab closes");
    a.wait_for(
        "the news that the other left",
        "return document.getElementById('status').textContent.startsWith('The other person left.');",
    )
    .await;
    let after = closed.elapsed();
    a.assert_logged("its seat is kept for 10.0 s").await;
    assert!(
        after >= Duration::from_secs(9),
        "left after {after:?}, before the grace"
    );
    assert_eq!(
        a.held().await,
        json!([0, 2]),
        "{}: call closed, camera on",
        a.name
    );
    a.click("hangup-btn").await;
    browser.close().await;
}

/// `b` reloads mid-call: `a` keeps its seat, `b`'s new page calls again by itself with the tab
/// id and so the role it had, and the call plays again, a new one on both sides.
async fn reload_during_the_call(a: &Side<'_>, b: &Side<'_>) {
    let polite = b.log().await.to_string().contains("is the polite one");
    b.focus().await;
    let reloaded = std::time::Instant::now();
    b.browser.client.refresh().await.expect("the tab reloads");
    a.wait_for(
        "the other tab to be back, its seat kept meanwhile",
        "const log = document.getElementById('log').textContent;
         return log.includes('its seat is kept') && log.includes('the other tab is back (it reloaded)');",
    )
    .await;
    assert!(
        !a.log().await.to_string().contains("the other person left"),
        "{}",
        logs(a, b).await
    );
    // Frames of the new call: the old peer is closed, the new one decodes.
    a.wait_for(
        "the new call's video",
        "return __calls.open() === 1 && __calls.connected()
            && __calls.video().then(v => v.frames > 10);",
    )
    .await;
    if let Err(e) = b.playing().await {
        panic!("{e}\n{}", logs(a, b).await);
    }
    // What the reloaded page's new peer decodes, from its stats (the panel's received figure).
    b.wait_for(
        "the reloaded page's peer to decode the other's video",
        "const fps = document.querySelector(\"[data-stat='video-fps']\").textContent;
         return parseFloat(fps.split('/')[1]) >= 10;",
    )
    .await;
    println!(
        "{}: playing again {} ms after its reload",
        b.name,
        reloaded.elapsed().as_millis()
    );
    b.assert_logged("this tab was in a call a moment ago").await;
    b.assert_logged(if polite {
        "is the polite one"
    } else {
        "is the impolite one"
    })
    .await;
    assert_eq!(a.held().await, json!([1, 2]), "{}", logs(a, b).await);

    // The reloaded page opened its camera before this test could record it: its tracks are
    // read off the page.
    let live = "return document.getElementById('localStream').srcObject
        ?.getTracks().filter(t => t.readyState === 'live').length ?? 0;";
    b.eval("window.__shown = document.getElementById('localStream').srcObject.getTracks();")
        .await;
    a.click("hangup-btn").await;
    b.wait_for(
        "the news that the other left",
        "return document.getElementById('status').textContent.startsWith('The other person left.');",
    )
    .await;
    assert_eq!(a.held().await, json!([0, 0]), "{} left open", a.name);
    assert_eq!(b.eval(live).await, json!(2), "{}: camera stays on", b.name);
    b.click("hangup-btn").await;
    assert_eq!(
        b.eval("return window.__shown.every(t => t.readyState === 'ended');")
            .await,
        json!(true),
        "{} left its camera on",
        b.name
    );
}

/// How long a page's pings are counted (see [`pings_over`]).
const PINGS_OVER: Duration = Duration::from_secs(12);

/// The pings `side`'s page sends its signaling server over `over`, counted where they leave the
/// page (`WebSocket.prototype.send`, which the page's socket calls at each message).
async fn pings_over(side: &Side<'_>, over: Duration) -> u64 {
    side.eval(
        r#"if (!window.pingsSent) {
             const send = WebSocket.prototype.send;
             WebSocket.prototype.send = function (data) {
               if (data === '{"type":"ping"}') window.pingsSent.count += 1;
               return send.call(this, data);
             };
           }
           window.pingsSent = { count: 0 };
           return true;"#,
    )
    .await;
    tokio::time::sleep(over).await;
    side.eval("return window.pingsSent.count;")
        .await
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// Two browser sessions, each its own browser, meeting through the server.
async fn two_browsers_through_the_server(first: Engine, second: Engine) {
    let server = Server::start(&dist()).await;
    let (one, two) = (Browser::launch(first).await, Browser::launch(second).await);
    let a = Side::of(&one, first.name().to_owned()).await;
    let b = Side::of(&two, second.name().to_owned()).await;
    let url = room_url(&server.url, "");
    call(&a, &b, &url).await;
    for side in [&a, &b] {
        side.assert_logged("through the signaling server").await;
    }
    assert_eq!(server.rooms(), 1);
    // While the call flows, each page asks the server whether it is there every 5 s, not every
    // second (`src/signaling/heartbeat.rs`): over 12 s, two or three pings. (While it was set
    // up it asked every second; that lasts 2.5 s past the last reading before `connected`.)
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (in_a, in_b) = tokio::join!(pings_over(&a, PINGS_OVER), pings_over(&b, PINGS_OVER));
    for (side, pings) in [(&a, in_a), (&b, in_b)] {
        println!("{}: {pings} pings in {PINGS_OVER:?}", side.name);
        assert!(
            (2..=3).contains(&pings),
            "{} sent {pings} pings in {PINGS_OVER:?} of a call that flows\n{}",
            side.name,
            logs(&a, &b).await
        );
    }
    controls_across(&a, &b).await;
    // The server checks every description and candidate it relays: a browser's all pass.
    for side in [&a, &b] {
        let log = side.log().await.to_string();
        assert!(
            !log.contains("could not read a message"),
            "{}: {log}",
            side.name
        );
    }
    hang_up(&b, &a).await;
    rooms_empty(&server.running.state.store).await;
    one.close().await;
    two.close().await;
}

/// `a` opens the room at instance `one`, `b` the same room at instance `two`, and they call:
/// once both play, each page's seat is on its own instance.
async fn call_across(a: &Side<'_>, b: &Side<'_>, one: &str, two: &str) {
    let url = room_url(one, "");
    a.open(&url).await;
    b.open(&url.replacen(one, two, 1)).await;
    a.click("call-btn").await;
    a.wait_for(
        "the other person",
        "return document.getElementById('status').textContent.includes('waiting for the other person');",
    )
    .await;
    b.click("call-btn").await;
    for side in [a, b] {
        if let Err(e) = side.playing().await {
            panic!("{e}\n{}", logs(a, b).await);
        }
        side.assert_logged("through the signaling server").await;
    }
}

/// Two browsers, each on its own instance of the server, the two sharing their rooms through a
/// Redis started here: the call, its controls and its end go from one instance to the other.
async fn two_browsers_on_two_instances(first: Engine, second: Engine) {
    let redis = support::redis::Redis::start();
    let one = Server::start_shared(&dist(), &redis.url(), "one").await;
    let two = Server::start_shared(&dist(), &redis.url(), "two").await;
    let (x, y) = (Browser::launch(first).await, Browser::launch(second).await);
    let a = Side::of(&x, format!("{} on one", first.name())).await;
    let b = Side::of(&y, format!("{} on two", second.name())).await;
    call_across(&a, &b, &one.url, &two.url).await;
    assert_eq!((one.rooms(), two.rooms()), (1, 1), "a seat on each");
    controls_across(&a, &b).await;
    hang_up(&b, &a).await;
    rooms_empty(&one.running.state.store).await;
    rooms_empty(&two.running.state.store).await;
    x.close().await;
    y.close().await;
}

/// Two browsers on two instances in a call, and the instances' Redis (with its append-only file,
/// as the README's recipe runs it) stops for 4 s: both keep decoding in every second of it, and
/// once it is back the call's signaling crosses the instances again (a renegotiation and an ICE
/// restart), both seats still held.
async fn a_call_outlives_its_redis(first: Engine, second: Engine) {
    let dir = std::env::temp_dir().join(format!(
        "loopback-redis-{}-{}",
        std::process::id(),
        support::room::rand_u64(7)
    ));
    std::fs::create_dir_all(&dir).expect("a directory for Redis's append-only file");
    let mut redis = support::redis::Redis::start_persistent(&dir);
    let one = Server::start_shared(&dist(), &redis.url(), "one").await;
    let two = Server::start_shared(&dist(), &redis.url(), "two").await;
    let (x, y) = (Browser::launch(first).await, Browser::launch(second).await);
    let a = Side::of(&x, format!("{} on one", first.name())).await;
    let b = Side::of(&y, format!("{} on two", second.name())).await;
    call_across(&a, &b, &one.url, &two.url).await;
    redis.stop();
    for n in 0..4 {
        let ((fps_a, _), (fps_b, _)) = tokio::join!(
            a.decoding(Duration::from_secs(1)),
            b.decoding(Duration::from_secs(1))
        );
        assert!(
            fps_a >= 5.0 && fps_b >= 5.0,
            "second {n} without Redis: {fps_a} and {fps_b} fps\n{}",
            logs(&a, &b).await
        );
    }
    redis.run();
    controls_across(&a, &b).await;
    assert_eq!((one.rooms(), two.rooms()), (1, 1), "a seat on each still");
    hang_up(&b, &a).await;
    rooms_empty(&one.running.state.store).await;
    rooms_empty(&two.running.state.store).await;
    x.close().await;
    y.close().await;
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A load balancer of the plainest kind in front of instances: each connection goes to the first
/// instance that takes it, as one whose health check failed is skipped.
async fn balancer(instances: Vec<std::net::SocketAddr>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let url = format!("http://{}/", listener.local_addr().expect("its address"));
    let task = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let instances = instances.clone();
            tokio::spawn(async move {
                for instance in instances {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(instance).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        return;
                    }
                }
            });
        }
    });
    (url, task)
}

/// Two browsers behind a balancer, both on the first of two instances sharing their rooms: the
/// instance shuts down mid-call (as on SIGTERM), hands its seats back and tells the pages, which
/// come back through the balancer to the other instance and take their seats back there. The
/// video never stops.
async fn two_browsers_outlive_their_instance(first: Engine, second: Engine) {
    let redis = support::redis::Redis::start();
    let one = Server::start_shared(&dist(), &redis.url(), "one").await;
    let two = Server::start_shared(&dist(), &redis.url(), "two").await;
    let (front, _balancing) = balancer(vec![one.running.addr, two.running.addr]).await;
    let (x, y) = (Browser::launch(first).await, Browser::launch(second).await);
    let a = Side::of(&x, first.name().to_owned()).await;
    let b = Side::of(&y, second.name().to_owned()).await;
    call(&a, &b, &room_url(&front, "")).await;
    assert_eq!((one.rooms(), two.rooms()), (1, 0), "both on the first");
    let moving = tokio::spawn(one.running.shut_down());
    // Every second of the move, both keep decoding.
    for _ in 0..4 {
        for side in [&a, &b] {
            let (fps, _) = side.decoding(Duration::from_secs(1)).await;
            assert!(fps >= 5.0, "{}: {fps} fps while moving", side.name);
        }
    }
    moving
        .await
        .expect("the shutdown")
        .expect("a clean shutdown");
    for side in [&a, &b] {
        side.wait_for(
            "the seat taken back on the other instance",
            "return document.getElementById('log').textContent.includes('back on the signaling server after');",
        )
        .await;
    }
    assert_eq!(two.rooms(), 1, "both on the second now");
    controls_across(&a, &b).await;
    hang_up(&b, &a).await;
    rooms_empty(&two.running.state.store).await;
    x.close().await;
    y.close().await;
}

/// A page calling while the rooms' Redis is down is told so in words, and once Redis is back,
/// Call joins the room.
async fn calling_while_redis_is_down(engine: Engine) {
    let mut redis = support::redis::Redis::start();
    let server = Server::start_shared(&dist(), &redis.url(), "alone").await;
    let browser = Browser::launch(engine).await;
    let a = Side::of(&browser, engine.name().to_owned()).await;
    a.open(&room_url(&server.url, "")).await;
    redis.stop();
    a.click("call-btn").await;
    a.wait_for(
        "the words that no one can join now",
        "return document.getElementById('status').textContent.includes('cannot reach the store its rooms are kept in');",
    )
    .await;
    redis.run();
    a.wait_for(
        "Call again",
        "return !document.getElementById('call-btn').disabled;",
    )
    .await;
    a.click("call-btn").await;
    a.wait_for(
        "the room joined",
        "return document.getElementById('status').textContent.includes('waiting for the other person');",
    )
    .await;
    a.click("hangup-btn").await;
    rooms_empty(&server.running.state.store).await;
    browser.close().await;
}

/// `relay=1`: TURN only, through coturn; the candidate pair in use is a relayed one.
async fn relay_only_through_coturn(engine: Engine) {
    let turn = Coturn::start().await;
    let server = Server::start_with(&dist(), |c| {
        c.turn = Some(Turn {
            urls: vec![format!("turn:127.0.0.1:{}?transport=udp", turn.port)],
            secret: turn.secret.clone(),
            // Short, so that the pages renew it during the call (every 10 s).
            ttl: Duration::from_secs(20),
        })
    })
    .await;
    // Firefox gathers no relay candidate on a loopback TURN server without this.
    let prefs = json!({"media.peerconnection.ice.loopback": true});
    let (one, two) = (
        Browser::launch_with_prefs(engine, &[], &prefs).await,
        Browser::launch_with_prefs(engine, &[], &prefs).await,
    );
    let a = Side::of(&one, format!("{} 1", engine.name())).await;
    let b = Side::of(&two, format!("{} 2", engine.name())).await;
    let url = room_url(&server.url, "&relay=1");
    call(&a, &b, &url).await;
    for side in [&a, &b] {
        side.wait_for(
            "the panel to show a relayed candidate pair",
            "return document.querySelector(\"[data-stat='pair-local']\").textContent.startsWith('relay');",
        )
        .await;
        side.assert_logged("relaying through TURN only").await;
    }
    let status = a.status().await;
    assert!(status.starts_with("Setup time: "), "{status}");
    // The credentials are renewed halfway through their life: the peer takes the new ones and
    // restarts ICE onto them, and the call goes on through the relay past the old ones' expiry.
    let first = a.eval("return __calls.turnUser();").await;
    assert!(first.is_string(), "{first}");
    for side in [&a, &b] {
        side.wait_for_within(
            "the TURN credentials renewed and the relay moved onto them",
            Duration::from_secs(25),
            "const log = document.getElementById('log').textContent;
             return log.includes('uses the renewed TURN credentials');",
        )
        .await;
    }
    let renewed = a.eval("return __calls.turnUser();").await;
    assert!(
        renewed.is_string() && renewed != first,
        "{first} then {renewed}"
    );
    tokio::time::sleep(Duration::from_secs(12)).await;
    for side in [&a, &b] {
        let (fps, _) = side.decoding(Duration::from_secs(2)).await;
        assert!(
            fps >= 10.0,
            "{}: {fps} fps after the first credentials expired",
            side.name
        );
        side.wait_for(
            "the pair still relayed",
            "return document.querySelector(\"[data-stat='pair-local']\").textContent.startsWith('relay');",
        )
        .await;
    }
    hang_up(&a, &b).await;
    rooms_empty(&server.running.state.store).await;
    one.close().await;
    two.close().await;
}

/// Three in a room, one of them (`c`, in a second window of `a`'s Chromium) behind a way to the
/// server that is cut for longer than the server keeps a seat: the other two are told `c` left and
/// end their calls with it; when `c` gets through again the server says its seat is gone, and `c`
/// ends its own (over at the other ends) and calls the two anew. Everyone decodes everyone again,
/// from the peers' stats, and `c` holds two calls, not four.
async fn a_seat_let_go_is_called_anew(first: Engine, second: Engine) {
    const GRACE: Duration = Duration::from_secs(2);
    let server = Server::start_with(&dist(), |c| {
        c.room_size = 3;
        c.limits.grace = GRACE;
    })
    .await;
    let cuttable = Cuttable::to(server.running.addr).await;
    let (x, y) = (Browser::launch(first).await, Browser::launch(second).await);
    let c_window = x.client.new_window(false).await.expect("a window").handle;
    let a = Side::of(&x, first.name().to_owned()).await;
    let b = Side::of(&y, second.name().to_owned()).await;
    let c = Side {
        browser: &x,
        window: c_window,
        name: format!("{} behind the cut", first.name()),
    };
    let url = room_url(&server.url, "");
    let (_, room) = url.split_once('?').expect("a room link");
    for side in [&a, &b] {
        side.open(&url).await;
    }
    c.open(&format!("{}?{room}", cuttable.url)).await;
    for (n, side) in [&a, &b, &c].into_iter().enumerate() {
        join(side, n).await;
    }
    let opened = "return __calls.open();";
    assert_eq!(c.eval(opened).await, json!(2));

    cuttable.cut_for(GRACE * 3);
    for side in [&a, &b] {
        side.wait_for("the call with the one cut off to end", &tiles_playing(1))
            .await;
        side.assert_logged("left the room").await;
    }
    c.assert_logged("the connection to the signaling server was lost")
        .await;
    for side in [&a, &b, &c] {
        if let Err(e) = side
            .try_wait_within(
                "two tiles again",
                Duration::from_secs(60),
                &tiles_playing(2),
            )
            .await
        {
            panic!("{e}\n{}\n{}", logs(&a, &c).await, logs(&b, &c).await);
        }
    }
    for side in [&a, &b, &c] {
        let fps = fps_per_call(side, Duration::from_secs(2)).await;
        assert!(
            fps.len() == 2 && fps.iter().all(|&f| f >= 5.0),
            "{}: frames decoded per second, per call: {fps:?}",
            side.name
        );
    }
    c.assert_logged("it had let this page's seat go and told the room it left")
        .await;
    assert_eq!(c.eval(opened).await, json!(2), "{}", logs(&a, &c).await);
    assert_eq!(server.rooms(), 1);
    for side in [&a, &b, &c] {
        side.click("hangup-btn").await;
        assert_eq!(side.held().await, json!([0, 0]), "{} left open", side.name);
    }
    rooms_empty(&server.running.state.store).await;
    x.close().await;
    y.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_seat_let_go_is_called_anew_chromium_and_firefox() {
    a_seat_let_go_is_called_anew(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_seat_let_go_is_called_anew_firefox_and_chromium() {
    a_seat_let_go_is_called_anew(Engine::Firefox, Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_chromium_tabs_call_without_a_server() {
    two_tabs_without_a_server(Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_firefox_tabs_call_without_a_server() {
    two_tabs_without_a_server(Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_chromium_browsers_call_through_the_server() {
    two_browsers_through_the_server(Engine::Chromium, Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_firefox_browsers_call_through_the_server() {
    two_browsers_through_the_server(Engine::Firefox, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_calls_firefox_through_the_server() {
    two_browsers_through_the_server(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_on_one_instance_calls_firefox_on_another() {
    two_browsers_on_two_instances(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_and_firefox_outlive_their_instance() {
    two_browsers_outlive_their_instance(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_between_chromium_and_firefox_outlives_its_redis() {
    a_call_outlives_its_redis(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_calling_while_redis_is_down_is_told_so() {
    calling_while_redis_is_down(Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn firefox_calling_while_redis_is_down_is_told_so() {
    calling_while_redis_is_down(Engine::Firefox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_calls_relayed_through_coturn() {
    relay_only_through_coturn(Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn firefox_calls_relayed_through_coturn() {
    relay_only_through_coturn(Engine::Firefox).await;
}
