//! Two seconds of the microphone: its peak and RMS level, digital silence, clipping, channels.

use crate::camera::OpenError;
use crate::verdict::{Check, Outcome, Verdict};
use serde::Serialize;

/// RMS under which a microphone is quieter than any room: muted at the system, or dead.
pub const SILENT_DBFS: f64 = -70.0;
/// RMS under which speech will be hard to hear without gain.
pub const QUIET_DBFS: f64 = -50.0;
/// A sample at least this large (of 1.0) is clipped.
pub const CLIP: f32 = 0.99;
/// The share of clipped samples above which clipping is audible.
pub const CLIPPED_SHARE: f64 = 0.001;

/// Levels of a run of samples, as Web Audio gives them (−1.0 to 1.0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Level {
    /// Largest magnitude, dBFS (−∞ as −200).
    pub peak_dbfs: f64,
    pub rms_dbfs: f64,
    /// Share of samples at [`CLIP`] or beyond.
    pub clipped: f64,
    pub samples: u64,
}

/// dBFS of a magnitude, floored at −200 for silence.
pub fn dbfs(x: f64) -> f64 {
    if x <= 1e-10 {
        -200.0
    } else {
        20.0 * x.log10()
    }
}

/// Adds up the levels of successive blocks of samples without keeping them.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    peak: f32,
    squares: f64,
    clipped: u64,
    samples: u64,
}

impl Meter {
    pub fn add(&mut self, block: &[f32]) {
        for &s in block {
            let a = s.abs();
            self.peak = self.peak.max(a);
            self.squares += f64::from(s) * f64::from(s);
            if a >= CLIP {
                self.clipped += 1;
            }
        }
        self.samples += block.len() as u64;
    }

    pub fn level(&self) -> Level {
        let n = self.samples.max(1) as f64;
        Level {
            peak_dbfs: dbfs(f64::from(self.peak)),
            rms_dbfs: dbfs((self.squares / n).sqrt()),
            clipped: self.clipped as f64 / n,
            samples: self.samples,
        }
    }
}

/// What the microphone check measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured {
    pub error: Option<OpenError>,
    pub channels: u32,
    pub sample_rate: u32,
    pub seconds: f64,
    pub level: Level,
}

/// The microphone's verdict.
pub fn judge(m: &Measured) -> Outcome {
    let outcome =
        |verdict, sentence: String| Outcome::new(Check::Microphone, verdict, sentence).with(m);
    if let Some(error) = &m.error {
        let sentence = match error {
            OpenError::Refused => "The browser was not allowed to use the microphone: allow it \
                (the microphone icon in the address bar, or the system's privacy settings) and \
                check again."
                .to_owned(),
            OpenError::NotFound => "No microphone was found: connect one, or check that the \
                system sees it."
                .to_owned(),
            OpenError::Busy => "The microphone is there but would not start: another program \
                may hold it. Close it and check again."
                .to_owned(),
            OpenError::Overconstrained => "The microphone refused the settings asked.".to_owned(),
            OpenError::Other(what) => format!("The microphone could not be opened ({what})."),
        };
        return outcome(Verdict::Fail, sentence);
    }
    let l = m.level;
    if l.samples == 0 {
        return outcome(
            Verdict::Fail,
            "The microphone opened but gave no sound to measure.".to_owned(),
        );
    }
    if l.rms_dbfs < SILENT_DBFS {
        return outcome(
            Verdict::Fail,
            format!(
                "The microphone gives silence ({:.0} dBFS): it may be muted by a switch or the \
                 system's input level, or the wrong one is chosen.",
                l.rms_dbfs.max(-200.0)
            ),
        );
    }
    if l.clipped > CLIPPED_SHARE {
        return outcome(
            Verdict::Warning,
            format!(
                "The microphone is clipping ({:.1} % of samples at full scale): others will hear \
                 distortion. Lower its input level in the system's sound settings.",
                l.clipped * 100.0
            ),
        );
    }
    if l.rms_dbfs < QUIET_DBFS {
        return outcome(
            Verdict::Warning,
            format!(
                "The microphone is very quiet ({:.0} dBFS on average): speak closer to it, or \
                 raise its input level.",
                l.rms_dbfs
            ),
        );
    }
    let channels = if m.channels == 1 {
        "mono".to_owned()
    } else {
        format!("{} channels", m.channels)
    };
    outcome(
        Verdict::Pass,
        format!(
            "The microphone works: {:.0} dBFS on average, peaks at {:.0} dBFS, {channels}.",
            l.rms_dbfs, l.peak_dbfs
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(block: &[f32]) -> Measured {
        let mut meter = Meter::default();
        for _ in 0..100 {
            meter.add(block);
        }
        Measured {
            error: None,
            channels: 1,
            sample_rate: 48_000,
            seconds: 2.0,
            level: meter.level(),
        }
    }

    fn sine(amplitude: f32) -> Vec<f32> {
        (0..480)
            .map(|i| amplitude * (i as f32 * 2.0 * std::f32::consts::PI / 48.0).sin())
            .collect()
    }

    #[test]
    fn a_tone_passes_with_its_levels() {
        let o = judge(&measured(&sine(0.3)));
        assert_eq!(o.verdict, Verdict::Pass, "{}", o.sentence);
        let rms = o.figures["level"]["rms_dbfs"].as_f64().unwrap_or_default();
        // A sine's RMS is its amplitude over √2: −10.5 − 3.0 dBFS.
        assert!((rms + 13.5).abs() < 0.2, "{rms}");
    }

    #[test]
    fn silence_fails_and_says_where_to_look() {
        let o = judge(&measured(&[0.0; 480]));
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.sentence.contains("silence") && o.sentence.contains("muted"));
        assert_eq!(judge(&measured(&[])).verdict, Verdict::Fail);
    }

    #[test]
    fn clipping_is_a_warning() {
        let o = judge(&measured(
            &sine(4.0)
                .iter()
                .map(|s| s.clamp(-1.0, 1.0))
                .collect::<Vec<_>>(),
        ));
        assert_eq!(o.verdict, Verdict::Warning);
        assert!(o.sentence.contains("clipping"), "{}", o.sentence);
    }

    #[test]
    fn a_faint_microphone_is_a_warning() {
        assert_eq!(judge(&measured(&sine(0.003))).verdict, Verdict::Warning);
    }

    #[test]
    fn a_refused_microphone_fails() {
        let m = Measured {
            error: Some(OpenError::Refused),
            ..measured(&[])
        };
        assert!(judge(&m).sentence.contains("not allowed"));
    }
}
