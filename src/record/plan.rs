//! The recording's decisions in plain Rust: which formats to offer, what to record and when it
//! may start, the composite's size, the recorder's states and what stops it, and its words (the
//! timer and size so far, the file's name).

use crate::stats::fixed;
use std::fmt;

/// What the person chose to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// The local camera, with the microphone.
    Local,
    /// The other end's video, with its sound.
    Remote,
    /// Both videos side by side, both sounds mixed.
    Both,
}

impl What {
    /// The choices, in the picker's order; the first is the default.
    pub const ALL: [What; 3] = [What::Local, What::Remote, What::Both];

    /// The picker's value for this choice.
    pub fn value(self) -> &'static str {
        match self {
            What::Local => "local",
            What::Remote => "remote",
            What::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            What::Local => "Local camera",
            What::Remote => "Remote video",
            What::Both => "Both side by side",
        }
    }

    /// What the step log calls it.
    pub fn noun(self) -> &'static str {
        match self {
            What::Local => "local camera",
            What::Remote => "remote video",
            What::Both => "two videos side by side",
        }
    }

    /// The choice behind a picker's value; anything else is the default.
    pub fn from_value(value: &str) -> What {
        What::ALL
            .into_iter()
            .find(|w| w.value() == value)
            .unwrap_or(What::Local)
    }

    /// Whether this choice needs the other end's video.
    pub fn needs_remote(self) -> bool {
        self != What::Local
    }

    /// Whether the other person leaving ends this recording: it does when their video is in it;
    /// a recording of the local camera alone goes on, since the camera stays on.
    pub fn stops_when_peer_leaves(self) -> bool {
        self.needs_remote()
    }
}

/// Whether Record may start now: the local camera needs a live camera, the other choices a call
/// whose remote video plays.
pub fn can_start(what: What, camera_live: bool, remote_playing: bool) -> bool {
    match what {
        What::Local => camera_live,
        What::Remote => remote_playing,
        What::Both => camera_live && remote_playing,
    }
}

/// A recording format the page may offer: what the picker says, the MIME type `MediaRecorder`
/// gets, and the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    pub label: &'static str,
    pub mime: &'static str,
    pub extension: &'static str,
}

/// Every format the page knows, in the order it prefers them: VP8 first, the cheapest to encode
/// (this runs while the call encodes too) and the one every player plays; then VP9 and AV1, smaller
/// files for more work; MP4 last, where the browser offers it (Chromium 126 on, Safari). Within one
/// label the first type the browser supports is the one used.
pub const FORMATS: &[Format] = &[
    Format {
        label: "WebM (VP8, Opus)",
        mime: "video/webm;codecs=vp8,opus",
        extension: "webm",
    },
    Format {
        label: "WebM (VP9, Opus)",
        mime: "video/webm;codecs=vp9,opus",
        extension: "webm",
    },
    Format {
        label: "WebM (AV1, Opus)",
        mime: "video/webm;codecs=av1,opus",
        extension: "webm",
    },
    Format {
        label: "WebM (AV1, Opus)",
        mime: "video/webm;codecs=av01,opus",
        extension: "webm",
    },
    Format {
        label: "MP4 (H.264, AAC)",
        mime: "video/mp4;codecs=avc1,mp4a.40.2",
        extension: "mp4",
    },
    Format {
        label: "MP4 (H.264, Opus)",
        mime: "video/mp4;codecs=avc1,opus",
        extension: "mp4",
    },
    Format {
        label: "MP4",
        mime: "video/mp4",
        extension: "mp4",
    },
    Format {
        label: "WebM",
        mime: "video/webm",
        extension: "webm",
    },
];

/// The formats to offer, in [`FORMATS`]' order, given which MIME types the browser supports
/// (`MediaRecorder.isTypeSupported`); one per label. The bare "WebM"/"MP4" fallbacks only show
/// when no codec-specific type of their container is supported.
pub fn offered(supported: impl Fn(&str) -> bool) -> Vec<Format> {
    let mut offer: Vec<Format> = Vec::new();
    for format in FORMATS {
        let bare = !format.mime.contains(';');
        let container_known = offer.iter().any(|f| f.extension == format.extension);
        let label_known = offer.iter().any(|f| f.label == format.label);
        if label_known || (bare && container_known) {
            continue;
        }
        if supported(format.mime) {
            offer.push(*format);
        }
    }
    offer
}

