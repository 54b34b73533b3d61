//! The page in a real browser: calls, hang-ups at awkward moments, and every getUserMedia failure.
#![cfg(target_arch = "wasm32")]

mod page;

use js_sys::{Function, Reflect};
use loopback_rtc::media::UserMedia;
use loopback_rtc::Error;
use page::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn start_is_enabled_once_the_app_is_mounted() {
    let f = Fixture::new(RecordingMedia::default());
    assert_eq!(f.buttons(), IDLE);
    assert!(f.status().contains("Press Start"), "{}", f.status());
}

#[wasm_bindgen_test]
async fn full_call_connects_plays_and_hangs_up_cleanly() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());

    f.start().await;
    assert_eq!(f.buttons(), READY);
    assert!(f.video("localStream").src_object().is_some());
    assert!(
        f.video("localStream").muted(),
        "no echo of your own microphone"
    );
    assert_eq!(f.logged("local stream obtained: "), 1, "{:?}", f.log());
    assert_eq!(media.live_tracks(), 2, "one audio and one video track");

    f.click("call-btn");
    assert_eq!(f.buttons(), IN_CALL);
    let (local, remote) = connected(&f).await;
    let video = f.video("remoteStream");
    wait_for("decoded remote frames", 10_000, || {
        video.video_width() > 0 && f.logged("Setup time: ") == 1
    })
    .await;
    assert!(video.src_object().is_some());
    assert!(f.status().starts_with("Setup time: "), "{}", f.status());

    let log = f.log();
    for step in [
        "local peer created the offer and set it as its local description",
        "remote peer set the offer as its remote description",
        "remote peer created the answer and set it as its local description",
        "local peer set the answer as its remote description",
        "local peer handed ",
        "remote peer handed ",
        "local peer ICE connection: connected",
        "remote peer ICE connection: connected",
        "local peer connection: connected",
        "remote peer connection: connected",
        "remote video size: ",
        "first remote frame decoded",
    ] {
        assert!(
            log.iter().any(|l| l.contains(step)),
            "missing step {step:?} in {log:?}"
        );
    }
    assert_eq!(f.logged("remote peer received the "), 2, "{log:?}");
    assert_eq!(
        f.logged("remote stream received"),
        1,
        "set once, not per track"
    );
    assert_eq!(peers.length(), 2);

    f.click("hangup-btn");
    assert_eq!(state(&local), "closed");
    assert_eq!(state(&remote), "closed");
    assert_released(&f, &media, &peers).await;
    assert_eq!(f.status(), "Hung up. Press Start to begin again.");
}

#[wasm_bindgen_test]
async fn hang_up_in_the_same_tick_as_call() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    f.start().await;
    f.click("call-btn");
    f.click("hangup-btn");
    assert_eq!(peers.length(), 2);
    assert_released(&f, &media, &peers).await;
    assert_eq!(f.logged("created the offer"), 0, "{:?}", f.log());
}

/// Holds every answer from now on (`setLocalDescription()` on a peer that has the remote
/// offer) until `gate.open()`, which also puts the method back.
fn hold_answers() -> JsValue {
    Function::new_no_args(
        "const proto = window.RTCPeerConnection.prototype;
        const own = Object.getOwnPropertyDescriptor(proto, 'setLocalDescription');
        const native = proto.setLocalDescription;
        const held = [];
        proto.setLocalDescription = function (...args) {
            if (this.signalingState !== 'have-remote-offer') return native.apply(this, args);
            return new Promise((resolve, reject) =>
                held.push(() => native.apply(this, args).then(resolve, reject)));
        };
        return {
            held: () => held.length,
            open: () => {
                if (own) Object.defineProperty(proto, 'setLocalDescription', own);
                else delete proto.setLocalDescription;
                held.splice(0).forEach(release => release());
            },
        };",
    )
    .call0(&JsValue::NULL)
    .unwrap()
}

fn call_method(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &name.into())
        .unwrap()
        .unchecked_into::<Function>()
        .call0(target)
        .unwrap()
}

#[wasm_bindgen_test]
async fn hang_up_in_the_middle_of_the_offer_answer() {
    let peers = record_peers();
    let gate = hold_answers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    f.start().await;
    f.click("call-btn");
    wait_for("the answer to be under way", 5_000, || {
        call_method(&gate, "held").as_f64() == Some(1.0)
    })
    .await;
    assert_eq!(
        f.logged("remote peer set the offer as its remote description"),
        1
    );
    f.click("hangup-btn");
    // The held answer now runs on a closed peer and fails: nobody may act on that.
    call_method(&gate, "open");
    assert_released(&f, &media, &peers).await;
    assert_eq!(f.logged("created the answer"), 0, "{:?}", f.log());
    assert_eq!(f.status(), "Hung up. Press Start to begin again.");
}

