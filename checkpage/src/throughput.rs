//! How much a connection in this page carries: a data channel sending as fast as its flow
//! control allows, then a video call from the camera ramping up.

use crate::camera::{open, stop};
use crate::ice::{negotiate, stats, Pair};
use crate::view::Row;
use crate::wait::{get, now, number, sleep, string};
use gloo_events::EventListener;
use loopback_check::throughput::{DataMeasured, VideoMeasured};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RtcDataChannel, RtcDataChannelType, RtcPeerConnection};

/// How long the data channel sends.
const DATA_MS: f64 = 3_000.0;
/// How long the video call ramps up.
pub const VIDEO_MS: f64 = 20_000.0;
/// Sending pauses above this many bytes waiting, and resumes below the low mark.
const HIGH_WATER: u32 = 4 << 20;
const LOW_WATER: u32 = 1 << 20;
/// The largest chunk sent, whatever the connection would take.
const MAX_CHUNK: u32 = 256 << 10;
/// How long the connection may take to open.
const OPEN_MS: f64 = 10_000.0;

/// Sends over a data channel for [`DATA_MS`] as fast as flow control allows; `None` if the
/// channel never opened.
pub async fn data(row: &Row, share: (f64, f64)) -> Option<DataMeasured> {
    let pair = Pair::direct().ok()?;
    let channel = pair.a.create_data_channel("throughput");
    channel.set_binary_type(RtcDataChannelType::Arraybuffer);
    channel.set_buffered_amount_low_threshold(LOW_WATER);
    let received = Rc::new(Cell::new(0u64));
    let far: Rc<RefCell<Option<EventListener>>> = Rc::default();
    let _arrive = {
        let (received, far) = (Rc::clone(&received), Rc::clone(&far));
        EventListener::new(&pair.b, "datachannel", move |event| {
            let Ok(channel) = get(event, "channel").dyn_into::<RtcDataChannel>() else {
                return;
            };
            channel.set_binary_type(RtcDataChannelType::Arraybuffer);
            let received = Rc::clone(&received);
            *far.borrow_mut() = Some(EventListener::new(&channel, "message", move |event| {
                let bytes = number(&get(event, "data"), "byteLength").unwrap_or_default();
                received.set(received.get() + bytes as u64);
            }));
        })
    };
    let low = Rc::new(Cell::new(false));
    let _low = {
        let low = Rc::clone(&low);
        EventListener::new(&channel, "bufferedamountlow", move |_| low.set(true))
    };
    negotiate(&pair).await.ok()?;
    let started = now();
    while channel.ready_state() != web_sys::RtcDataChannelState::Open {
        if now() - started > OPEN_MS {
            return None;
        }
        sleep(20).await;
    }
    let chunk = max_message_size(&pair.a).min(MAX_CHUNK);
    let bytes = js_sys::Uint8Array::new_with_length(chunk);
    let (mut pauses, start) = (0u32, now());
    let base = received.get();
    while now() - start < DATA_MS {
        if channel.buffered_amount() >= HIGH_WATER {
            pauses += 1;
            low.set(false);
            // Until the channel says it has room again (polled: the event sets the flag).
            while !low.get() && now() - start < DATA_MS {
                sleep(2).await;
            }
            row.progress(share.0 + share.1 * (now() - start) / DATA_MS);
            continue;
        }
        if channel.send_with_array_buffer_view(&bytes).is_err() {
            break;
        }
    }
    let seconds = (now() - start) / 1000.0;
    Some(DataMeasured {
        seconds,
        bytes: received.get() - base,
        chunk,
        pauses,
    })
}

/// The connection's `sctp.maxMessageSize` (64 KiB where the browser does not say).
fn max_message_size(pc: &RtcPeerConnection) -> u32 {
    number(&get(pc, "sctp"), "maxMessageSize")
        .filter(|n| *n > 0.0 && n.is_finite())
        .map_or(64 << 10, |n| n.min(f64::from(u32::MAX)) as u32)
}