/// The format behind a picker's value (a MIME type), if the page knows it.
pub fn format_of(mime: &str) -> Option<Format> {
    FORMATS.iter().copied().find(|f| f.mime == mime)
}

/// A video's size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    fn is_empty(self) -> bool {
        self.width == 0 || self.height == 0
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.width, self.height)
    }
}

/// A rectangle on the composite canvas, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Rounds up to an even number: video encoders (H.264 above all) want even sizes.
fn even(n: f64) -> u32 {
    let n = n.round().max(2.0) as u32;
    n + n % 2
}

/// The canvas the recording is drawn on, and where each video goes on it: one video at its own
/// size; two side by side at the taller one's height, each keeping its shape, so two videos of
/// one size make a canvas twice as wide. `None` while a video needed has no frame yet.
pub fn layout(what: What, local: Size, remote: Size) -> Option<(Size, Vec<Place>)> {
    let one = |size: Size| {
        let canvas = Size::new(even(size.width.into()), even(size.height.into()));
        let place = Place {
            x: 0.0,
            y: 0.0,
            width: canvas.width.into(),
            height: canvas.height.into(),
        };
        (canvas, vec![place])
    };
    match what {
        What::Local if !local.is_empty() => Some(one(local)),
        What::Remote if !remote.is_empty() => Some(one(remote)),
        What::Both if !local.is_empty() && !remote.is_empty() => {
            let height = f64::from(local.height.max(remote.height));
            let scaled = |s: Size| f64::from(s.width) * height / f64::from(s.height);
            let (left, right) = (scaled(local), scaled(remote));
            let canvas = Size::new(even(left) + even(right), even(height));
            let places = vec![
                Place {
                    x: 0.0,
                    y: 0.0,
                    width: f64::from(even(left)),
                    height: f64::from(canvas.height),
                },
                Place {
                    x: f64::from(even(left)),
                    y: 0.0,
                    width: f64::from(even(right)),
                    height: f64::from(canvas.height),
                },
            ];
            Some((canvas, places))
        }
        _ => None,
    }
}

/// Where a frame of `frame`'s size is drawn inside `slot`: as large as fits, keeping its shape,
/// centred (a camera switched to another size mid-recording is letterboxed, not stretched).
pub fn fit(frame: Size, slot: Place) -> Option<Place> {
    if frame.is_empty() {
        return None;
    }
    let scale = (slot.width / f64::from(frame.width)).min(slot.height / f64::from(frame.height));
    let (width, height) = (
        f64::from(frame.width) * scale,
        f64::from(frame.height) * scale,
    );
    Some(Place {
        x: slot.x + (slot.width - width) / 2.0,
        y: slot.y + (slot.height - height) / 2.0,
        width,
        height,
    })
}

/// What ended a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The person pressed Stop.
    Stop,
    /// HangUp: the call and the camera go.
    HangUp,
    /// The other person left the room.
    PeerLeft,
    /// A video recorded has no frames any more (its track ended or its stream went).
    TrackEnded,
}

impl Cause {
    /// Why the recording ended, for the status line.
    pub fn words(self) -> &'static str {
        match self {
            Cause::Stop => "Recording stopped",
            Cause::HangUp => "Recording stopped at HangUp",
            Cause::PeerLeft => "Recording stopped: the other person left",
            Cause::TrackEnded => "Recording stopped: a video it recorded ended",
        }
    }
}

/// Where the recorder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Idle,
    /// Record was pressed; the sound is being set up (a Web Audio mix takes a moment to run).
    Starting,
    Recording,
    /// Asked to stop: the recorder hands over its last data, then says it stopped.
    Stopping(Cause),
    /// A file is offered.
    Done(Cause),
    /// The recorder failed; whatever it recorded is offered if anything.
    Failed,
}

/// The recorder's state machine, with the clock and the bytes so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorder {
    phase: Phase,
    started_ms: f64,
    ended_ms: f64,
    bytes: f64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            started_ms: 0.0,
            ended_ms: 0.0,
            bytes: 0.0,
        }
    }
}

