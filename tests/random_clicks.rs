//! Random clicking: hundreds of clicks on Start, Call and HangUp at random moments, with the page
//! checked after every one of them. A failure prints its seed and its moves; build with
//! `RANDOM_CLICKS_SEED=<seed>` to play the same moves again.
#![cfg(target_arch = "wasm32")]

mod page;

use js_sys::{Array, Function};
use page::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::MediaStreamTrackState;

wasm_bindgen_test_configure!(run_in_browser);

/// A seed to replay, fixed at build time; without one every run draws its own.
const REPLAY_SEED: Option<&str> = option_env!("RANDOM_CLICKS_SEED");
/// Clicks per run (a forced double click counts two).
const CLICKS: usize = 500;
/// "Within a moment": how long a page that says idle may take to have let go of everything.
const MOMENT_MS: u32 = 500;

const BUTTONS: [(&str, &str); 3] = [("start-btn", "S"), ("call-btn", "C"), ("hangup-btn", "H")];

/// splitmix64: small, seedable, and the same sequence in every browser.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Collects every `console.error`, uncaught error and unhandled rejection from now on (a panic
/// reaches `console.error` through the panic hook).
fn watch_errors() -> Array {
    Function::new_no_args(
        "if (!window.__errors) {
            const errors = window.__errors = [];
            const native = console.error;
            console.error = function (...args) {
                errors.push(args.map(String).join(' '));
                return native.apply(this, args);
            };
            addEventListener('error', e => errors.push('uncaught: ' + e.message));
            addEventListener('unhandledrejection', e =>
                errors.push('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)));
        }
        window.__errors.length = 0;
        return window.__errors;",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .unchecked_into()
}

/// Local streams with a live track: the camera the page holds.
fn live_streams(media: &RecordingMedia) -> usize {
    media
        .streams
        .borrow()
        .iter()
        .filter(|s| {
            s.get_tracks().iter().any(|t| {
                t.unchecked_into::<web_sys::MediaStreamTrack>()
                    .ready_state()
                    != MediaStreamTrackState::Ended
            })
        })
        .count()
}

/// What the page must be after any click; `Err` says what it is instead.
async fn check(
    f: &Fixture,
    media: &RecordingMedia,
    peers: &Array,
    errors: &Array,
) -> Result<(), String> {
    if errors.length() > 0 {
        return Err(format!("console errors: {:?}", errors.to_vec()));
    }
    let (streams, open) = (live_streams(media), open_peers(peers));
    if streams > 1 {
        return Err(format!("{streams} local streams alive at once"));
    }
    if open > 2 {
        return Err(format!("{open} peers open: more than one call"));
    }
    let buttons = f.buttons();
    // Asking for the camera shows the same buttons as a call: only HangUp.
    if ![IDLE, READY, IN_CALL].contains(&buttons) {
        return Err(format!("buttons (Start, Call, HangUp) = {buttons:?}"));
    }
    if buttons != IDLE {
        return Ok(());
    }
    let mut waited = 0;
    while open_peers(peers) > 0 || media.live_tracks() > 0 {
        if waited >= MOMENT_MS {
            return Err(format!(
                "the buttons say idle, yet after {MOMENT_MS} ms {} peers are open and {} tracks live",
                open_peers(peers),
                media.live_tracks()
            ));
        }
        sleep(20).await;
        waited += 20;
    }
    if f.video("localStream").src_object().is_some()
        || f.video("remoteStream").src_object().is_some()
    {
        return Err("the buttons say idle, yet a video still shows a stream".into());
    }
    Ok(())
}

#[wasm_bindgen_test]
async fn random_clicks_never_hold_two_streams_or_two_calls_and_leave_nothing_behind() {
    let seed = REPLAY_SEED
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64);
    console_log!("random clicks: seed {seed}; replay with RANDOM_CLICKS_SEED={seed}");
    let errors = watch_errors();
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let mut rng = Rng(seed);
    let mut moves: Vec<String> = Vec::with_capacity(2 * CLICKS);
    let fail = |what: String, moves: &[String]| -> ! {
        panic!(
            "{what}\nseed {seed} (replay: RANDOM_CLICKS_SEED={seed}), after {} moves \
             (S/C/H a click, SS a forced double click, wN a wait of N ms, c the wait for a \
             connected call):\n{}",
            moves.len(),
            moves.join(" ")
        )
    };

    let mut clicks = 0;
    while clicks < CLICKS {
        let (id, name) = BUTTONS[rng.below(3) as usize];
        f.click(id);
        clicks += 1;
        if rng.below(100) < 15 {
            // A double click whose second click lands before the first could disable anything.
            f.button(id).set_disabled(false);
            f.click(id);
            clicks += 1;
            moves.push(format!("{name}{name}"));
        } else {
            moves.push(name.to_owned());
        }
        if let Err(what) = check(&f, &media, &peers, &errors).await {
            fail(what, &moves);
        }
        // The pause before the next click: none (the same tick), a zero timeout, 1-400 ms, or,
        // now and then, until a call is connected, so HangUp also meets live calls.
        match rng.below(100) {
            0..=24 => {}
            25..=39 => {
                sleep(0).await;
                moves.push("w0".into());
            }
            40..=96 => {
                let ms = 1 + rng.below(400) as i32;
                sleep(ms).await;
                moves.push(format!("w{ms}"));
            }
            _ => {
                if let Some((local, remote)) = f.app().peers() {
                    let mut waited = 0;
                    while waited < 5_000
                        && (state(&local) != "connected" || state(&remote) != "connected")
                    {
                        sleep(20).await;
                        waited += 20;
                    }
                    moves.push("c".into());
                }
            }
        }
    }
    console_log!("random clicks: {clicks} clicks in {} moves", moves.len());

    // And the page still makes a normal call.
    if f.buttons() != IDLE {
        f.click("hangup-btn");
    }
    f.start().await;
    f.click("call-btn");
    connected(&f).await;
    let video = f.video("remoteStream");
    wait_for("decoded remote frames", 10_000, || {
        video.video_width() > 0 && f.logged("Setup time: ") == 1
    })
    .await;
    f.click("hangup-btn");
    assert_released(&f, &media, &peers).await;
    if errors.length() > 0 {
        fail(format!("console errors: {:?}", errors.to_vec()), &moves);
    }
}
