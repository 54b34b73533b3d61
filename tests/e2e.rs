//! The page as users get it: the release build served on 127.0.0.1, clicked through in Chromium.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use fantoccini::Locator;
use serde_json::Value;
use std::time::Duration;
use support::{dist, Browser, Server};

const SECONDS_10: Duration = Duration::from_secs(10);

/// Start, Call, HangUp enabled?
async fn buttons(browser: &Browser) -> Value {
    browser
        .eval(
            "return ['start-btn', 'call-btn', 'hangup-btn']
                .map(id => !document.getElementById(id).disabled);",
        )
        .await
}

fn states(start: bool, call: bool, hang_up: bool) -> Value {
    serde_json::json!([start, call, hang_up])
}

async fn click(browser: &Browser, id: &str) {
    browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_built_page_calls_and_hangs_up() {
    let server = Server::start(&dist()).await;
    let browser = Browser::launch().await;
    browser.client.goto(&server.url).await.expect("page loads");

    // Until the wasm is ready Start is disabled; the app enables it.
    browser
        .wait_for(
            "Start to be enabled",
            SECONDS_10,
            "return !document.getElementById('start-btn').disabled;",
        )
        .await;
    assert_eq!(buttons(&browser).await, states(true, false, false));
    let labels = browser
        .eval(
            "return ['start-btn', 'call-btn', 'hangup-btn']
                .map(id => document.getElementById(id).textContent);",
        )
        .await;
    assert_eq!(labels, serde_json::json!(["Start", "Call", "HangUp"]));

    click(&browser, "start-btn").await;
    browser
        .wait_for(
            "the local stream",
            SECONDS_10,
            "return !!document.getElementById('localStream').srcObject
                && !document.getElementById('call-btn').disabled;",
        )
        .await;
    assert_eq!(buttons(&browser).await, states(false, true, true));

    click(&browser, "call-btn").await;
    assert_eq!(buttons(&browser).await, states(false, false, true));
    // Playing: frames decoded, not paused, and the clock moving.
    browser
        .wait_for(
            "the remote video to play",
            SECONDS_10,
            "const v = document.getElementById('remoteStream');
             return v.videoWidth > 0 && !v.paused && v.readyState >= 2 && v.currentTime > 0.2;",
        )
        .await;
    browser
        .wait_for(
            "the setup time",
            SECONDS_10,
            "return document.getElementById('status').textContent.startsWith('Setup time: ');",
        )
        .await;
    let setup = browser
        .eval(
            "return [...document.querySelectorAll('#log li')].map(li => li.textContent)
                .find(t => t.includes('Setup time: '));",
        )
        .await;
    println!("setup time reported by the page: {setup}");

    // The stats panel opens on connect, fills, and its graphs draw.
    browser
        .wait_for(
            "the stats panel to fill",
            SECONDS_10,
            "const cell = k => document.querySelector(`[data-stat='${k}']`).textContent;
             return !document.getElementById('stats').hidden
                && cell('video-codec').startsWith('video/')
                && /^[1-9]/.test(cell('video-bitrate').split(' / ')[1] || '')
                && cell('pair-local') !== '–';",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let drawn = browser
        .eval(
            "return ['graph-bitrate', 'graph-fps', 'graph-rtt'].map(id => {
                const c = document.getElementById(id);
                const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let inked = 0;
                for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
                return c.width > 0 && inked > 500;
             });",
        )
        .await;
    assert_eq!(drawn, serde_json::json!([true, true, true]), "graphs drawn");

    browser.client.set_window_size(1280, 1700).await.unwrap();
    if let Ok(png) = browser.client.screenshot().await {
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-call.png");
        let _ = std::fs::write(&out, png);
        println!("screenshot of the call: {}", out.display());
    }

    click(&browser, "hangup-btn").await;
    assert_eq!(buttons(&browser).await, states(true, false, false));
    let cleared = browser
        .eval(
            "return !document.getElementById('localStream').srcObject
                && !document.getElementById('remoteStream').srcObject;",
        )
        .await;
    assert_eq!(cleared, Value::Bool(true));

    // Self-contained: the favicon is served, and nothing came from another origin.
    let favicon = browser
        .eval("return fetch(document.querySelector('link[rel=icon]').href).then(r => r.status);")
        .await;
    assert_eq!(favicon, serde_json::json!(200));
    let foreign = browser
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)
                .filter(n => !n.startsWith(location.origin));",
        )
        .await;
    assert_eq!(foreign, serde_json::json!([]));

    browser.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_videos_sit_side_by_side_on_a_wide_screen_and_stack_on_a_phone() {
    let server = Server::start(&dist()).await;
    let browser = Browser::launch().await;
    browser.client.goto(&server.url).await.expect("page loads");
    let layout = |expected: &str| {
        format!(
            "const [a, b] = [...document.querySelectorAll('.videos figure')]
                .map(f => f.getBoundingClientRect());
             const seen = b.top >= a.bottom ? 'stacked' : (a.top === b.top ? 'side by side' : 'other');
             return seen === '{expected}';"
        )
    };
    // A window resize reaches the page asynchronously: wait for the layout to follow.
    browser.client.set_window_size(1280, 900).await.unwrap();
    browser
        .wait_for("side by side", SECONDS_10, &layout("side by side"))
        .await;
    browser.client.set_window_size(390, 844).await.unwrap();
    browser
        .wait_for("stacked on a phone", SECONDS_10, &layout("stacked"))
        .await;
    browser.close().await;
}