impl Recorder {
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether a recording is under way (starting, recording or stopping): the button says Stop.
    pub fn busy(&self) -> bool {
        matches!(
            self.phase,
            Phase::Starting | Phase::Recording | Phase::Stopping(_)
        )
    }

    /// Record was pressed: `true` if a new recording starts (not while one is under way).
    pub fn start(&mut self) -> bool {
        if self.busy() {
            return false;
        }
        *self = Self {
            phase: Phase::Starting,
            ..Self::default()
        };
        true
    }

    /// The recorder runs from `now_ms`: `true` if the recording still wants it (no Stop, no
    /// HangUp came meanwhile); the clock starts here, with the file's first frame.
    pub fn started(&mut self, now_ms: f64) -> bool {
        if self.phase != Phase::Starting {
            return false;
        }
        self.phase = Phase::Recording;
        self.started_ms = now_ms;
        self.ended_ms = now_ms;
        true
    }

    /// `cause` asks the recording to stop at `now_ms`: `true` if the recorder must be told
    /// (the first cause wins, later ones change nothing). Stopped while starting, nothing was
    /// recorded: back to idle.
    pub fn stop(&mut self, cause: Cause, now_ms: f64) -> bool {
        if self.phase == Phase::Starting {
            self.phase = Phase::Idle;
            return false;
        }
        if self.phase != Phase::Recording {
            return false;
        }
        self.phase = Phase::Stopping(cause);
        self.ended_ms = now_ms;
        true
    }

    /// The recorder handed over `bytes` more.
    pub fn data(&mut self, bytes: f64) {
        if self.busy() {
            self.bytes += bytes;
        }
    }

    /// The recorder said it stopped at `now_ms` (by itself too: its tracks all ended): `Some`
    /// cause if the file is to be offered now.
    pub fn stopped(&mut self, now_ms: f64) -> Option<Cause> {
        let cause = match self.phase {
            Phase::Stopping(cause) => cause,
            Phase::Recording => {
                self.ended_ms = now_ms;
                Cause::TrackEnded
            }
            _ => return None,
        };
        self.phase = Phase::Done(cause);
        Some(cause)
    }

    /// The recorder reported an error: `true` if this recording was running and ends here.
    pub fn failed(&mut self, now_ms: f64) -> bool {
        if !self.busy() {
            return false;
        }
        if self.phase == Phase::Recording {
            self.ended_ms = now_ms;
        }
        self.phase = Phase::Failed;
        true
    }

    /// Milliseconds recorded: up to `now_ms` while recording, up to the stop after.
    pub fn elapsed_ms(&self, now_ms: f64) -> f64 {
        let end = if self.phase == Phase::Recording {
            now_ms
        } else {
            self.ended_ms
        };
        (end - self.started_ms).max(0.0)
    }

    pub fn bytes(&self) -> f64 {
        self.bytes
    }

    /// The status line: the timer and the size so far, "0:05 · 1.2 MB".
    pub fn status(&self, now_ms: f64) -> String {
        format!(
            "{} · {}",
            duration(self.elapsed_ms(now_ms)),
            file_size(self.bytes)
        )
    }
}

