//! The camera at each common resolution: what it delivered, how fast, how soon, and whether its
//! picture is black or frozen (judged from frames the page samples through a canvas).

use crate::verdict::{Check, Outcome, Verdict};
use serde::Serialize;

/// The resolutions asked for, smallest first: what calls commonly send.
pub const LADDER: [(u32, u32); 4] = [(320, 240), (640, 480), (1280, 720), (1920, 1080)];

/// Frames a second under which video looks choppy.
pub const SMOOTH_FPS: f64 = 15.0;

/// Mean luma (0–255) under which a frame is dark, and spread under which it is flat: together,
/// black (a covered lens, a privacy shutter, a camera the system gives nothing from).
const BLACK_LUMA: f64 = 12.0;
const FLAT_SPREAD: f64 = 4.0;
/// Mean luma difference between frames a second apart under which nothing moved at all: a live
/// sensor's noise alone is above it.
const FROZEN_DIFFERENCE: f64 = 0.25;

/// Why the camera could not be opened, from the browser's error name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "detail")]
pub enum OpenError {
    /// `NotAllowedError`: the person or a policy said no.
    Refused,
    /// `NotFoundError`: no camera.
    NotFound,
    /// `NotReadableError`, `AbortError`: another program holds it, or the system would not start it.
    Busy,
    /// `OverconstrainedError`: it cannot give this resolution at all.
    Overconstrained,
    /// Anything else, as the browser said it.
    Other(String),
}

impl OpenError {
    /// From a `DOMException`'s name and message.
    pub fn from_dom(name: &str, message: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => OpenError::Refused,
            "NotFoundError" | "DevicesNotFoundError" => OpenError::NotFound,
            "NotReadableError" | "TrackStartError" | "AbortError" => OpenError::Busy,
            "OverconstrainedError" | "ConstraintNotSatisfiedError" => OpenError::Overconstrained,
            _ => OpenError::Other(format!("{name}: {message}")),
        }
    }
}

/// One resolution asked for, and what came.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Opened {
    pub asked: (u32, u32),
    /// The frame size delivered, if it opened.
    pub delivered: Option<(u32, u32)>,
    /// Frames a second delivered, counted over the measurement.
    pub fps: Option<f64>,
    /// From asking to the first frame shown, ms.
    pub first_frame_ms: Option<f64>,
    pub error: Option<OpenError>,
}

impl Opened {
    /// Whether it delivered at least the size asked for (a camera may crop or scale up to it).
    pub fn reached(&self) -> bool {
        self.delivered
            .is_some_and(|(w, h)| w >= self.asked.0 && h >= self.asked.1)
    }
}

/// A frame as sampled: its mean luma and that luma's spread (standard deviation), 0–255.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FrameSample {
    pub luma: f64,
    pub spread: f64,
}

/// Luma (BT.601) of RGBA pixels, as `getImageData` gives them.
fn lumas(rgba: &[u8]) -> impl Iterator<Item = f64> + '_ {
    rgba.chunks_exact(4)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
}

/// A frame's mean luma and spread.
pub fn sample(rgba: &[u8]) -> FrameSample {
    let n = (rgba.len() / 4).max(1) as f64;
    let mean = lumas(rgba).sum::<f64>() / n;
    let variance = lumas(rgba).map(|y| (y - mean).powi(2)).sum::<f64>() / n;
    FrameSample {
        luma: mean,
        spread: variance.sqrt(),
    }
}

/// Mean absolute luma difference between two frames of the same size (0 when they differ in size).
pub fn difference(a: &[u8], b: &[u8]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let n = (a.len() / 4) as f64;
    lumas(a)
        .zip(lumas(b))
        .map(|(x, y)| (x - y).abs())
        .sum::<f64>()
        / n
}

/// What the picture looked like over the frames sampled.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Picture {
    pub samples: Vec<FrameSample>,
    /// The difference between each sample and the one before it.
    pub differences: Vec<f64>,
}

impl Picture {
    /// Every sample dark and flat.
    pub fn black(&self) -> bool {
        !self.samples.is_empty()
            && self
                .samples
                .iter()
                .all(|s| s.luma < BLACK_LUMA && s.spread < FLAT_SPREAD)
    }

