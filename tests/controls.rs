//! The call's controls in a real browser, each judged by its effect on what the other peer gets:
//! the codec in use, the bitrate sent, the frame size received, silence and black frames, a
//! chat line that arrives, a new ICE username fragment, a switched device's track.
#![cfg(target_arch = "wasm32")]

mod page;

use js_sys::{Array, Function, Promise, Reflect};
use page::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Event, HtmlInputElement, HtmlSelectElement, MediaStreamTrack, RtcPeerConnection, RtcRtpSender,
};

wasm_bindgen_test_configure!(run_in_browser);

fn select(f: &Fixture, id: &str) -> HtmlSelectElement {
    f.element_by_id(id).dyn_into().unwrap()
}

fn input(f: &Fixture, id: &str) -> HtmlInputElement {
    f.element_by_id(id).dyn_into().unwrap()
}

/// Chooses the option `value` as a person would: the select changes, then says so.
fn choose(f: &Fixture, id: &str, value: &str) {
    let select = select(f, id);
    select.set_value(value);
    assert_eq!(select.value(), value, "#{id} has an option {value:?}");
    select
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
}

/// The value of the first option of `id` whose label starts with `label`.
fn option_labelled(f: &Fixture, id: &str, label: &str) -> Option<String> {
    let select = select(f, id);
    (0..select.length())
        .filter_map(|i| select.item(i))
        .find(|o| o.text_content().unwrap_or_default().starts_with(label))
        .map(|o| o.get_attribute("value").unwrap_or_default())
}

fn pressed(f: &Fixture, id: &str) -> bool {
    f.element_by_id(id).get_attribute("aria-pressed").as_deref() == Some("true")
}

/// The first entry of `pc.getStats()` of `type_` for `kind` ("video", "audio"), with its codec's
/// `mimeType` copied in as `codec`.
async fn report(pc: &RtcPeerConnection, type_: &str, kind: &str) -> JsValue {
    let find = Function::new_with_args(
        "pc, type, kind",
        "return pc.getStats().then(stats => {
            let found = null;
            stats.forEach(r => { if (!found && r.type === type && r.kind === kind) found = r; });
            if (!found) return null;
            const copy = Object.assign({}, found);
            const codec = found.codecId && stats.get(found.codecId);
            copy.codec = codec ? codec.mimeType : null;
            return copy;
        })",
    );
    let promise: Promise = find
        .call3(&JsValue::NULL, pc, &type_.into(), &kind.into())
        .unwrap()
        .unchecked_into();
    JsFuture::from(promise).await.unwrap()
}