/// A duration as a clock shows it: "0:05", "12:34", "1:02:03".
pub fn duration(ms: f64) -> String {
    let total = (ms.max(0.0) / 1000.0).floor() as u64;
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// A size in bytes, in decimal units as file managers show them: "800 B", "34 KB", "1.2 MB".
pub fn file_size(bytes: f64) -> String {
    let bytes = bytes.max(0.0);
    // `fixed`, not `{:.1}`: float formatting would add its own ~18 KB to the wasm.
    let (value, decimals, unit) = if bytes < 1_000.0 {
        (bytes, 0, "B")
    } else if bytes < 1_000_000.0 {
        (bytes / 1_000.0, 0, "KB")
    } else if bytes < 1_000_000_000.0 {
        (bytes / 1_000_000.0, 1, "MB")
    } else {
        (bytes / 1_000_000_000.0, 2, "GB")
    };
    format!("{} {unit}", fixed(value, decimals))
}

/// A moment in the person's local time, as the file's name carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// The file's name: "loopback-recording-2026-12-06T19-40-05.webm". ISO 8601 with dashes for
/// colons, which Windows forbids in file names; recordings sort by time in a folder.
pub fn file_name(at: Stamp, format: Format) -> String {
    format!(
        "loopback-recording-{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{}",
        at.year, at.month, at.day, at.hour, at.minute, at.second, format.extension
    )
}

/// What the page says when a mix of both sounds could not run (Firefox without an audio output
/// keeps every `AudioContext` suspended): the recording carries the microphone alone.
pub const MICROPHONE_ONLY: &str = "this browser's audio mixing did not start (no audio output?), so the sound is the microphone's only";

/// The download link's text: the file's name, its duration and size.
pub fn download_text(name: &str, ms: f64, bytes: f64) -> String {
    format!("Download {name} ({}, {})", duration(ms), file_size(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_formats_in_order_one_per_label() {
        let chromium = [
            "video/webm;codecs=vp8,opus",
            "video/webm;codecs=vp9,opus",
            "video/webm;codecs=av1,opus",
            "video/webm;codecs=av01,opus",
            "video/mp4;codecs=avc1,mp4a.40.2",
            "video/mp4;codecs=avc1,opus",
            "video/mp4",
            "video/webm",
        ];
        let offer = offered(|m| chromium.contains(&m));
        let labels: Vec<_> = offer.iter().map(|f| f.label).collect();
        assert_eq!(
            labels,
            [
                "WebM (VP8, Opus)",
                "WebM (VP9, Opus)",
                "WebM (AV1, Opus)",
                "MP4 (H.264, AAC)",
                "MP4 (H.264, Opus)"
            ]
        );
        assert_eq!(offer[2].mime, "video/webm;codecs=av1,opus");
    }

    #[test]
    fn a_browser_with_webm_vp8_only_offers_just_that() {
        let firefox = ["video/webm;codecs=vp8,opus", "video/webm"];
        let offer = offered(|m| firefox.contains(&m));
        assert_eq!(offer.len(), 1);
        assert_eq!(offer[0].mime, "video/webm;codecs=vp8,opus");
    }

    #[test]
    fn bare_containers_are_a_last_resort() {
        let offer = offered(|m| m == "video/mp4");
        assert_eq!(offer.len(), 1);
        assert_eq!((offer[0].label, offer[0].extension), ("MP4", "mp4"));
        assert!(offered(|_| false).is_empty());
        assert_eq!(format_of("video/mp4").map(|f| f.extension), Some("mp4"));
        assert_eq!(format_of("video/ogg"), None);
    }

    #[test]
    fn what_is_recorded_needs_its_videos() {
        assert!(can_start(What::Local, true, false));
        assert!(!can_start(What::Local, false, false));
        assert!(!can_start(What::Remote, true, false));
        assert!(can_start(What::Remote, false, true));
        assert!(!can_start(What::Both, false, true));
        assert!(can_start(What::Both, true, true));
        assert_eq!(What::from_value("both"), What::Both);
        assert_eq!(What::from_value("nonsense"), What::Local);
        assert!(!What::Local.stops_when_peer_leaves());
        assert!(What::Remote.stops_when_peer_leaves());
        assert!(What::Both.stops_when_peer_leaves());
    }

    #[test]
    fn one_video_is_recorded_at_its_own_size() {
        let (canvas, places) = layout(What::Local, Size::new(640, 480), Size::new(0, 0)).unwrap();
        assert_eq!(canvas, Size::new(640, 480));
        assert_eq!(places.len(), 1);
        let (canvas, _) = layout(What::Remote, Size::new(0, 0), Size::new(321, 241)).unwrap();
        assert_eq!(canvas, Size::new(322, 242), "even sizes for the encoder");
        assert_eq!(
            layout(What::Remote, Size::new(640, 480), Size::new(0, 0)),
            None
        );
    }

    #[test]
    fn side_by_side_is_twice_as_wide_with_heights_aligned() {
        let (canvas, places) =
            layout(What::Both, Size::new(640, 480), Size::new(640, 480)).unwrap();
        assert_eq!(canvas, Size::new(1280, 480));
        assert_eq!(places[1].x, 640.0);
        // A smaller remote video is scaled up to the local one's height, keeping its shape.
        let (canvas, places) =
            layout(What::Both, Size::new(640, 480), Size::new(320, 180)).unwrap();
        assert_eq!(canvas, Size::new(640 + 854, 480));
        assert_eq!((places[1].width, places[1].height), (854.0, 480.0));
        assert_eq!(
            layout(What::Both, Size::new(640, 480), Size::new(0, 0)),
            None
        );
    }

    #[test]
    fn a_frame_of_another_shape_is_letterboxed() {
        let slot = Place {
            x: 640.0,
            y: 0.0,
            width: 640.0,
            height: 480.0,
        };
        let wide = fit(Size::new(1280, 720), slot).unwrap();
        assert_eq!((wide.x, wide.width, wide.height), (640.0, 640.0, 360.0));
        assert_eq!(wide.y, 60.0);
        assert_eq!(fit(Size::new(640, 480), slot), Some(slot));
        assert_eq!(fit(Size::new(0, 480), slot), None);
    }

    #[test]
    fn the_recorder_goes_idle_recording_stopping_done() {
        let mut r = Recorder::default();
        assert_eq!(r.phase(), Phase::Idle);
        assert!(!r.stop(Cause::Stop, 0.0), "nothing to stop");
        assert!(r.start());
        assert_eq!(r.phase(), Phase::Starting);
        assert!(!r.start(), "one recording at a time");
        assert!(r.started(1_000.0));
        assert!(!r.started(1_100.0), "started once");
        r.data(600_000.0);
        assert_eq!(r.status(6_000.0), "0:05 · 600 KB");
        r.data(600_000.0);
        assert!(r.stop(Cause::HangUp, 6_500.0));
        assert!(!r.stop(Cause::Stop, 6_600.0), "the first cause wins");
        assert!(r.busy());
        r.data(100_000.0); // the last data comes after stop()
        assert_eq!(r.stopped(6_700.0), Some(Cause::HangUp));
        assert_eq!(r.phase(), Phase::Done(Cause::HangUp));
        assert_eq!(r.elapsed_ms(60_000.0), 5_500.0, "the clock stopped at Stop");
        assert_eq!(r.status(60_000.0), "0:05 · 1.3 MB");
        assert_eq!(r.stopped(7_000.0), None, "said once");
        assert!(r.start(), "a new recording after one is done");
        assert_eq!(r.bytes(), 0.0);
        assert!(
            !r.stop(Cause::HangUp, 10_000.0),
            "stopped while starting: nothing to stop"
        );
        assert_eq!(r.phase(), Phase::Idle);
        assert!(!r.started(10_100.0), "the sound came too late: no recorder");
    }

    #[test]
    fn a_recorder_that_stops_by_itself_or_fails() {
        let mut r = Recorder::default();
        r.start();
        r.started(0.0);
        assert_eq!(r.stopped(3_000.0), Some(Cause::TrackEnded));
        assert_eq!(r.elapsed_ms(9_000.0), 3_000.0);
        r.start();
        assert!(r.failed(10_000.0), "failed to start");
        r.start();
        r.started(10_000.0);
        assert!(r.failed(12_000.0));
        assert_eq!(r.phase(), Phase::Failed);
        assert!(!r.failed(13_000.0));
        assert_eq!(r.stopped(13_000.0), None);
        assert!(!Recorder::default().failed(0.0));
    }

    #[test]
    fn the_words() {
        assert_eq!(duration(0.0), "0:00");
        assert_eq!(duration(5_999.0), "0:05");
        assert_eq!(duration(754_000.0), "12:34");
        assert_eq!(duration(3_723_000.0), "1:02:03");
        assert_eq!(file_size(800.0), "800 B");
        assert_eq!(file_size(34_400.0), "34 KB");
        assert_eq!(file_size(1_234_567.0), "1.2 MB");
        assert_eq!(file_size(2_500_000_000.0), "2.50 GB");
        let at = Stamp {
            year: 2026,
            month: 12,
            day: 6,
            hour: 19,
            minute: 40,
            second: 5,
        };
        let webm = FORMATS[0];
        assert_eq!(
            file_name(at, webm),
            "loopback-recording-2026-12-06T19-40-05.webm"
        );
        assert_eq!(
            download_text("a.webm", 5_200.0, 1_200_000.0),
            "Download a.webm (0:05, 1.2 MB)"
        );
        assert_eq!(Size::new(640, 480).to_string(), "640×480");
    }
}