#[wasm_bindgen_test]
async fn hang_up_while_the_camera_is_being_asked_for() {
    let media = RecordingMedia::default();
    let peers = record_peers();
    let f = Fixture::new(media.clone());
    f.click("start-btn");
    assert_eq!(f.buttons(), (false, false, true));
    f.click("hangup-btn");
    // The stream arrives after the HangUp: it must be stopped, not shown.
    wait_for("the late stream", 5_000, || {
        media.streams.borrow().len() == 1
    })
    .await;
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn racing_clicks_open_one_stream_and_one_call() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    // A double click: the second lands before the first has disabled anything visible to it.
    f.click("start-btn");
    f.button("start-btn").set_disabled(false);
    f.click("start-btn");
    wait_for("Call to be enabled", 5_000, || f.buttons().1).await;
    assert_eq!(media.requests.get(), 1, "one camera request");
    f.click("call-btn");
    f.button("call-btn").set_disabled(false);
    f.click("call-btn");
    f.button("start-btn").set_disabled(false);
    f.click("start-btn");
    assert_eq!(peers.length(), 2, "one call");
    assert_eq!(media.requests.get(), 1);
    f.click("hangup-btn");
    f.click("hangup-btn");
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn twenty_cycles_leave_nothing_open() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    for cycle in 0..20 {
        f.start().await;
        f.click("call-btn");
        // Hang up at different moments: at once, soon after the offer, and once connected.
        match cycle % 3 {
            0 => {}
            1 => {
                wait_for("the offer", 5_000, || f.logged("created the offer") == 1).await;
            }
            _ => {
                connected(&f).await;
            }
        }
        f.click("hangup-btn");
        assert_eq!(f.buttons(), IDLE);
    }
    assert_eq!(media.requests.get(), 20);
    assert_eq!(media.streams.borrow().len(), 20);
    assert_eq!(peers.length(), 40);
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn each_getusermedia_failure_shows_its_message() {
    for name in [
        "NotAllowedError",
        "NotFoundError",
        "NotReadableError",
        "OverconstrainedError",
        "AbortError",
        "SecurityError",
        "TypeError",
    ] {
        let f = Fixture::new(FailingMedia(name));
        f.click("start-btn");
        wait_for("Start to come back", 5_000, || f.buttons().0).await;
        let expected = Error::from_name(name, "injected by the test").to_string();
        assert_eq!(f.status(), expected, "for {name}");
        let status = document().get_element_by_id("status").unwrap();
        assert_eq!(status.class_name(), "error");
        assert_eq!(f.buttons(), IDLE, "for {name}");
        assert!(f.video("localStream").src_object().is_none());
    }
}

#[wasm_bindgen_test]
async fn a_page_without_media_devices_says_to_use_a_secure_origin() {
    let navigator = web_sys::window().unwrap().navigator();
    let hide = Function::new_with_args(
        "n",
        "Object.defineProperty(n, 'mediaDevices', { value: undefined, configurable: true })",
    );
    hide.call1(&JsValue::NULL, &navigator).unwrap();
    let f = Fixture::new(UserMedia);
    f.click("start-btn");
    wait_for("Start to come back", 5_000, || f.buttons().0).await;
    // Own property removed: the prototype's getter shows through again.
    Reflect::delete_property(&navigator, &"mediaDevices".into()).unwrap();
    assert_eq!(f.status(), Error::InsecureContext.to_string());
}

#[wasm_bindgen_test]
async fn a_browser_without_webrtc_is_told_so() {
    let window = web_sys::window().unwrap();
    let native = Reflect::get(&window, &"RTCPeerConnection".into()).unwrap();
    Reflect::set(&window, &"RTCPeerConnection".into(), &JsValue::UNDEFINED).unwrap();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let on_mount = f.status();
    f.start().await;
    f.click("call-btn");
    let on_call = f.status();
    Reflect::set(&window, &"RTCPeerConnection".into(), &native).unwrap();
    assert_eq!(on_mount, Error::NoWebRtc.to_string());
    assert_eq!(on_call, Error::NoWebRtc.to_string());
    assert_eq!(
        f.buttons(),
        READY,
        "the camera stays on; Call may be tried again"
    );
    f.click("hangup-btn");
    assert_eq!(media.live_tracks(), 0);
}

/// Counts every callback of every `setInterval` the page starts from now on.
fn count_interval_callbacks() -> JsValue {
    Function::new_no_args(
        "if (!window.__intervals) {
            window.__intervals = { fired: 0 };
            const native = window.setInterval;
            window.setInterval = function (callback, ms, ...rest) {
                return native.call(window, function (...args) {
                    window.__intervals.fired++;
                    return callback.apply(this, args);
                }, ms, ...rest);
            };
        }
        window.__intervals.fired = 0;
        return window.__intervals;",
    )
    .call0(&JsValue::NULL)
    .unwrap()
}

