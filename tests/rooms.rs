//! Two pages in a room, in a real browser: one in this document and one beside it (in a shadow
//! root), each with its own app, calling each other. The test server has no signaling, so they find each other between
//! tabs (`BroadcastChannel`), as pages served by any static host do.
#![cfg(target_arch = "wasm32")]

mod page;

use loopback_rtc::address::{fresh_room, Mode};
use loopback_rtc::Error;
use page::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A room of its own for each test: 128 random bits, as the page draws them.
fn room() -> Mode {
    let mut random = [0u8; 16];
    web_sys::window()
        .unwrap()
        .crypto()
        .unwrap()
        .get_random_values_with_u8_array(&mut random)
        .unwrap();
    Mode::Room {
        room: fresh_room(random),
        relay_only: false,
    }
}

/// Both pages' calls connected, and each page's remote video showing the other's camera.
async fn both_playing(a: &Fixture, b: &Fixture) {
    for (name, f) in [("the first page", a), ("the second page", b)] {
        wait_for(&format!("{name}'s call to connect"), 15_000, || {
            f.app()
                .room_peer()
                .is_some_and(|p| state(&p) == "connected")
        })
        .await;
        let video = f.video("remoteStream");
        // Both cleared at every hang-up: a size and a setup time mean this call's frames.
        wait_for(&format!("{name} to show the other's video"), 10_000, || {
            video.video_width() > 0 && !video.paused() && f.status().starts_with("Setup time: ")
        })
        .await;
    }
}

/// Start and Call on both pages; returns once both play.
async fn call(a: &Fixture, b: &Fixture) {
    a.start().await;
    b.start().await;
    a.click("call-btn");
    wait_for("the first page to wait for the other", 5_000, || {
        a.status().contains("waiting for the other person")
    })
    .await;
    b.click("call-btn");
    both_playing(a, b).await;
}

#[wasm_bindgen_test]
async fn two_pages_in_a_room_call_each_other_and_hang_up() {
    let peers = record_peers();
    let mode = room();
    let (media_a, media_b) = (RecordingMedia::default(), RecordingMedia::default());
    let a = Fixture::with_mode(media_a.clone(), mode.clone());
    let b = Fixture::beside(media_b.clone(), mode);
    call(&a, &b).await;
    for f in [&a, &b] {
        for step in [
            "signaling between tabs",
            "the other person joined: this page's peer is the ",
            "sent the ",
            "received the ",
            "local peer connection: connected",
            "first remote frame decoded",
        ] {
            assert!(f.logged(step) >= 1, "missing {step:?} in {:?}", f.log());
        }
    }
    // One page is polite and the other not.
    assert_eq!(
        a.logged("is the polite one") + b.logged("is the polite one"),
        1,
        "{:?} {:?}",
        a.log(),
        b.log()
    );

    a.click("hangup-btn");
    wait_for("the second page to hear that the first left", 5_000, || {
        b.buttons() == READY
    })
    .await;
    assert!(
        b.status().starts_with("The other person left."),
        "{}",
        b.status()
    );
    assert!(b.app().room_peer().is_none());
    assert!(b.video("remoteStream").src_object().is_none());
    assert_eq!(
        media_b.live_tracks(),
        2,
        "the camera stays on to call again"
    );
    assert_released(&a, &media_a, &peers).await;

    b.click("hangup-btn");
    assert_eq!(open_peers(&peers), 0);
    assert_eq!(media_b.live_tracks(), 0);
}

#[wasm_bindgen_test]
async fn a_third_page_is_told_the_room_is_full() {
    let mode = room();
    let a = Fixture::with_mode(RecordingMedia::default(), mode.clone());
    let b = Fixture::beside(RecordingMedia::default(), mode.clone());
    call(&a, &b).await;
    let c = Fixture::beside(RecordingMedia::default(), mode);
    c.start().await;
    c.click("call-btn");
    wait_for("the third page to be told", 5_000, || c.buttons() == READY).await;
    assert_eq!(c.status(), Error::RoomFull.to_string());
    assert!(c.app().room_peer().is_none());
    // The two in the room are undisturbed.
    for f in [&a, &b] {
        assert_eq!(
            f.app().room_peer().map(|p| state(&p)).as_deref(),
            Some("connected")
        );
    }
}

#[wasm_bindgen_test]
async fn hanging_up_at_any_moment_frees_the_other_page_to_call_again() {
    let peers = record_peers();
    let mode = room();
    let (media_a, media_b) = (RecordingMedia::default(), RecordingMedia::default());
    let a = Fixture::with_mode(media_a.clone(), mode.clone());
    let b = Fixture::beside(media_b.clone(), mode);
    b.start().await;
    for moment in ["waiting", "negotiating", "connected"] {
        a.start().await;
        a.click("call-btn");
        if moment != "waiting" {
            b.click("call-btn");
        }
        match moment {
            "waiting" => {
                wait_for("the first page to wait", 5_000, || {
                    a.status().contains("waiting for the other person")
                })
                .await
            }
            "negotiating" => {
                wait_for("the peers to start negotiating", 5_000, || {
                    a.app().room_peer().is_some()
                })
                .await
            }
            _ => both_playing(&a, &b).await,
        }
        a.click("hangup-btn");
        if moment != "waiting" {
            wait_for(
                &format!("the other page to be freed ({moment})"),
                5_000,
                || b.buttons() == READY && b.app().room_peer().is_none(),
            )
            .await;
        } else {
            assert_eq!(b.buttons(), READY);
        }
        assert_released(&a, &media_a, &peers).await;
        assert_eq!(open_peers(&peers), 0, "{moment}: every peer closed");
    }
    // And after all that, a full call still works.
    a.start().await;
    a.click("call-btn");
    b.click("call-btn");
    both_playing(&a, &b).await;
    b.click("hangup-btn");
    a.click("hangup-btn");
    assert_eq!(open_peers(&peers), 0);
}

#[wasm_bindgen_test]
async fn a_room_name_someone_could_guess_is_called_so() {
    let typed = Mode::Room {
        room: loopback_signal::RoomName::try_from("family-call".to_owned()).unwrap(),
        relay_only: false,
    };
    let text = |f: &Fixture| {
        f.element_by_id("room-text")
            .text_content()
            .unwrap_or_default()
    };
    let plain = Fixture::with_mode(RecordingMedia::default(), typed);
    assert!(text(&plain).contains("can be guessed"), "{}", text(&plain));
    drop(plain);
    let fresh = Fixture::with_mode(RecordingMedia::default(), room());
    assert!(!text(&fresh).contains("guessed"), "{}", text(&fresh));
}
