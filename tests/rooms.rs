//! Pages in a room, in a real browser: one in this document and the others beside it (in shadow
//! roots), each with its own app, calling each other: two, and three in a group call. The test server has no signaling, so they find each other between
//! tabs (`BroadcastChannel`), as pages served by any static host do.
#![cfg(target_arch = "wasm32")]

mod page;

use loopback_rtc::address::{fresh_room, Mode};
use loopback_rtc::Error;
use page::*;
use wasm_bindgen::JsCast;
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
        // A call of two looks as the tutorial's: the other video is "Remote", no table of people.
        let caption = f
            .root()
            .query_selector("#remoteStream + figcaption")
            .unwrap();
        assert_eq!(
            caption.and_then(|c| c.text_content()).as_deref(),
            Some("Remote")
        );
        assert!(people(f).is_none());
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

/// The tiles of other people under `f`'s page: how many show, and whether each plays.
fn tiles(f: &Fixture) -> (usize, bool) {
    let list = f
        .root()
        .query_selector_all(".videos figure[data-peer]")
        .unwrap();
    let shown: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into::<web_sys::HtmlElement>())
        .filter(|f| !f.hidden())
        .collect();
    let playing = shown.iter().all(|figure| {
        let video: web_sys::HtmlVideoElement = figure
            .query_selector("video")
            .unwrap()
            .unwrap()
            .unchecked_into();
        video.video_width() > 0 && !video.paused()
    });
    (shown.len(), playing)
}

/// The chat lines `f`'s page shows.
fn chat(f: &Fixture) -> Vec<String> {
    let list = f.root().query_selector_all("#chat-log li").unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.text_content())
        .collect()
}

/// A row of the table of people under `f`'s page: the name, the figures, whether it is chosen.
struct Row {
    name: String,
    cells: Vec<String>,
    chosen: bool,
}

/// The table of people under `f`'s page, if it shows.
fn people(f: &Fixture) -> Option<Vec<Row>> {
    let table: web_sys::HtmlElement = f.element_by_id("people").unchecked_into();
    if table.hidden() {
        return None;
    }
    let list = table.query_selector_all("tbody tr").unwrap();
    let rows = (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into::<web_sys::Element>())
        .map(|row| {
            let cells = row.query_selector_all("td").unwrap();
            Row {
                name: row
                    .query_selector("th button")
                    .unwrap()
                    .and_then(|b| b.text_content())
                    .unwrap_or_default(),
                cells: (0..cells.length())
                    .filter_map(|i| cells.item(i)?.text_content())
                    .collect(),
                chosen: row.has_attribute("data-chosen"),
            }
        })
        .collect();
    Some(rows)
}

/// The first number in `text` ("812 / 640 kbit/s" → 812), or 0.
fn number(text: &str) -> f64 {
    text.split(|c: char| !c.is_ascii_digit() && c != '.')
        .find(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0)
}

/// Every page plays the `others` with a call each, connected.
async fn all_playing(pages: &[&Fixture], others: usize) {
    for (n, f) in pages.iter().enumerate() {
        wait_for(&format!("page {n} to play {others} others"), 20_000, || {
            let peers = f.app().room_peers();
            peers.len() == others
                && peers.iter().all(|(_, p)| state(p) == "connected")
                && tiles(f) == (others, true)
        })
        .await;
    }
}

