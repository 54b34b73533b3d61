//! Perfect negotiation between two peers in a real browser, with the wire between them held and
//! reordered by the test: both offering at once, and candidates arriving before their description.
#![cfg(target_arch = "wasm32")]

mod page;

use loopback_rtc::call::peer::{Peer, PeerConfig, PeerEvent};
use loopback_rtc::page::Page;
use loopback_signal::Signal;
use page::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{MediaStream, MediaStreamConstraints};

wasm_bindgen_test_configure!(run_in_browser);

/// One direction of the wire: what one peer sent, held until the test lets it through.
#[derive(Clone, Default)]
struct Wire {
    held: Rc<RefCell<Vec<Signal>>>,
}

impl Wire {
    fn outbox(&self) -> Box<dyn Fn(Signal)> {
        let held = Rc::clone(&self.held);
        Box::new(move |signal| held.borrow_mut().push(signal))
    }

    fn held(&self) -> Vec<Signal> {
        self.held.borrow().clone()
    }

    /// Lets everything held through to `to`, in the order `order` puts it.
    fn release(&self, to: &Peer, order: impl Fn(&Signal) -> u8) {
        let mut signals: Vec<Signal> = self.held.borrow_mut().drain(..).collect();
        signals.sort_by_key(|s| order(s));
        let handle = to.handle();
        for signal in signals {
            handle.receive(signal);
        }
    }
}

/// Tracks a peer received from the other.
#[derive(Clone, Default)]
struct Received(Rc<Cell<u32>>);

fn peer(
    name: &'static str,
    other: &'static str,
    polite: bool,
    page: &Rc<Page>,
    wire: &Wire,
    received: &Received,
) -> Peer {
    let config = PeerConfig::local(name, other, polite, Rc::default());
    let count = Rc::clone(&received.0);
    Peer::new(config, Rc::clone(page), wire.outbox(), move |event| {
        if let PeerEvent::Track(_) = event {
            count.set(count.get() + 1);
        }
    })
    .unwrap()
}

async fn camera() -> MediaStream {
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&true.into());
    constraints.set_video(&true.into());
    let promise = web_sys::window()
        .unwrap()
        .navigator()
        .media_devices()
        .unwrap()
        .get_user_media_with_constraints(&constraints)
        .unwrap();
    JsFuture::from(promise).await.unwrap().unchecked_into()
}

/// Bytes of video one peer has received, from its stats.
async fn video_bytes_received(peer: &Peer) -> f64 {
    let report = JsFuture::from(peer.connection().get_stats()).await.unwrap();
    let mut bytes = 0.0;
    for entry in js_sys::try_iter(&report).unwrap().unwrap() {
        let pair: js_sys::Array = entry.unwrap().unchecked_into();
        let stats = pair.get(1);
        let field = |k: &str| js_sys::Reflect::get(&stats, &k.into()).unwrap();
        if field("type").as_string().as_deref() == Some("inbound-rtp")
            && field("kind").as_string().as_deref() == Some("video")
        {
            bytes += field("bytesReceived").as_f64().unwrap_or(0.0);
        }
    }
    bytes
}

/// Passes everything either peer sends to the other until both are connected.
async fn pump(a: &Peer, a_out: &Wire, b: &Peer, b_out: &Wire) {
    let mut waited = 0;
    while state(a.connection()) != "connected" || state(b.connection()) != "connected" {
        a_out.release(b, |_| 0);
        b_out.release(a, |_| 0);
        assert!(
            waited < 15_000,
            "not connected after 15 s: {} / {}",
            state(a.connection()),
            state(b.connection())
        );
        sleep(20).await;
        waited += 20;
    }
}

fn is_offer(signal: &Signal) -> bool {
    matches!(
        signal,
        Signal::Description {
            sdp_type: loopback_signal::SdpType::Offer,
            ..
        }
    )
}

#[wasm_bindgen_test]
async fn both_peers_offering_at_once_end_connected_both_ways() {
    let f = Fixture::new(RecordingMedia::default());
    let page = Rc::new(Page::find(&loopback_rtc::page::Root::Document(document())).unwrap());
    let (a_out, b_out) = (Wire::default(), Wire::default());
    let (a_got, b_got) = (Received::default(), Received::default());
    let a = peer("impolite", "polite", false, &page, &a_out, &a_got);
    let b = peer("polite", "impolite", true, &page, &b_out, &b_got);
    // Both send their camera in the same moment: each makes an offer before seeing the other's.
    let (cam_a, cam_b) = (camera().await, camera().await);
    a.add_stream(&cam_a);
    b.add_stream(&cam_b);
    wait_for("both offers", 5_000, || {
        a_out.held().iter().any(is_offer) && b_out.held().iter().any(is_offer)
    })
    .await;
    // The offers cross: a collision, settled by the roles and not by timing.
    pump(&a, &a_out, &b, &b_out).await;
    assert_eq!(
        f.logged("impolite peer ignored the polite peer's colliding offer"),
        1,
        "{:?}",
        f.log()
    );
    assert!(f.logged("polite peer set the offer as its remote description") >= 1);
    // And media flows both ways: each received the other's audio and video.
    wait_for("tracks both ways", 5_000, || {
        a_got.0.get() >= 2 && b_got.0.get() >= 2
    })
    .await;
    let mut waited = 0;
    loop {
        pump(&a, &a_out, &b, &b_out).await;
        if video_bytes_received(&a).await > 0.0 && video_bytes_received(&b).await > 0.0 {
            break;
        }
        assert!(waited < 10_000, "no video both ways");
        sleep(100).await;
        waited += 100;
    }
    for track in cam_a.get_tracks().iter().chain(cam_b.get_tracks().iter()) {
        track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
    }
}

#[wasm_bindgen_test]
async fn candidates_that_come_before_their_description_are_queued_not_lost() {
    let f = Fixture::new(RecordingMedia::default());
    let page = Rc::new(Page::find(&loopback_rtc::page::Root::Document(document())).unwrap());
    let (a_out, b_out) = (Wire::default(), Wire::default());
    let (a_got, b_got) = (Received::default(), Received::default());
    let a = peer("offering", "answering", false, &page, &a_out, &a_got);
    let b = peer("answering", "offering", true, &page, &b_out, &b_got);
    let cam = camera().await;
    a.add_stream(&cam);
    wait_for("the offer and every candidate", 10_000, || {
        a_out
            .held()
            .iter()
            .any(|s| matches!(s, Signal::EndOfCandidates))
    })
    .await;
    // Candidates first, the offer last: as a network that reorders would deliver them.
    a_out.release(&b, |s| u8::from(is_offer(s)));
    pump(&a, &a_out, &b, &b_out).await;
    assert!(
        f.logged("answering peer queued an ICE candidate that came before its description") >= 1,
        "{:?}",
        f.log()
    );
    assert_eq!(
        f.logged("answering peer: Add ICE candidate failed"),
        0,
        "{:?}",
        f.log()
    );
    wait_for("the camera's tracks", 5_000, || b_got.0.get() >= 2).await;
    for track in cam.get_tracks().iter() {
        track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
    }
}