fn fired(counter: &JsValue) -> f64 {
    Reflect::get(counter, &"fired".into())
        .unwrap()
        .as_f64()
        .unwrap()
}

/// The first number in a cell ("640×480 / …" → 640), if any.
fn leading_number(text: &str) -> Option<f64> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}

#[wasm_bindgen_test]
async fn the_stats_panel_fills_during_a_call_and_stops_at_hang_up() {
    let ticks = count_interval_callbacks();
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let panel = document().get_element_by_id("stats").unwrap();
    assert!(panel.has_attribute("hidden"), "no panel before a call");

    f.start().await;
    f.click("call-btn");
    connected(&f).await;
    assert!(!panel.has_attribute("hidden"), "the panel opens on connect");
    wait_for("the panel to fill", 3_000, || {
        leading_number(&stat("video-fps")).is_some_and(|fps| fps > 0.0)
            && leading_number(&stat("video-bitrate")).is_some_and(|kbps| kbps > 0.0)
            && stat("video-codec").starts_with("video/")
            && stat("pair-local") != "–"
            && stat("pair-remote") != "–"
    })
    .await;
    assert!(
        stat("audio-codec").starts_with("audio/"),
        "{}",
        stat("audio-codec")
    );
    assert_eq!(stat("dtls"), "connected");
    assert!(stat("rtt").ends_with(" ms"), "{}", stat("rtt"));
    wait_for("the setup time", 5_000, || stat("timing-setup") != "–").await;
    for key in ["timing-ice", "timing-dtls", "video-size"] {
        assert_ne!(stat(key), "–", "{key}");
    }
    assert!(fired(&ticks) >= 1.0, "the panel reads on an interval");

    f.click("hangup-btn");
    let after_hang_up = fired(&ticks);
    let shown = stat("video-bitrate");
    sleep(2_500).await;
    assert_eq!(
        fired(&ticks),
        after_hang_up,
        "a stats timer fired after HangUp"
    );
    assert_eq!(
        stat("video-bitrate"),
        shown,
        "the figures stay as the call left them"
    );
    assert_released(&f, &media, &peers).await;
}

#[wasm_bindgen_test]
async fn a_failing_negotiation_step_is_shown_and_the_call_torn_down() {
    let peers = record_peers();
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    f.start().await;
    let proto: js_sys::Object = Reflect::get(
        &Reflect::get(&web_sys::window().unwrap(), &"RTCPeerConnection".into()).unwrap(),
        &"prototype".into(),
    )
    .unwrap()
    .unchecked_into();
    // Making the answer fails; everything else works.
    let failing = Function::new_with_args(
        "native",
        "return function (...args) {
            if (this.signalingState !== 'have-remote-offer') return native.apply(this, args);
            return Promise.reject(new DOMException('injected by the test', 'OperationError'));
        };",
    )
    .call1(
        &JsValue::NULL,
        &Reflect::get(&proto, &"setLocalDescription".into()).unwrap(),
    )
    .unwrap();
    Reflect::set(&proto, &"setLocalDescription".into(), &failing).unwrap();
    f.click("call-btn");
    wait_for("the failure", 5_000, || f.buttons() == READY).await;
    // Own property removed: the native method shows through again.
    Reflect::delete_property(&proto, &"setLocalDescription".into()).unwrap();

    assert_eq!(
        f.status(),
        "Create and set the answer failed: injected by the test"
    );
    assert_eq!(open_peers(&peers), 0, "the failed call's peers are closed");
    assert!(f.app().peers().is_none());
    assert_eq!(
        media.live_tracks(),
        2,
        "the camera stays on for another try"
    );
    assert_eq!(
        f.logged("call torn down: Create and set the answer failed"),
        1,
        "{:?}",
        f.log()
    );

    // And the next Call works.
    f.click("call-btn");
    connected(&f).await;
    f.click("hangup-btn");
    assert_released(&f, &media, &peers).await;
}
