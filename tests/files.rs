//! Files over the data channel, on the release build in real browsers: a 64 MiB file of random
//! bytes arrives with the same SHA-256 (hashed here by the browser's own SubtleCrypto, not by
//! the page), in the page's own call in Chromium and Firefox and from Chromium to Firefox
//! through the server; a chat line sent meanwhile arrives within a second; an offer refused,
//! a file cancelled by either side and a call that ends mid-way leave nothing behind.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};
use support::files::{
    offer, press, received, remove_received, saved_hash, state, wait_state, KEEP_BLOBS, MIB,
};
use support::room::{call, logs, room_url, Side};
use support::{dist, Browser, Engine, Server};

/// The page's wasm memory, in bytes.
async fn wasm_memory(side: &Side<'_>) -> f64 {
    side.eval("return window.wasmBindings.wasm_memory_bytes();")
        .await
        .as_f64()
        .unwrap_or(0.0)
}

/// `sender` offers 64 MiB, `receiver` accepts; returns once both say it arrived whole, checking
/// the saved file's hash, the throughput, the wasm memory, and a chat line sent meanwhile.
async fn sixty_four_mib(sender: &Side<'_>, receiver: &Side<'_>, chat: Option<&str>) {
    let size = 64 * MIB;
    let memory_before = wasm_memory(receiver).await.max(wasm_memory(sender).await);
    let sent = offer(sender, "random.bin", size, "drop").await;
    wait_state(receiver, "in", &["offered"], Duration::from_secs(10)).await;
    let (_, asked, _) = state(receiver, "in").await;
    assert_eq!(asked, "64.0 MiB: save it?", "{}", receiver.name);
    press(receiver, "in", "accept").await;
    let start = Instant::now();
    if let Some(line) = chat {
        wait_for_bytes(receiver, 4 * MIB).await;
        chat_during_transfer(sender, line).await;
    }
    let mut memory_most = 0.0f64;
    loop {
        memory_most = memory_most
            .max(wasm_memory(receiver).await)
            .max(wasm_memory(sender).await);
        let (now, figures, _) = state(receiver, "in").await;
        if now == "done" {
            break;
        }
        assert!(
            ["receiving", "checking"].contains(&now.as_str()),
            "{}: {now}: {figures}\n{}",
            receiver.name,
            logs(sender, receiver).await
        );
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "64 MiB took over 3 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = start.elapsed();
    wait_state(sender, "out", &["done"], Duration::from_secs(10)).await;
    let saved = saved_hash(receiver).await;
    assert_eq!(
        saved,
        format!("{sent} {size} random.bin"),
        "the file saved is the file sent"
    );
    let (_, figures, link) = state(receiver, "in").await;
    assert!(link && figures.contains(&sent), "{figures}");
    let (_, sender_figures, _) = state(sender, "out").await;
    let mbit = size as f64 * 8.0 / took.as_secs_f64() / 1e6;
    println!(
        "{} → {}: 64 MiB in {took:.2?} ({mbit:.0} Mbit/s as the test saw it); wasm memory {:.1} MiB before, {:.1} MiB at most; sender: {sender_figures}",
        sender.name,
        receiver.name,
        memory_before / MIB as f64,
        memory_most / MIB as f64,
    );
    // A file is never in wasm memory: one read (1 MiB) and one chunk at a time. The heap may
    // grow for the page's own life, never by the file's size.
    assert!(
        memory_most - memory_before < 8.0 * MIB as f64,
        "wasm memory grew from {memory_before} to {memory_most} bytes for a 64 MiB file"
    );
}

async fn wait_for_bytes(side: &Side<'_>, bytes: u64) {
    let script = format!(
        "const rows = document.querySelectorAll('#transfers li[data-direction=in]');
         const row = rows[rows.length - 1];
         return row.dataset.state !== 'receiving' || row.querySelector('progress').value >= {bytes};"
    );
    side.wait_for_within("bytes to arrive", Duration::from_secs(60), &script)
        .await;
}

/// A chat line sent while the file flows: its receipt comes back within a second.
async fn chat_during_transfer(side: &Side<'_>, line: &str) {
    let (before, _, _) = state(side, "out").await;
    side.eval(&format!(
        "document.getElementById('chat-input').value = {line:?};
         document.getElementById('chat-send').click();"
    ))
    .await;
    let receipt = format!(
        "const line = [...document.querySelectorAll('#chat-log li')]
             .find(l => l.textContent.includes({line:?}) && l.textContent.includes('receipt after'));
         return line ? line.textContent : null;"
    );
    side.wait_for_within(
        "the chat line's receipt",
        Duration::from_secs(5),
        &receipt.replace("line ? line.textContent : null", "!!line"),
    )
    .await;
    let text = side.eval(&receipt).await;
    let text = text.as_str().unwrap_or_default();
    let ms: f64 = text
        .rsplit("receipt after ")
        .next()
        .and_then(|t| t.trim_end_matches(" ms").parse().ok())
        .unwrap_or(f64::MAX);
    let (during, _, _) = state(side, "out").await;
    println!(
        "{}: chat during the transfer ({before} → {during}): {text}",
        side.name
    );
    assert!(
        ms < 1000.0,
        "{}: a chat line took {ms} ms to come back during a transfer: {text}",
        side.name
    );
    assert_eq!(before, "sending", "the line went while the file did");
}

/// Cancelled by `by` (its row `direction`) once bytes flow: both rows say so, nothing is saved.
async fn cancelled_mid_way(sender: &Side<'_>, receiver: &Side<'_>, by_sender: bool) {
    offer(sender, "cancelled.bin", 64 * MIB, "picker").await;
    wait_state(receiver, "in", &["offered"], Duration::from_secs(10)).await;
    press(receiver, "in", "accept").await;
    wait_for_bytes(receiver, 2 * MIB).await;
    let (by, direction) = if by_sender {
        (sender, "out")
    } else {
        (receiver, "in")
    };
    press(by, direction, "cancel").await;
    for (side, direction) in [(sender, "out"), (receiver, "in")] {
        wait_state(side, direction, &["cancelled"], Duration::from_secs(10)).await;
    }
    let got = received(receiver).await;
    assert!(
        got < (64 * MIB) as f64,
        "cancelled after the whole file: {got}"
    );
    let (_, theirs, link) = state(receiver, "in").await;
    assert!(!link, "a cancelled file offers no link");
    let (_, mine, _) = state(sender, "out").await;
    if by_sender {
        assert_eq!(mine, "You cancelled it.");
        assert_eq!(theirs, "The sender cancelled it: nothing was kept.");
    } else {
        assert_eq!(theirs, "You cancelled it: nothing was kept.");
        assert!(mine.ends_with(" cancelled it."), "{mine}");
    }
    println!(
        "cancelled by the {}: after {got} bytes",
        if by_sender { "sender" } else { "receiver" }
    );
}

async fn refused(sender: &Side<'_>, receiver: &Side<'_>) {
    offer(sender, "refused.bin", MIB, "picker").await;
    wait_state(receiver, "in", &["offered"], Duration::from_secs(10)).await;
    press(receiver, "in", "refuse").await;
    wait_state(sender, "out", &["refused"], Duration::from_secs(10)).await;
    let (_, mine, _) = state(sender, "out").await;
    assert!(mine.ends_with("refused it."), "{mine}");
    let (theirs, text, link) = state(receiver, "in").await;
    assert_eq!(
        (theirs.as_str(), text.as_str(), link),
        ("refused", "You refused it.", false)
    );
    assert_eq!(received(receiver).await, 0.0, "not a byte came");
}

/// The page's own call: Start, Call, and the file channel open.
async fn loopback(engine: Engine) {
    let server = Server::start(&dist()).await;
    let browser = Browser::launch(engine).await;
    let page = Side::of(&browser, engine.name().to_owned()).await;
    page.open(&server.url).await;
    page.eval(KEEP_BLOBS).await;
    page.click("call-btn").await;
    page.wait_for(
        "the file channel",
        "return !document.getElementById('file-input').disabled;",
    )
    .await;
    sixty_four_mib(&page, &page, Some("hello during a file")).await;
    refused(&page, &page).await;
    // The controls as they stand now, for the README (`docs/files.png` is this picture).
    if let Ok(tools) = browser.client.find(fantoccini::Locator::Id("tools")).await {
        if let Ok(png) = tools.screenshot().await {
            let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("files-{}.png", engine.name().to_lowercase()));
            let _ = std::fs::write(&out, png);
            println!("screenshot of the files: {}", out.display());
        }
    }
    // The file received is let go of with its row (moved last, after the refused one).
    let rows = "return document.querySelectorAll('#transfers li').length;";
    let before = page.eval(rows).await.as_u64().unwrap_or(0);
    page.eval(
        "const row = document.querySelector('#transfers li[data-direction=in] a[download]').closest('li');
         row.parentNode.appendChild(row);",
    )
    .await;
    remove_received(&page).await;
    assert_eq!(
        page.eval(rows).await.as_u64(),
        Some(before - 1),
        "one row fewer"
    );
    cancelled_mid_way(&page, &page, true).await;
    cancelled_mid_way(&page, &page, false).await;
    // HangUp in the middle: the call ends, and so does the file, on both ends.
    offer(&page, "hung-up.bin", 64 * MIB, "picker").await;
    wait_state(&page, "in", &["offered"], Duration::from_secs(10)).await;
    press(&page, "in", "accept").await;
    wait_for_bytes(&page, 2 * MIB).await;
    page.click("hangup-btn").await;
    for direction in ["out", "in"] {
        wait_state(&page, direction, &["lost"], Duration::from_secs(10)).await;
    }
    let (_, text, link) = state(&page, "in").await;
    assert_eq!(
        (text.as_str(), link),
        (
            "The call ended before the file was through: nothing was kept.",
            false
        )
    );
    browser.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn chromium_sends_files_to_itself() {
    loopback(Engine::Chromium).await;
}

#[tokio::test(flavor = "current_thread")]
async fn firefox_sends_files_to_itself() {
    loopback(Engine::Firefox).await;
}

/// Chromium sends to Firefox through the server; the call then ends in the middle of a file.
#[tokio::test(flavor = "current_thread")]
async fn chromium_sends_a_file_to_firefox() {
    let server = Server::start(&dist()).await;
    let (one, two) = (
        Browser::launch(Engine::Chromium).await,
        Browser::launch(Engine::Firefox).await,
    );
    let a = Side::of(&one, "Chromium".to_owned()).await;
    let b = Side::of(&two, "Firefox".to_owned()).await;
    call(&a, &b, &room_url(&server.url, "")).await;
    for side in [&a, &b] {
        side.eval(KEEP_BLOBS).await;
        side.wait_for(
            "the file channel",
            "return !document.getElementById('file-input').disabled;",
        )
        .await;
    }
    sixty_four_mib(&a, &b, Some("hello from Chromium during a file")).await;
    // And back, cancelled by the receiver.
    cancelled_mid_way(&b, &a, false).await;
    // The sender leaves in the middle of a file: the receiver keeps nothing and says so.
    offer(&a, "left.bin", 64 * MIB, "picker").await;
    wait_state(&b, "in", &["offered"], Duration::from_secs(10)).await;
    press(&b, "in", "accept").await;
    wait_for_bytes(&b, 2 * MIB).await;
    a.click("hangup-btn").await;
    wait_state(&b, "in", &["lost"], Duration::from_secs(15)).await;
    let (_, text, link) = state(&b, "in").await;
    assert!(
        !link && text.ends_with("before the file was through: nothing was kept."),
        "{text}"
    );
    wait_state(&a, "out", &["lost"], Duration::from_secs(5)).await;
    one.close().await;
    two.close().await;
}