    /// Not black, but no two samples differ: the same picture again and again.
    pub fn frozen(&self) -> bool {
        self.differences.len() >= 2
            && !self.black()
            && self.differences.iter().all(|d| *d < FROZEN_DIFFERENCE)
    }
}

/// Everything the camera check measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured {
    /// The ladder, in order.
    pub resolutions: Vec<Opened>,
    /// Frames sampled at the default resolution.
    pub picture: Picture,
}

fn size((w, h): (u32, u32)) -> String {
    format!("{w}×{h}")
}

/// The camera's verdict.
pub fn judge(m: &Measured) -> Outcome {
    let outcome =
        |verdict, sentence: String| Outcome::new(Check::Camera, verdict, sentence).with(m);
    let opened: Vec<&Opened> = m
        .resolutions
        .iter()
        .filter(|o| o.delivered.is_some())
        .collect();
    if opened.is_empty() {
        let error = m.resolutions.iter().find_map(|o| o.error.clone());
        let sentence = match error {
            Some(OpenError::Refused) => "The browser was not allowed to use the camera: allow it \
                (the camera icon in the address bar, or the system's privacy settings) and check \
                again."
                .to_owned(),
            Some(OpenError::NotFound) => "No camera was found: connect one, or check that the \
                system sees it (and that no policy hides it from the browser)."
                .to_owned(),
            Some(OpenError::Busy) => "The camera is there but would not start: another program or \
                tab may be using it. Close it and check again."
                .to_owned(),
            Some(OpenError::Overconstrained) => {
                "The camera gives none of the common resolutions (320×240 to 1920×1080).".to_owned()
            }
            Some(OpenError::Other(what)) => format!("The camera could not be opened ({what})."),
            None => "The camera could not be opened.".to_owned(),
        };
        return outcome(Verdict::Fail, sentence);
    }
    if m.picture.black() {
        return outcome(
            Verdict::Fail,
            "The camera opens but its picture is black: check for a lens cover or a privacy \
             switch, and that the right camera is chosen."
                .to_owned(),
        );
    }
    if m.picture.frozen() {
        return outcome(
            Verdict::Fail,
            "The camera opens but its picture does not change: the camera or its driver is \
             stuck. Unplug it or restart the browser, and check again."
                .to_owned(),
        );
    }
    let best = opened
        .iter()
        .filter(|o| o.reached())
        .map(|o| o.asked)
        .max_by_key(|(w, h)| w * h);
    let largest = LADDER[LADDER.len() - 1];
    let slow = opened
        .iter()
        .filter(|o| o.fps.is_some_and(|fps| fps < SMOOTH_FPS))
        .min_by(|a, b| a.fps.unwrap_or(0.0).total_cmp(&b.fps.unwrap_or(0.0)));
    match best {
        Some(best) if best == largest => {}
        Some(best) => {
            return outcome(
                Verdict::Warning,
                format!(
                    "The camera gives at most {}: calls will send no more than that (HD needs \
                     1280×720, full HD {}).",
                    size(best),
                    size(largest)
                ),
            )
        }
        None => {
            let got = opened[0].delivered.map(size).unwrap_or_default();
            return outcome(
                Verdict::Warning,
                format!("The camera gives only {got}, smaller than any common resolution."),
            );
        }
    }
    if let Some(slow) = slow {
        return outcome(
            Verdict::Warning,
            format!(
                "The camera gives {:.0} frames a second at {}: video will look choppy. More \
                 light, or a lower resolution, usually helps.",
                slow.fps.unwrap_or(0.0),
                size(slow.asked)
            ),
        );
    }
    let rate = match opened
        .iter()
        .find(|o| o.asked == largest)
        .and_then(|o| o.fps)
    {
        Some(fps) => format!(" at {fps:.0} frames a second"),
        // The browser did not count the frames shown: no rate is claimed.
        None => String::new(),
    };
    outcome(
        Verdict::Pass,
        format!(
            "The camera works at every common resolution, up to {}{rate}.",
            size(largest)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(asked: (u32, u32), delivered: Option<(u32, u32)>, fps: f64) -> Opened {
        Opened {
            asked,
            delivered,
            fps: delivered.map(|_| fps),
            first_frame_ms: delivered.map(|_| 180.0),
            error: None,
        }
    }

    fn live() -> Picture {
        Picture {
            samples: vec![
                FrameSample {
                    luma: 90.0,
                    spread: 40.0
                };
                3
            ],
            differences: vec![3.0, 2.5],
        }
    }

    fn all_reached(fps: f64) -> Measured {
        Measured {
            resolutions: LADDER.iter().map(|&r| opened(r, Some(r), fps)).collect(),
            picture: live(),
        }
    }

    #[test]
    fn every_resolution_at_a_good_rate_passes() {
        let o = judge(&all_reached(30.0));
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(o.sentence.contains("1920×1080 at 30"), "{}", o.sentence);
        assert_eq!(o.figures["resolutions"][3]["delivered"][0], 1920);
    }

    #[test]
    fn a_camera_short_of_full_hd_is_a_warning_naming_its_largest() {
        let mut m = all_reached(30.0);
        m.resolutions[3] = opened((1920, 1080), Some((1280, 720)), 30.0);
        let o = judge(&m);
        assert_eq!(o.verdict, Verdict::Warning);
        assert!(o.sentence.contains("at most 1280×720"), "{}", o.sentence);
        m.resolutions[3].delivered = None;
        m.resolutions[3].error = Some(OpenError::Overconstrained);
        assert!(judge(&m).sentence.contains("at most 1280×720"));
    }

    #[test]
    fn a_refused_camera_fails_with_what_to_do() {
        let m = Measured {
            resolutions: LADDER
                .iter()
                .map(|&r| Opened {
                    error: Some(OpenError::from_dom("NotAllowedError", "Permission denied")),
                    ..opened(r, None, 0.0)
                })
                .collect(),
            picture: Picture::default(),
        };
        let o = judge(&m);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.sentence.contains("not allowed"), "{}", o.sentence);
    }

    #[test]
    fn missing_and_busy_cameras_say_so() {
        for (name, words) in [
            ("NotFoundError", "No camera"),
            ("NotReadableError", "another program"),
        ] {
            let m = Measured {
                resolutions: vec![Opened {
                    error: Some(OpenError::from_dom(name, "")),
                    ..opened((320, 240), None, 0.0)
                }],
                picture: Picture::default(),
            };
            assert!(judge(&m).sentence.contains(words), "{name}");
        }
    }

    #[test]
    fn black_and_frozen_pictures_fail() {
        let mut m = all_reached(30.0);
        let black = [0u8, 0, 0, 255].repeat(64);
        m.picture.samples = vec![sample(&black); 3];
        let o = judge(&m);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.sentence.contains("black"));

        let mut m = all_reached(30.0);
        let still: Vec<u8> = (0..256u32)
            .flat_map(|i| [(i % 251) as u8, 80, 40, 255])
            .collect();
        m.picture.samples = vec![sample(&still); 3];
        m.picture.differences = vec![difference(&still, &still); 2];
        let o = judge(&m);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.sentence.contains("does not change"), "{}", o.sentence);
    }

    #[test]
    fn an_uncounted_rate_is_not_claimed() {
        let mut m = all_reached(30.0);
        for o in &mut m.resolutions {
            o.fps = None;
        }
        let o = judge(&m);
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(o.sentence.ends_with("up to 1920×1080."), "{}", o.sentence);
    }

    #[test]
    fn a_slow_camera_is_a_warning() {
        let o = judge(&all_reached(8.0));
        assert_eq!(o.verdict, Verdict::Warning);
        assert!(o.sentence.contains("8 frames a second"), "{}", o.sentence);
    }

    #[test]
    fn luma_and_difference_are_measured() {
        let white = vec![255u8; 4 * 16];
        let black = [0u8, 0, 0, 255].repeat(16);
        assert!((sample(&white).luma - 255.0).abs() < 0.01);
        assert!(sample(&white).spread < 0.01);
        assert!((difference(&white, &black) - 255.0).abs() < 0.01);
        assert_eq!(difference(&white, &black[..8]), 0.0);
    }
}
