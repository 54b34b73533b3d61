//! How much this machine carries in a call to itself: a data channel as fast as flow control
//! allows, and a video call ramping up, between two peers of one page. What it measures is the
//! machine (its encoder, its CPU, the browser), not the network: the connectivity check is that.

use crate::verdict::{Check, Outcome, Verdict};
use serde::Serialize;

/// Video bitrate a call should reach for 720p to look sharp, kbit/s.
pub const HD_KBPS: f64 = 1_500.0;
/// Under this a call's video is small or blurry, kbit/s.
pub const LOW_KBPS: f64 = 300.0;
/// Packet loss above which video freezes and audio breaks up, %.
pub const LOSSY_PERCENT: f64 = 2.0;

/// The data channel's run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataMeasured {
    pub seconds: f64,
    /// Bytes the far end received in that time.
    pub bytes: u64,
    /// The chunk size used: the connection's `sctp.maxMessageSize`, capped.
    pub chunk: u32,
    /// Times sending paused on `bufferedAmount` and resumed on `bufferedamountlow`.
    pub pauses: u32,
}

impl DataMeasured {
    pub fn mbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.seconds.max(1e-3) / 1e6
    }
}

/// The video call's ramp.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VideoMeasured {
    pub seconds: f64,
    /// The highest bitrate sent over a second, and the last second's, kbit/s.
    pub peak_kbps: f64,
    pub final_kbps: f64,
    pub rtt_ms: Option<f64>,
    pub loss_percent: f64,
    pub nacks: u64,
    pub plis: u64,
    pub frames_per_second: f64,
    pub width: u32,
    pub height: u32,
    /// Why the sender held its bitrate down, as Chromium tells (`qualityLimitationReason`).
    pub limited_by: Option<String>,
}

/// Both runs' verdict.
pub fn judge(data: &DataMeasured, video: &VideoMeasured) -> Outcome {
    let figures = serde_json::json!({"data": data, "data_mbps": data.mbps(), "video": video});
    let outcome = |verdict, sentence: String| {
        let mut o = Outcome::new(Check::Throughput, verdict, sentence);
        o.figures = figures.clone();
        o
    };
    let carried = format!(
        "the data channel carried {:.1} Mbit/s; video reached {:.0} kbit/s at {}×{}, {:.0} \
         frames a second",
        data.mbps(),
        video.peak_kbps,
        video.width,
        video.height,
        video.frames_per_second
    );
    if data.bytes == 0 || video.frames_per_second < 1.0 {
        return outcome(
            Verdict::Fail,
            format!("A call within this machine carried almost nothing: {carried}."),
        );
    }
    if video.loss_percent > LOSSY_PERCENT {
        return outcome(
            Verdict::Warning,
            format!(
                "{:.1} % of packets were lost ({} NACKs, {} PLIs): video will freeze and audio \
                 break up; {carried}.",
                video.loss_percent, video.nacks, video.plis
            ),
        );
    }
    if video.peak_kbps < LOW_KBPS {
        let why = video
            .limited_by
            .as_deref()
            .filter(|w| *w != "none")
            .map(|w| format!(" (limited by {w})"))
            .unwrap_or_default();
        return outcome(
            Verdict::Warning,
            format!(
                "In a call within this machine the video stayed low{why}: calls from here will \
                 look small or blurry; {carried}."
            ),
        );
    }
    let verdict = if video.peak_kbps >= HD_KBPS {
        Verdict::Pass
    } else {
        Verdict::Warning
    };
    let first = if verdict == Verdict::Pass {
        "This machine sends HD video in a call within it".to_owned()
    } else {
        let why = video
            .limited_by
            .as_deref()
            .filter(|w| *w != "none")
            .map(|w| format!(" (the sender held back for {w})"))
            .unwrap_or_default();
        format!("This machine sends video short of HD in a call within it{why}")
    };
    outcome(verdict, format!("{first}: {carried}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(bytes: u64) -> DataMeasured {
        DataMeasured {
            seconds: 3.0,
            bytes,
            chunk: 65_536,
            pauses: 40,
        }
    }

    fn video(peak: f64, loss: f64) -> VideoMeasured {
        VideoMeasured {
            seconds: 20.0,
            peak_kbps: peak,
            final_kbps: peak,
            rtt_ms: Some(1.0),
            loss_percent: loss,
            nacks: 0,
            plis: 0,
            frames_per_second: 30.0,
            width: 1280,
            height: 720,
            limited_by: Some("bandwidth".into()),
        }
    }

    #[test]
    fn hd_bitrate_passes_and_reports_the_rate() {
        let o = judge(&data(375_000_000), &video(2_500.0, 0.0));
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(o.sentence.contains("1000.0 Mbit/s"), "{}", o.sentence);
        assert_eq!(o.figures["data_mbps"], 1000.0);
    }

    #[test]
    fn low_lossy_and_empty_runs_are_told_apart() {
        assert!(judge(&data(1_000), &video(200.0, 0.0))
            .sentence
            .contains("limited by bandwidth"));
        let short = judge(&data(1_000), &video(800.0, 0.0));
        assert_eq!(short.verdict, Verdict::Warning);
        assert!(
            short.sentence.contains("held back for bandwidth"),
            "{}",
            short.sentence
        );
        assert!(judge(&data(1_000), &video(2_000.0, 5.0))
            .sentence
            .contains("5.0 %"));
        assert_eq!(judge(&data(0), &video(2_000.0, 0.0)).verdict, Verdict::Fail);
    }
}