#[wasm_bindgen_test]
async fn three_pages_in_one_room_each_play_the_other_two() {
    let peers = record_peers();
    let mode = room();
    let a = Fixture::with_mode(RecordingMedia::default(), mode.clone());
    let b = Fixture::beside(RecordingMedia::default(), mode.clone());
    let c = Fixture::beside(RecordingMedia::default(), mode);
    for f in [&a, &b, &c] {
        f.start().await;
    }
    a.click("call-btn");
    wait_for("the first page to wait for the others", 5_000, || {
        a.status().contains("waiting for the other person")
    })
    .await;
    b.click("call-btn");
    c.click("call-btn");
    all_playing(&[&a, &b, &c], 2).await;
    // Three pairs, each with one polite end and one impolite.
    let count = |needle: &str| a.logged(needle) + b.logged(needle) + c.logged(needle);
    assert_eq!(count("is the polite one"), 3, "{:?}", a.log());
    assert_eq!(count("is the impolite one"), 3, "{:?}", a.log());
    // Each page sends its camera twice, and splits its upload between the two.
    for f in [&a, &b, &c] {
        assert!(
            f.logged(
                "2 calls share this page's upload of 4000 kbit/s: each sends at most 2000 kbit/s"
            ) >= 1,
            "{:?}",
            f.log()
        );
    }

    // The stats panel has a row per person, each with the figures of that person's call.
    for (n, f) in [&a, &b, &c].into_iter().enumerate() {
        wait_for(
            &format!("page {n}'s table of people to fill"),
            10_000,
            || {
                people(f).is_some_and(|rows| {
                    rows.len() == 2
                        && rows.iter().all(|r| {
                            let received = r.cells[0].split(" / ").nth(1).map_or(0.0, number);
                            r.name.starts_with("Tab ")
                                && received > 0.0
                                && number(&r.cells[1]) > 0.0
                                && r.cells[4].starts_with("direct: host")
                        })
                })
            },
        )
        .await;
        let rows = people(f).unwrap_or_default();
        assert_eq!(rows.iter().filter(|r| r.chosen).count(), 1, "one chosen");
        assert_ne!(rows[0].name, rows[1].name, "two different people");
    }
    // Picking the other row makes it the one the panel shows, with its tile.
    let chosen = |f: &Fixture| people(f).unwrap_or_default().iter().position(|r| r.chosen);
    let other = 1 - chosen(&a).unwrap_or(0);
    let buttons = a
        .root()
        .query_selector_all("#people-rows th button")
        .unwrap();
    let pick: web_sys::HtmlElement = buttons.item(other as u32).unwrap().unchecked_into();
    pick.click();
    assert_eq!(chosen(&a), Some(other), "the row picked is the one chosen");
    let chosen_tiles = a
        .root()
        .query_selector_all(".videos figure[data-chosen]")
        .unwrap()
        .length();
    assert_eq!(chosen_tiles, 1, "its tile is marked too");

    // A chat line goes to both others, with who said it (a tab is known by its seat).
    wait_for("the data channels", 10_000, || {
        !a.button("chat-send").disabled()
    })
    .await;
    let input: web_sys::HtmlInputElement = a.element_by_id("chat-input").unchecked_into();
    input.set_value("hello, both of you");
    a.click("chat-send");
    for f in [&b, &c] {
        let arrived = |f: &Fixture| {
            chat(f)
                .iter()
                .any(|l| l.starts_with("Tab ") && l.ends_with(": hello, both of you"))
        };
        for _ in 0..50 {
            if arrived(f) {
                break;
            }
            sleep(100).await;
        }
        assert!(
            arrived(f),
            "{:?} {:?} {:?} {:?}",
            chat(f),
            chat(&a),
            f.log()
                .iter()
                .filter(|l| l.contains("channel"))
                .collect::<Vec<_>>(),
            a.log()
                .iter()
                .filter(|l| l.contains("channel"))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(chat(&a).len(), 1, "shown once where it was sent");

    // A name set during the call reaches the other tabs, shown as text, never as markup.
    let input: web_sys::HtmlInputElement = b.element_by_id("name-input").unchecked_into();
    input.set_value("Bo <i>two</i>");
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    for f in [&a, &c] {
        wait_for("the new name on the other tabs", 5_000, || {
            let captions = f.root().query_selector_all(".videos figcaption").unwrap();
            let captioned = (0..captions.length())
                .filter_map(|i| captions.item(i)?.text_content())
                .any(|t| t.starts_with("Bo <i>two</i>"));
            let listed =
                people(f).is_some_and(|rows| rows.iter().any(|r| r.name == "Bo <i>two</i>"));
            captioned && listed
        })
        .await;
        let markup = f
            .root()
            .query_selector_all(".videos figcaption i, #people i")
            .unwrap();
        assert_eq!(markup.length(), 0, "a name is never HTML");
    }
    // The name is kept in the page's storage for the next visit; not for the next test.
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.remove_item("loopback-rtc name");
    }

    // One leaves: the other two go on with each other.
    c.click("hangup-btn");
    all_playing(&[&a, &b], 1).await;
    for f in [&a, &b] {
        assert!(people(f).is_none(), "a call of two has no table of people");
        assert!(
            !f.status().starts_with("The other person left."),
            "{}",
            f.status()
        );
        assert!(f.logged(" left the room") >= 1, "{:?}", f.log());
    }
    // …and comes back.
    c.start().await;
    c.click("call-btn");
    all_playing(&[&a, &b, &c], 2).await;
    for f in [&a, &b, &c] {
        f.click("hangup-btn");
    }
    assert_eq!(open_peers(&peers), 0);
}

#[wasm_bindgen_test]
async fn a_page_that_finds_every_seat_taken_is_told_the_room_is_full() {
    let mode = room();
    let Mode::Room { room: name, .. } = &mode else {
        unreachable!()
    };
    // Someone holds all six seats (as six tabs would): the Web Locks the tabs take seats with.
    let take = js_sys::Function::new_with_args(
        "room",
        "window.__seats = [];
         return Promise.all([0, 1, 2, 3, 4, 5].map(k => new Promise(taken =>
             navigator.locks.request(`loopback-rtc room ${room} seat ${k}`, {ifAvailable: true},
                 lock => { taken(!!lock); return lock ? new Promise(r => window.__seats.push(r)) : null; }))));",
    );
    let taken = take
        .call1(&wasm_bindgen::JsValue::NULL, &name.as_str().into())
        .unwrap();
    let taken = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(taken))
        .await
        .unwrap();
    assert!(js_sys::Array::from(&taken).every(&mut |t, _, _| t.is_truthy()));
    let a = Fixture::with_mode(RecordingMedia::default(), mode.clone());
    a.start().await;
    a.click("call-btn");
    wait_for("the page to be told", 5_000, || a.buttons() == READY).await;
    assert_eq!(a.status(), Error::RoomFull.to_string());
    assert!(a.app().room_peer().is_none());
    // A seat given back is free at once.
    js_sys::eval("window.__seats.pop()()").unwrap();
    a.click("call-btn");
    wait_for("the page to be in the room", 5_000, || {
        a.status().contains("waiting for the other person")
    })
    .await;
    a.click("hangup-btn");
    js_sys::eval("window.__seats.forEach(r => r())").unwrap();
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