/// A 1280×720 camera call for [`VIDEO_MS`], sampled every second; `None` if it did not start.
pub async fn video(row: &Row, share: (f64, f64)) -> Option<VideoMeasured> {
    let stream = open(r#"{"video":{"width":{"ideal":1280},"height":{"ideal":720}},"audio":false}"#)
        .await
        .ok()?;
    let measured = call(&stream, row, share).await;
    stop(&stream);
    measured
}

async fn call(
    stream: &web_sys::MediaStream,
    row: &Row,
    share: (f64, f64),
) -> Option<VideoMeasured> {
    let pair = Pair::direct().ok()?;
    let track: web_sys::MediaStreamTrack = stream.get_video_tracks().get(0).dyn_into().ok()?;
    // Through `call`, which catches what the browser throws (web-sys's binding would trap).
    let add = get(&pair.a, "addTrack")
        .dyn_into::<js_sys::Function>()
        .ok()?;
    add.call2(&pair.a, &track, stream).ok()?;
    // The receiving end plays nothing: its stats count what arrives.
    let _ = pair.b.add_transceiver_with_str("video");
    negotiate(&pair).await.ok()?;
    let mut m = VideoMeasured {
        seconds: 0.0,
        peak_kbps: 0.0,
        final_kbps: 0.0,
        rtt_ms: None,
        loss_percent: 0.0,
        nacks: 0,
        plis: 0,
        frames_per_second: 0.0,
        width: 0,
        height: 0,
        limited_by: None,
    };
    let start = now();
    let mut last: Option<(f64, f64)> = None;
    while now() - start < VIDEO_MS {
        sleep(1_000).await;
        row.progress(share.0 + share.1 * (now() - start) / VIDEO_MS);
        let sent = stats(&pair.a).await;
        let Some(out) = sent
            .iter()
            .find(|s| kind(s) == "outbound-rtp" && string(s, "kind").as_deref() == Some("video"))
        else {
            continue;
        };
        let bytes = number(out, "bytesSent").unwrap_or_default();
        let at = number(out, "timestamp").unwrap_or_else(now);
        if let Some((b0, t0)) = last {
            if at > t0 {
                let kbps = (bytes - b0) * 8.0 / (at - t0);
                m.final_kbps = kbps;
                m.peak_kbps = m.peak_kbps.max(kbps);
            }
        }
        last = Some((bytes, at));
        m.nacks = number(out, "nackCount").unwrap_or_default() as u64;
        m.plis = number(out, "pliCount").unwrap_or_default() as u64;
        m.limited_by = string(out, "qualityLimitationReason");
        if let Some(remote) = sent.iter().find(|s| {
            kind(s) == "remote-inbound-rtp" && string(s, "kind").as_deref() == Some("video")
        }) {
            m.rtt_ms = number(remote, "roundTripTime")
                .map(|s| s * 1000.0)
                .or(m.rtt_ms);
            let lost = number(remote, "packetsLost").unwrap_or_default();
            let packets = number(out, "packetsSent").unwrap_or_default();
            if packets > 0.0 {
                m.loss_percent = 100.0 * lost.max(0.0) / packets;
            }
        }
        let got = stats(&pair.b).await;
        if let Some(inbound) = got
            .iter()
            .find(|s| kind(s) == "inbound-rtp" && string(s, "kind").as_deref() == Some("video"))
        {
            m.frames_per_second = number(inbound, "framesPerSecond").unwrap_or(m.frames_per_second);
            m.width = number(inbound, "frameWidth").unwrap_or_default() as u32;
            m.height = number(inbound, "frameHeight").unwrap_or_default() as u32;
        }
    }
    m.seconds = (now() - start) / 1000.0;
    Some(m)
}

fn kind(stat: &JsValue) -> String {
    string(stat, "type").unwrap_or_default()
}
