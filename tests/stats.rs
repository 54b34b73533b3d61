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

/// The latest `timestamp` in a report.
fn latest(report: &Report) -> f64 {
    report
        .entries()
        .iter()
        .filter_map(|e| e.num("timestamp"))
        .fold(0.0, f64::max)
}

/// The report with every timestamp moved so that its latest one is `to`.
fn shift_timestamps(report: &Report, to: f64) -> Report {
    let by = to - latest(report);
    Report::new(
        report
            .entries()
            .iter()
            .map(|e| {
                let mut shifted = Entry::default();
                for (key, value) in e.fields() {
                    match (key.as_str(), value) {
                        ("timestamp", Value::Num(t)) => shifted.insert(key, Value::Num(t + by)),
                        _ => shifted.insert(key, value.clone()),
                    }
                }
                shifted
            })
            .collect(),
    )
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
    // What repairs loss, and why the sender holds back: none of either on this clean call.
    assert_eq!(s.video_nacks_sent, Some(0.0));
    assert_eq!(s.video_retransmitted, Some(0.0));
    assert_eq!(s.video_limitation.as_deref(), Some("none"));
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
    // The first reading's counters again, a second after the second reading: time moves on,
    // every counter goes backwards, as when a stream restarts.
    let mut readings = recorded().into_iter();
    let (first_local, first_remote) = readings.next().unwrap();
    let (second_local, second_remote) = readings.next().unwrap();
    let later = |report: &Report, by: &Report| shift_timestamps(report, latest(by) + 1_000.0);
    let mut stats = Stats::default();
    let s = stats.update(second_local.clone(), second_remote.clone());
    assert_eq!(s.video_kbps_sent, None, "one reading: no rate yet");
    let s = stats.update(
        later(&first_local, &second_local),
        later(&first_remote, &second_remote),
    );
    assert_eq!(s.video_kbps_sent, None);
    assert_eq!(s.video_kbps_received, None);
    assert_eq!(s.audio_kbps_sent, None);
    assert_eq!(s.audio_kbps_received, None);
    assert_eq!(
        s.video_codec.as_deref(),
        Some("video/VP8, 90 kHz"),
        "the rest still shows"
    );
    // And from there on, rates resume.
    let two_seconds_on = |report: &Report| shift_timestamps(report, latest(report) + 2_000.0);
    let s = stats.update(
        two_seconds_on(&second_local),
        two_seconds_on(&second_remote),
    );
    assert!(s.video_kbps_sent.unwrap() > 0.0);
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
