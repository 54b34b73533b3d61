//! A group call as people make it: each page named, joining in turn, its tiles and what each of
//! its calls decodes read from the page.

use super::room::Side;
use serde_json::Value;
use std::time::{Duration, Instant};

/// `side`'s tiles of other people: how many there are, and whether every one plays.
pub fn tiles_playing(count: usize) -> String {
    format!(
        "const tiles = [...document.querySelectorAll('.videos figure[data-peer]')]
             .filter(f => !f.hidden);
         return tiles.length === {count} && tiles.every(f => {{
             const v = f.querySelector('video');
             return v.videoWidth > 0 && !v.paused && v.currentTime > 0.2;
         }});"
    )
}

/// The names on `side`'s tiles, as text, sorted: each caption without the call's state that may
/// follow it (" · reconnecting…" while a call on a loaded machine misses a beat).
pub async fn captions(side: &Side<'_>) -> Vec<String> {
    let value = side
        .eval(
            "return [...document.querySelectorAll('.videos figure[data-peer]')]
                .filter(f => !f.hidden).map(f => f.querySelector('figcaption').textContent);",
        )
        .await;
    let mut captions: Vec<String> = value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|caption| caption.split(" · ").next().unwrap_or(caption).to_owned())
                .collect()
        })
        .unwrap_or_default();
    captions.sort();
    captions
}

/// Frames decoded by each of `side`'s calls over `over`, per second, lowest first: what arrived
/// from each other person, read from the receiving peers' own stats.
pub async fn fps_per_call(side: &Side<'_>, over: Duration) -> Vec<f64> {
    let frames = |value: &Value| -> Vec<f64> {
        value
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["frames"].as_f64().unwrap_or(0.0))
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = frames(&side.eval("return __calls.each();").await);
    tokio::time::sleep(over).await;
    let after = frames(&side.eval("return __calls.each();").await);
    let mut fps: Vec<f64> = after
        .iter()
        .zip(before.iter().chain(std::iter::repeat(&0.0)))
        .map(|(a, b)| (a - b) / over.as_secs_f64())
        .collect();
    fps.sort_by(f64::total_cmp);
    fps
}

/// Types `name` as `side`'s name in the room.
pub async fn set_name(side: &Side<'_>, name: &str) {
    side.eval(&format!(
        "const input = document.getElementById('name-input');
         input.value = {name:?};
         input.dispatchEvent(new Event('change'));"
    ))
    .await;
}

/// `side` presses Call and plays the `others` already there; returns how long that took.
pub async fn join(side: &Side<'_>, others: usize) -> Duration {
    let start = Instant::now();
    side.click("call-btn").await;
    if others == 0 {
        side.wait_for(
            "the room to be joined",
            "return document.getElementById('status').textContent.includes('waiting for the other person');",
        )
        .await;
    } else {
        side.wait_for_within(
            &format!("{others} tiles playing"),
            Duration::from_secs(90),
            &tiles_playing(others),
        )
        .await;
    }
    start.elapsed()
}

/// The script part that finds, as `figure`, `side`'s tile of the person named `name` (its caption
/// starts with the name; a state may follow).
fn tile_of(name: &str) -> String {
    format!(
        "const figure = [...document.querySelectorAll('.videos figure[data-peer]')]
             .find(f => !f.hidden && f.querySelector('figcaption').textContent.startsWith({name:?}));"
    )
}

/// Video frames `side` has decoded so far from the person named `name`: from the stats of the
/// peer whose tracks their tile plays. `None` while there is no such tile or call.
pub async fn frames_from(side: &Side<'_>, name: &str) -> Option<f64> {
    side.eval(&format!(
        "{} return figure ? __calls.framesFor(figure.querySelector('video')) : null;",
        tile_of(name)
    ))
    .await
    .as_f64()
}

/// Whether `side`'s tile of the person named `name` is there and marked as reconnecting.
pub async fn tile_reconnecting(side: &Side<'_>, name: &str) -> Option<bool> {
    side.eval(&format!(
        "{} return figure ? figure.hasAttribute('data-reconnecting') : null;",
        tile_of(name)
    ))
    .await
    .as_bool()
}

/// `side`'s table of people: each row's name and its figures by column (`bitrate`, `fps`,
/// `loss`, `rtt`, `path`).
pub async fn people(side: &Side<'_>) -> Vec<(String, Value)> {
    let rows = side
        .eval(
            "return [...document.querySelectorAll('#people-rows tr')].map(r => [
                 r.querySelector('th').textContent,
                 Object.fromEntries([...r.querySelectorAll('td')]
                     .map(c => [c.dataset.col, c.textContent]))]);",
        )
        .await;
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| (r[0].as_str().unwrap_or_default().to_owned(), r[1].clone()))
                .collect()
        })
        .unwrap_or_default()
}