fn number(value: &JsValue, key: &str) -> f64 {
    Reflect::get(value, &key.into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

fn text(value: &JsValue, key: &str) -> String {
    Reflect::get(value, &key.into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Polls an async condition every 200 ms until it holds, or fails with `what`.
async fn eventually<F, Fut>(what: &str, timeout_ms: u32, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut waited = 0;
    while !check().await {
        assert!(
            waited < timeout_ms,
            "timed out after {timeout_ms} ms: {what}"
        );
        sleep(200).await;
        waited += 200;
    }
}

/// kbit/s of video the local peer sent over `ms`, from `bytesSent`.
async fn sent_kbps(local: &RtcPeerConnection, ms: i32) -> f64 {
    let before = report(local, "outbound-rtp", "video").await;
    sleep(ms).await;
    let after = report(local, "outbound-rtp", "video").await;
    let bytes = number(&after, "bytesSent") - number(&before, "bytesSent");
    let seconds = (number(&after, "timestamp") - number(&before, "timestamp")) / 1000.0;
    bytes * 8.0 / 1000.0 / seconds
}

/// The remote peer's received audio energy over `ms`.
async fn audio_energy(remote: &RtcPeerConnection, ms: i32) -> f64 {
    let before = report(remote, "inbound-rtp", "audio").await;
    sleep(ms).await;
    let after = report(remote, "inbound-rtp", "audio").await;
    number(&after, "totalAudioEnergy") - number(&before, "totalAudioEnergy")
}

/// The mean brightness (0–255) of the remote video's current frame.
fn remote_brightness(f: &Fixture) -> f64 {
    Function::new_with_args(
        "video",
        "const c = document.createElement('canvas');
        c.width = 64; c.height = 48;
        const g = c.getContext('2d');
        g.drawImage(video, 0, 0, 64, 48);
        const d = g.getImageData(0, 0, 64, 48).data;
        let sum = 0;
        for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
        return sum / (d.length / 4) / 3;",
    )
    .call1(&JsValue::NULL, &f.video("remoteStream"))
    .unwrap()
    .as_f64()
    .unwrap()
}

/// Frames the remote peer has decoded so far.
async fn frames_decoded(remote: &RtcPeerConnection) -> f64 {
    number(
        &report(remote, "inbound-rtp", "video").await,
        "framesDecoded",
    )
}

async fn assert_video_keeps_playing(remote: &RtcPeerConnection) {
    let before = frames_decoded(remote).await;
    eventually("the remote peer to decode more frames", 5_000, || async {
        frames_decoded(remote).await > before + 5.0
    })
    .await;
}

/// The video sender of the local peer.
fn video_sender(local: &RtcPeerConnection) -> RtcRtpSender {
    sender(local, "video")
}

/// The local peer's sender of `kind` ("audio", "video").
fn sender(local: &RtcPeerConnection, kind: &str) -> RtcRtpSender {
    local
        .get_senders()
        .iter()
        .map(|s| s.unchecked_into::<RtcRtpSender>())
        .find(|s| s.track().is_some_and(|t| t.kind() == kind))
        .unwrap_or_else(|| panic!("a {kind} sender"))
}

/// Start, Call, connected, first frame shown.
async fn in_call(f: &Fixture) -> (RtcPeerConnection, RtcPeerConnection) {
    f.start().await;
    f.click("call-btn");
    let peers = connected(f).await;
    let video = f.video("remoteStream");
    f.wait("the first remote frame", 10_000, || video.video_width() > 0)
        .await;
    peers
}

fn local_ufrag(pc: &RtcPeerConnection) -> String {
    let sdp = pc.local_description().unwrap().sdp();
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .to_owned()
}

#[wasm_bindgen_test]
async fn every_control_is_named_and_enabled_only_when_it_can_act() {
    let f = Fixture::new(RecordingMedia::default());
    // An accessible name for each: its text, or the label around it, or aria-label.
    for id in [
        "camera-select",
        "mic-select",
        "resolution-select",
        "codec-select",
        "bitrate-input",
        "bitrate-btn",
        "mute-btn",
        "camera-btn",
        "share-btn",
        "restart-ice-btn",
        "chat-input",
        "chat-send",
        "ping-btn",
        "file-input",
        "file-to",
    ] {
        let element = f.element_by_id(id);
        // A button is named by its text; a select or an input by a label or `aria-label` (a
        // select's own text is its options', which names nothing).
        let labelled = if element.tag_name() == "BUTTON" {
            !element.text_content().unwrap_or_default().trim().is_empty()
        } else {
            element.closest("label").unwrap().is_some()
                || element.has_attribute("aria-label")
                || f.root()
                    .query_selector(&format!("label[for='{id}']"))
                    .unwrap()
                    .is_some()
        };
        assert!(labelled, "#{id} has no accessible name");
    }
    let enabled = |id: &str| !f.element_by_id(id).has_attribute("disabled");
    let tools = [
        "resolution-select",
        "mute-btn",
        "camera-btn",
        "share-btn",
        "restart-ice-btn",
        "chat-send",
        "ping-btn",
        "file-input",
    ];
    // Idle: the pickers and the settings for the next call only.
    assert!(enabled("camera-select") && enabled("codec-select") && enabled("bitrate-btn"));
    assert!(tools.iter().all(|id| !enabled(id)), "idle");
    let (local, _) = in_call(&f).await;
    assert!(enabled("mute-btn") && enabled("camera-btn") && enabled("share-btn"));
    assert!(enabled("restart-ice-btn") && enabled("resolution-select"));
    f.wait("the data channel to open", 5_000, || enabled("chat-send"))
        .await;
    assert!(enabled("ping-btn"));
    f.wait("the file channel to open", 5_000, || enabled("file-input"))
        .await;
    assert!(!pressed(&f, "mute-btn"));
    f.click("hangup-btn");
    assert_eq!(state(&local), "closed");
    assert!(tools.iter().all(|id| !enabled(id)), "after HangUp");
}

#[wasm_bindgen_test]
async fn a_chat_line_arrives_with_its_text_and_a_ping_comes_back() {
    let f = Fixture::new(RecordingMedia::default());
    in_call(&f).await;
    let send = f.button("chat-send");
    f.wait("the data channel to open", 5_000, || !send.disabled())
        .await;
    let chat = || {
        let items = f.root().query_selector_all("#chat-log li").unwrap();
        (0..items.length())
            .filter_map(|i| items.item(i)?.text_content())
            .collect::<Vec<_>>()
    };
    // An empty line is refused with a message, not sent.
    f.click("chat-send");
    assert!(f.status().contains("Type a message"), "{}", f.status());
    input(&f, "chat-input").set_value("  hello, peer ✓  ");
    f.click("chat-send");
    assert_eq!(
        input(&f, "chat-input").value(),
        "",
        "the input empties once sent"
    );
    f.wait("the remote peer to receive the line", 5_000, || {
        chat()
            .iter()
            .any(|l| l.starts_with("remote peer received “hello, peer ✓” after "))
    })
    .await;
    f.wait("the receipt", 5_000, || {
        chat()
            .iter()
            .any(|l| l.starts_with("local peer sent “hello, peer ✓” · delivered, receipt after "))
    })
    .await;
    assert_eq!(chat().len(), 2, "{:?}", chat());
    // From the keyboard: Enter in the input sends.
    let field = input(&f, "chat-input");
    field.set_value("by keyboard");
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    let enter =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    field.dispatch_event(&enter).unwrap();
    f.wait("the line sent with Enter", 5_000, || {
        chat()
            .iter()
            .any(|l| l.starts_with("remote peer received “by keyboard”"))
    })
    .await;
    f.click("ping-btn");
    let result = f.element_by_id("ping-result");
    f.wait("the pong", 5_000, || {
        result
            .text_content()
            .unwrap_or_default()
            .starts_with("Round trip over the data channel: ")
    })
    .await;
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn the_chosen_codec_is_the_one_in_use_before_and_during_a_call() {
    let f = Fixture::new(RecordingMedia::default());
    let vp9 = option_labelled(&f, "codec-select", "VP9").expect("VP9 is offered");
    let vp8 = option_labelled(&f, "codec-select", "VP8").expect("VP8 is offered");
    choose(&f, "codec-select", &vp9);
    let (local, _) = in_call(&f).await;
    eventually("VP9 to be sent", 10_000, || async {
        report(&local, "outbound-rtp", "video").await.is_object()
            && text(&report(&local, "outbound-rtp", "video").await, "codec") == "video/VP9"
    })
    .await;
    // During the call: a renegotiation, and the new codec in use.
    choose(&f, "codec-select", &vp8);
    eventually("VP8 to be sent after the renegotiation", 10_000, || async {
        text(&report(&local, "outbound-rtp", "video").await, "codec") == "video/VP8"
    })
    .await;
    assert!(f.logged("renegotiates: the video codec changed") >= 1);
    f.wait("the panel to show it", 5_000, || {
        stat("video-codec").starts_with("video/VP8")
    })
    .await;
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn the_bitrate_cap_holds_the_video_sent_below_it() {
    let f = Fixture::new(RecordingMedia::default());
    // Out of range: refused with a message, nothing applied.
    input(&f, "bitrate-input").set_value("5");
    f.click("bitrate-btn");
    assert!(
        f.status().contains("between 30 and 20000"),
        "{}",
        f.status()
    );
    let (local, _) = in_call(&f).await;
    let cap = 60.0;
    // Without a cap the fake camera sends more than it: the test can fail.
    eventually("the uncapped video to exceed the cap", 15_000, || async {
        sent_kbps(&local, 1_000).await > cap * 1.5
    })
    .await;
    input(&f, "bitrate-input").set_value("60");
    f.click("bitrate-btn");
    let sender = video_sender(&local);
    let max_bitrate = || {
        let parameters = Function::new_with_args("s", "return s.getParameters()")
            .call1(&JsValue::NULL, &sender)
            .unwrap();
        let encodings: Array = Reflect::get(&parameters, &"encodings".into())
            .unwrap()
            .unchecked_into();
        number(&encodings.get(0), "maxBitrate")
    };
    // setParameters settles asynchronously; Firefox shows the new value once it has.
    f.wait("the sender to carry the cap", 5_000, || {
        max_bitrate() == 60_000.0
    })
    .await;
    eventually("the video sent to fall below the cap", 15_000, || async {
        sent_kbps(&local, 1_500).await < cap * 1.25
    })
    .await;
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn the_received_frame_size_follows_the_resolution_preset() {
    let f = Fixture::new(RecordingMedia::default());
    in_call(&f).await;
    let video = f.video("remoteStream");
    // The presets' values are their indexes: 1 is 320×240, 0 is 320×180. Small ones: an
    // encoder may scale a larger picture down while its bitrate ramps up (Firefox does).
    let (local, _) = f.app().peers().unwrap();
    let camera_size = || {
        let settings = video_sender(&local).track().unwrap().get_settings();
        (
            number(&settings, "width") as u32,
            number(&settings, "height") as u32,
        )
    };
    for (preset, size) in [("1", (320, 240)), ("0", (320, 180))] {
        choose(&f, "resolution-select", preset);
        // The camera itself delivers the preset (an encoder scaling down would not), and the
        // remote peer receives that size.
        f.wait(
            &format!("a {size:?} camera and remote video"),
            10_000,
            || camera_size() == size && (video.video_width(), video.video_height()) == size,
        )
        .await;
    }
    // Live where the camera can (Chromium), else by opening it again (Firefox's fake camera).
    assert!(f.logged("320×240 at 30 fps") >= 1, "{:?}", f.log());
    // A preset the camera cannot do: a plain message, and the picker keeps the one in use.
    Function::new_no_args(
        "window.__applyConstraints = MediaStreamTrack.prototype.applyConstraints;
        MediaStreamTrack.prototype.applyConstraints = () =>
            Promise.reject(Object.assign(new DOMException('', 'OverconstrainedError'), { constraint: 'width' }));",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    choose(&f, "resolution-select", "4");
    f.wait("the refusal", 5_000, || {
        f.status()
            .contains("cannot deliver 1920×1080 at 30 fps (its width is out of reach)")
    })
    .await;
    Function::new_no_args(
        "MediaStreamTrack.prototype.applyConstraints = window.__applyConstraints;",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    assert_eq!(
        select(&f, "resolution-select").value(),
        "0",
        "the preset in use"
    );
    assert_eq!(camera_size(), (320, 180));
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn mute_silences_the_remote_side_and_camera_off_blacks_it_out() {
    let f = Fixture::new(RecordingMedia::default());
    let (_, remote) = in_call(&f).await;
    let mut sound = 0.0;
    for _ in 0..10 {
        sound = audio_energy(&remote, 1_200).await;
        if sound > 1e-3 {
            break;
        }
    }
    assert!(sound > 1e-3, "no sound arrived: {sound}");
    f.click("mute-btn");
    assert!(pressed(&f, "mute-btn"));
    // Audio in flight drains, then nothing but silence.
    sleep(500).await;
    // Silence: the decoder's comfort noise is some 10⁻⁹ of the sound's energy.
    let silent = |energy: f64| energy < sound * 1e-4;
    let mut muted = sound;
    for _ in 0..10 {
        muted = audio_energy(&remote, 1_200).await;
        if silent(muted) {
            break;
        }
    }
    assert!(silent(muted), "silence: {muted} after {sound}");
    f.click("mute-btn");
    assert!(!pressed(&f, "mute-btn"));
    eventually("sound again", 10_000, || async {
        audio_energy(&remote, 1_200).await > sound * 0.1
    })
    .await;

    f.wait("a picture", 5_000, || remote_brightness(&f) > 20.0)
        .await;
    f.click("camera-btn");
    assert!(pressed(&f, "camera-btn"));
    f.wait("black frames", 10_000, || remote_brightness(&f) < 2.0)
        .await;
    f.click("camera-btn");
    f.wait("the picture back", 10_000, || remote_brightness(&f) > 20.0)
        .await;
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn screen_sharing_replaces_the_camera_and_gives_it_back() {
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let (local, remote) = in_call(&f).await;
    let video = f.video("remoteStream");
    // The camera is 4:3, the test's screen a 16:9 canvas; an encoder may scale either down.
    let aspect = || f64::from(video.video_width()) / f64::from(video.video_height().max(1));
    let is_screen = || (aspect() - 16.0 / 9.0).abs() < 0.05;
    let is_camera = || (aspect() - 4.0 / 3.0).abs() < 0.05;
    assert!(is_camera(), "{}", aspect());
    let camera = video_sender(&local).track().unwrap();
    f.click("share-btn");
    f.wait("the screen at the remote side", 10_000, is_screen)
        .await;
    assert!(pressed(&f, "share-btn"));
    assert!(
        f.button("camera-btn").disabled(),
        "no camera toggle while sharing"
    );
    let screen = video_sender(&local).track().unwrap();
    assert_ne!(screen.id(), camera.id());
    assert_eq!(camera.ready_state(), web_sys::MediaStreamTrackState::Live);
    // Stopped with the button: the camera comes back.
    f.click("share-btn");
    f.wait("the camera at the remote side again", 10_000, is_camera)
        .await;
    assert_eq!(screen.ready_state(), web_sys::MediaStreamTrackState::Ended);
    assert_eq!(video_sender(&local).track().unwrap().id(), camera.id());
    assert!(!pressed(&f, "share-btn"));

    // Stopped by the browser's own "stop sharing", which ends the track.
    f.click("share-btn");
    f.wait("the screen again", 10_000, is_screen).await;
    let screen = video_sender(&local).track().unwrap();
    screen
        .dispatch_event(&Event::new("ended").unwrap())
        .unwrap();
    f.wait(
        "the camera back after the browser stopped sharing",
        10_000,
        is_camera,
    )
    .await;
    assert!(!pressed(&f, "share-btn"));
    assert_eq!(state(&remote), "connected");
    assert_video_keeps_playing(&remote).await;
    f.click("hangup-btn");
    assert_eq!(media.live_tracks(), 0, "the screen and the camera stopped");
}

#[wasm_bindgen_test]
async fn ice_restart_brings_new_credentials_and_the_video_keeps_playing() {
    let f = Fixture::new(RecordingMedia::default());
    let (local, remote) = in_call(&f).await;
    let (before_local, before_remote) = (local_ufrag(&local), local_ufrag(&remote));
    let handed = f.logged("local peer handed ");
    f.click("restart-ice-btn");
    f.wait("new ICE credentials on both peers", 10_000, || {
        local_ufrag(&local) != before_local && local_ufrag(&remote) != before_remote
    })
    .await;
    f.wait("new candidates", 10_000, || {
        f.logged("local peer handed ") > handed
    })
    .await;
    assert!(f.logged("local peer restarts ICE: asked for on the page") == 1);
    // Firefox may pass through `connecting` while it checks the new candidates (seen once in
    // CI): the call must be connected on them, and play.
    f.wait("the call connected after the restart", 10_000, || {
        state(&local) == "connected"
    })
    .await;
    assert_video_keeps_playing(&remote).await;
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn a_device_switch_keeps_the_call_with_the_new_track() {
    let media = RecordingMedia::default();
    let f = Fixture::new(media.clone());
    let (local, remote) = in_call(&f).await;
    let old = video_sender(&local).track().unwrap();
    // The last camera listed: another one where there are several, else the same by its id,
    // which opens it anew all the same.
    let cameras = select(&f, "camera-select");
    assert!(cameras.length() > 1, "the cameras are listed");
    let last = cameras.item(cameras.length() - 1).unwrap();
    let id = last.get_attribute("value").unwrap();
    choose(&f, "camera-select", &id);
    f.wait("the new camera's track in the call", 10_000, || {
        video_sender(&local)
            .track()
            .is_some_and(|t| t.id() != old.id())
    })
    .await;
    let new = video_sender(&local).track().unwrap();
    assert_eq!(new.ready_state(), web_sys::MediaStreamTrackState::Live);
    let stream: web_sys::MediaStream = f.video("localStream").src_object().unwrap();
    let ids: Vec<String> = stream
        .get_tracks()
        .iter()
        .map(|t| {
            let t: MediaStreamTrack = t.unchecked_into();
            format!("{} {:?}", t.id(), t.ready_state())
        })
        .collect();
    assert_eq!(
        old.ready_state(),
        web_sys::MediaStreamTrackState::Ended,
        "old {} new {} stream {ids:?} log {:?}",
        old.id(),
        new.id(),
        f.log()
    );
    let settings = new.get_settings();
    assert_eq!(text(&settings, "deviceId"), id);
    assert_eq!(
        (state(&local), state(&remote)),
        ("connected".into(), "connected".into())
    );
    assert_video_keeps_playing(&remote).await;
    assert_eq!(media.live_tracks(), 2, "one camera and one microphone live");

    // That camera goes away: the page falls back to the default one and says so.
    let stream: web_sys::MediaStream = f.video("localStream").src_object().unwrap();
    let held: MediaStreamTrack = stream.get_video_tracks().get(0).unchecked_into();
    assert_eq!(held.id(), new.id());
    // What the browser does when a device is unplugged (Firefox hears no event on a track the
    // page has stopped itself).
    held.dispatch_event(&Event::new("ended").unwrap()).unwrap();
    let fell_back = || {
        video_sender(&local)
            .track()
            .is_some_and(|t: MediaStreamTrack| {
                t.id() != new.id() && t.ready_state() == web_sys::MediaStreamTrackState::Live
            })
    };
    for _ in 0..50 {
        if fell_back() {
            break;
        }
        sleep(200).await;
    }
    assert!(fell_back(), "the default camera in the call: {:?}", f.log());
    assert_eq!(held.ready_state(), web_sys::MediaStreamTrackState::Ended);
    assert!(f.status().contains("went away"), "{}", f.status());
    assert_eq!(cameras.value(), "", "the picker shows the default");
    assert_video_keeps_playing(&remote).await;

    // The microphone, untouched by the switches, still has its watch: it goes away too.
    let microphone: MediaStreamTrack = stream.get_audio_tracks().get(0).unchecked_into();
    microphone
        .dispatch_event(&Event::new("ended").unwrap())
        .unwrap();
    f.wait("a new microphone in the call", 10_000, || {
        sender(&local, "audio").track().is_some_and(|t| {
            t.id() != microphone.id() && t.ready_state() == web_sys::MediaStreamTrackState::Live
        })
    })
    .await;
    assert_eq!(media.live_tracks(), 2, "one camera and one microphone live");
    f.click("hangup-btn");
    assert_eq!(media.live_tracks(), 0);
}

#[wasm_bindgen_test]
async fn the_speaker_picker_plays_the_remote_video_on_the_chosen_output() {
    let f = Fixture::new(RecordingMedia::default());
    in_call(&f).await;
    let speakers = select(&f, "speaker-select");
    let field = f.element_by_id("speaker-field");
    let can_choose = Reflect::has(
        &Reflect::get(&js_sys::global(), &"HTMLMediaElement".into())
            .and_then(|c| Reflect::get(&c, &"prototype".into()))
            .unwrap(),
        &"setSinkId".into(),
    )
    .unwrap();
    // Shown where outputs are listed and setSinkId exists: Chromium's fake devices include
    // outputs; Firefox lists none to a page by default.
    // What the browser lists, asked here, not read off the page.
    let listing: Promise = Function::new_no_args(
        "return navigator.mediaDevices.enumerateDevices().then(list => list.filter(d =>
            d.kind === 'audiooutput' && d.deviceId && d.deviceId !== 'default').length);",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .unchecked_into();
    let outputs = JsFuture::from(listing).await.unwrap().as_f64().unwrap() as u32;
    f.wait("the picker to list every output", 5_000, || {
        speakers.length() == outputs + 1
            && field.has_attribute("hidden") != (can_choose && outputs > 0)
    })
    .await;
    if !field.has_attribute("hidden") {
        let id = speakers
            .item(speakers.length() - 1)
            .unwrap()
            .get_attribute("value")
            .unwrap();
        choose(&f, "speaker-select", &id);
        let video = f.video("remoteStream");
        f.wait("the remote video on the chosen output", 5_000, || {
            text(&video, "sinkId") == id
        })
        .await;
    }
    f.click("hangup-btn");
}

#[wasm_bindgen_test]
async fn the_pickers_follow_the_devices_plugged_in() {
    let f = Fixture::new(RecordingMedia::default());
    f.start().await;
    let cameras = select(&f, "camera-select");
    f.wait("the cameras listed", 5_000, || cameras.length() > 1)
        .await;
    let listed = cameras.length();
    // A camera is plugged in: the browser lists one more and says `devicechange`.
    Function::new_no_args(
        "const devices = navigator.mediaDevices;
        const list = devices.enumerateDevices.bind(devices);
        devices.enumerateDevices = async () => [...await list(), {
            kind: 'videoinput', deviceId: 'plugged-in', label: 'USB camera', groupId: 'usb',
        }];
        devices.dispatchEvent(new Event('devicechange'));",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    f.wait("the new camera in the picker", 5_000, || {
        cameras.length() == listed + 1
            && option_labelled(&f, "camera-select", "USB camera").as_deref() == Some("plugged-in")
    })
    .await;
    // And unplugged: gone again, the choice back to the default if it was chosen.
    Function::new_no_args(
        "const devices = navigator.mediaDevices;
        delete devices.enumerateDevices;
        devices.dispatchEvent(new Event('devicechange'));",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    f.wait("the camera gone from the picker", 5_000, || {
        cameras.length() == listed
    })
    .await;
    f.click("hangup-btn");
}
