//! The stats maths on reports recorded from a real loopback call in headless Chromium.
#![cfg(not(target_arch = "wasm32"))]

use loopback_rtc::stats::{Entry, Report, Stats, Summary, Value, MISSING};
use serde_json::Value as Json;

/// tests/data/chrome-call.json: two readings, one second apart, of both peers' getStats().
fn recorded() -> Vec<(Report, Report)> {
    let json: Json = serde_json::from_str(include_str!("data/chrome-call.json")).unwrap();
    let report = |entries: &Json| {
        Report::new(
            entries
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let mut entry = Entry::default();
                    for (key, value) in e.as_object().unwrap() {
                        match value {
                            Json::Number(n) => entry.insert(key, Value::Num(n.as_f64().unwrap())),
                            Json::String(s) => entry.insert(key, Value::Text(s.clone())),
                            Json::Bool(b) => entry.insert(key, Value::Flag(*b)),
                            _ => {}
                        }
                    }
                    entry
                })
                .collect(),
        )
    };
    json.as_array()
        .unwrap()
        .iter()
        .map(|reading| (report(&reading["local"]), report(&reading["remote"])))
        .collect()
}

fn two_readings() -> (Summary, Summary) {
    let mut readings = recorded().into_iter();
    let mut stats = Stats::default();
    let (l, r) = readings.next().unwrap();
    let first = stats.update(l, r);
    let (l, r) = readings.next().unwrap();
    (first, stats.update(l, r))
}

#[test]
fn a_real_report_fills_every_figure() {
    let (_, s) = two_readings();
    assert_eq!(s.video_codec.as_deref(), Some("video/VP8, 90 kHz"));
    assert_eq!(s.audio_codec.as_deref(), Some("audio/opus, 48 kHz"));
    assert_eq!(s.video_sent_size, Some((640, 480)));
    assert_eq!(s.video_received_size, Some((640, 480)));
    assert_eq!(s.video_fps_sent, Some(19.0));
    assert_eq!(s.video_fps_decoded, Some(20.0));
    assert_eq!(
        s.local_candidate.as_deref(),
        Some("host udp [fd00::2]:59424")
    );
    assert_eq!(
        s.remote_candidate.as_deref(),
        Some("host udp [fd00::2]:54053")
    );
    assert_eq!(s.rtt_ms, Some(1.0));
    assert_eq!(s.dtls_state.as_deref(), Some("connected"));
    assert_eq!(s.video_packets_lost, Some(0.0));
    assert_eq!(s.video_frames_dropped, Some(0.0));
    assert_eq!(s.video_jitter_ms, Some(2.0));
    assert!(s.audio_level.is_some());
    for (key, value) in s.rows() {
        assert_ne!(value, MISSING, "{key} should be filled");
    }
}

#[test]
fn rates_need_two_readings_and_match_the_byte_counters() {
    let (first, second) = two_readings();
    assert_eq!(first.video_kbps_sent, None);
    assert_eq!(first.video_kbps_received, None);
    let sent = second.video_kbps_sent.unwrap();
    let received = second.video_kbps_received.unwrap();
    // The fake camera's VP8 at 640×480 runs at a few hundred kbit/s.
    assert!((50.0..5_000.0).contains(&sent), "{sent}");
    assert!((50.0..5_000.0).contains(&received), "{received}");
    assert!(second.audio_kbps_sent.unwrap() > 0.0);
}

#[test]
fn a_counter_reset_gives_no_rate_instead_of_a_negative_one() {
    let mut readings = recorded();
    readings.reverse(); // the later reading first: every counter goes backwards
    let mut stats = Stats::default();
    for (l, r) in readings {
        let s = stats.update(l, r);
        assert_eq!(s.video_kbps_sent, None);
        assert_eq!(s.video_kbps_received, None);
        assert_eq!(s.audio_kbps_received, None);
    }
}

#[test]
fn every_figure_has_its_place_on_the_page() {
    let html = include_str!("../index.html");
    for key in loopback_rtc::stats::keys() {
        assert!(
            html.contains(&format!("data-stat=\"{key}\"")),
            "index.html lacks data-stat=\"{key}\""
        );
    }
}
