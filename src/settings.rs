//! What the call's controls may be set to: resolution presets, the bitrate cap, the codec list.
//!
//! Plain Rust, no browser: the page reads a control's value, asks here whether it is one the
//! call can take, and hands the answer to the browser.

use std::fmt;

/// A capture setting the camera is asked for with `applyConstraints`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
    pub frame_rate: u32,
}

/// The presets the page offers, smallest first; the select's values are their indexes.
pub const RESOLUTIONS: [Resolution; 5] = [
    Resolution::new(320, 180, 15),
    Resolution::new(320, 240, 30),
    Resolution::new(640, 480, 30),
    Resolution::new(1280, 720, 30),
    Resolution::new(1920, 1080, 30),
];

impl Resolution {
    pub const fn new(width: u32, height: u32, frame_rate: u32) -> Self {
        Self {
            width,
            height,
            frame_rate,
        }
    }

    /// Whether a camera delivering `width`×`height` frames does what the preset asks.
    pub fn is_met_by(&self, width: f64, height: f64) -> bool {
        width == f64::from(self.width) && height == f64::from(self.height)
    }

    /// The preset a select's value names; `None` for "camera default" or anything else.
    pub fn preset(value: &str) -> Option<Self> {
        RESOLUTIONS.get(value.parse::<usize>().ok()?).copied()
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}×{} at {} fps",
            self.width, self.height, self.frame_rate
        )
    }
}

/// The bitrate caps the page accepts, in kbit/s: below 30 no codec keeps video alive, above
/// 20,000 nothing changes for a camera.
pub const MIN_KBPS: u32 = 30;
pub const MAX_KBPS: u32 = 20_000;

/// Why a bitrate cap was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BitrateRefused {
    NotANumber(String),
    OutOfRange(u32),
}

impl fmt::Display for BitrateRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotANumber(text) => write!(
                f,
                "“{text}” is not a bitrate: type whole kbit/s between {MIN_KBPS} and {MAX_KBPS}, or leave it empty for no cap."
            ),
            Self::OutOfRange(kbps) => write!(
                f,
                "{kbps} kbit/s is outside what the page sends: choose between {MIN_KBPS} and {MAX_KBPS} kbit/s, or leave it empty for no cap."
            ),
        }
    }
}

/// The video bitrate cap in the text a user typed: empty means no cap.
pub fn max_bitrate(text: &str) -> Result<Option<u32>, BitrateRefused> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let kbps: u32 = text
        .parse()
        .map_err(|_| BitrateRefused::NotANumber(text.to_owned()))?;
    if (MIN_KBPS..=MAX_KBPS).contains(&kbps) {
        Ok(Some(kbps))
    } else {
        Err(BitrateRefused::OutOfRange(kbps))
    }
}

/// The upload budget typed: kbit/s within the bitrate cap's range; empty is the default
/// ([`crate::call::room::roster::DEFAULT_UPLOAD_KBPS`]).
pub fn upload_budget(text: &str) -> Result<u32, BitrateRefused> {
    Ok(max_bitrate(text)?.unwrap_or(crate::call::room::roster::DEFAULT_UPLOAD_KBPS))
}

/// One entry of `enumerateDevices`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// "videoinput", "audioinput" or "audiooutput".
    pub kind: String,
    pub id: String,
    /// Empty until the page has been allowed a device.
    pub label: String,
}

impl Device {
    pub fn new(kind: &str, id: &str, label: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.to_owned(),
            label: label.to_owned(),
        }
    }
}

/// A picker's options after its "default" one: the devices of `kind`, as (id, label). The
/// browser's own "default" entry is that first option already, and a device without a label
/// (no permission yet) is named by `noun` and its number.
pub fn device_options(devices: &[Device], kind: &str, noun: &str) -> Vec<(String, String)> {
    devices
        .iter()
        .filter(|d| d.kind == kind && !d.id.is_empty() && d.id != "default")
        .enumerate()
        .map(|(i, d)| {
            let label = if d.label.is_empty() {
                format!("{noun} {}", i + 1)
            } else {
                d.label.clone()
            };
            (d.id.clone(), label)
        })
        .collect()
}

/// What a picker shows after its options change: the choice if it is still there, else the
/// default ("").
pub fn kept_choice<'a>(chosen: &'a str, options: &[(String, String)]) -> &'a str {
    if options.iter().any(|(value, _)| value == chosen) {
        chosen
    } else {
        ""
    }
}

/// One entry of `RTCRtpReceiver.getCapabilities("video").codecs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    pub mime_type: String,
    pub sdp_fmtp_line: String,
}

impl Codec {
    pub fn new(mime_type: &str, sdp_fmtp_line: &str) -> Self {
        Self {
            mime_type: mime_type.to_owned(),
            sdp_fmtp_line: sdp_fmtp_line.to_owned(),
        }
    }

    /// "VP8", "H264": the name the stats panel shows too.
    pub fn name(&self) -> &str {
        self.mime_type
            .split_once('/')
            .map_or(self.mime_type.as_str(), |(_, name)| name)
    }

    /// Retransmission and error correction are not choices: they ride along with every codec.
    pub fn is_choice(&self) -> bool {
        !matches!(
            self.name().to_ascii_lowercase().as_str(),
            "rtx" | "red" | "ulpfec" | "flexfec-03"
        )
    }

    /// The `key=value` pairs of the fmtp line.
    fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sdp_fmtp_line
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
    }

    fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// "VP9 (profile-id=2)": the name, and where entries share it, the parameters that tell
    /// them apart (not the ones they all have alike).
    pub fn label(&self, all: &[Codec]) -> String {
        let twins: Vec<&Codec> = all.iter().filter(|c| c.name() == self.name()).collect();
        let telling: Vec<String> = self
            .parameters()
            .filter(|(key, value)| {
                twins.len() > 1 && twins.iter().any(|t| t.parameter(key) != Some(value))
            })
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if telling.is_empty() {
            self.name().to_owned()
        } else {
            format!("{} ({})", self.name(), telling.join(", "))
        }
    }
}

/// The order for `setCodecPreferences`: the chosen codec first, then every other in the
/// browser's order, so that a remote end without the chosen one still finds one it has.
pub fn codec_order(all: &[Codec], chosen: &Codec) -> Vec<usize> {
    let first = all.iter().position(|c| c == chosen);
    first
        .into_iter()
        .chain((0..all.len()).filter(|&i| Some(i) != first))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_read_by_index_and_the_default_is_none() {
        assert_eq!(Resolution::preset("1"), Some(Resolution::new(320, 240, 30)));
        assert_eq!(Resolution::preset(""), None);
        assert_eq!(Resolution::preset("99"), None);
        assert_eq!(Resolution::preset("-1"), None);
        assert_eq!(RESOLUTIONS[3].to_string(), "1280×720 at 30 fps");
        assert!(RESOLUTIONS[1].is_met_by(320.0, 240.0));
        assert!(!RESOLUTIONS[1].is_met_by(640.0, 480.0));
        assert!(!RESOLUTIONS[1].is_met_by(f64::NAN, 240.0));
    }

    #[test]
    fn a_bitrate_cap_is_whole_kbits_in_range_or_none() {
        assert_eq!(max_bitrate(""), Ok(None));
        assert_eq!(max_bitrate("  "), Ok(None));
        assert_eq!(max_bitrate(" 250 "), Ok(Some(250)));
        assert_eq!(max_bitrate("30"), Ok(Some(30)));
        assert_eq!(max_bitrate("20000"), Ok(Some(20_000)));
        assert_eq!(max_bitrate("29"), Err(BitrateRefused::OutOfRange(29)));
        assert_eq!(max_bitrate("0"), Err(BitrateRefused::OutOfRange(0)));
        assert_eq!(
            max_bitrate("20001"),
            Err(BitrateRefused::OutOfRange(20_001))
        );
        assert!(matches!(
            max_bitrate("-5"),
            Err(BitrateRefused::NotANumber(_))
        ));
        assert!(matches!(
            max_bitrate("1.5"),
            Err(BitrateRefused::NotANumber(_))
        ));
        assert!(matches!(
            max_bitrate("99999999999"),
            Err(BitrateRefused::NotANumber(_))
        ));
        let refused = max_bitrate("5").unwrap_err().to_string();
        assert!(refused.contains("between 30 and 20000"), "{refused}");
    }

    fn chrome_like() -> Vec<Codec> {
        vec![
            Codec::new("video/VP8", ""),
            Codec::new("video/rtx", "apt=96"),
            Codec::new("video/VP9", "profile-id=0"),
            Codec::new("video/VP9", "profile-id=2"),
            Codec::new("video/AV1", "level-idx=5;profile=0;tier=0"),
            Codec::new("video/red", ""),
            Codec::new("video/ulpfec", ""),
        ]
    }

    #[test]
    fn only_real_codecs_are_choices_and_twins_show_their_parameters() {
        let all = chrome_like();
        let labels: Vec<String> = all
            .iter()
            .filter(|c| c.is_choice())
            .map(|c| c.label(&all))
            .collect();
        assert_eq!(
            labels,
            ["VP8", "VP9 (profile-id=0)", "VP9 (profile-id=2)", "AV1"]
        );
        let h264 = |mode: u8, profile: &str| {
            Codec::new(
                "video/H264",
                &format!("level-asymmetry-allowed=1;packetization-mode={mode};profile-level-id={profile}"),
            )
        };
        let all = [h264(1, "42001f"), h264(0, "42001f"), h264(1, "42e01f")];
        assert_eq!(
            all[0].label(&all),
            "H264 (packetization-mode=1, profile-level-id=42001f)"
        );
        assert_eq!(
            all[2].label(&all),
            "H264 (packetization-mode=1, profile-level-id=42e01f)"
        );
        // Firefox's single VP8 carries limits, not a choice.
        let firefox = [Codec::new("video/VP8", "max-fs=12288;max-fr=60")];
        assert_eq!(firefox[0].label(&firefox), "VP8");
    }

    #[test]
    fn the_chosen_codec_goes_first_and_the_rest_keep_their_order() {
        let all = chrome_like();
        assert_eq!(codec_order(&all, &all[3]), [3, 0, 1, 2, 4, 5, 6]);
        assert_eq!(codec_order(&all, &all[0]), [0, 1, 2, 3, 4, 5, 6]);
        // A codec the browser no longer lists changes nothing.
        let gone = Codec::new("video/H265", "");
        assert_eq!(codec_order(&all, &gone), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn pickers_list_each_device_once_and_name_the_unlabelled_ones() {
        let devices = [
            Device::new("audioinput", "default", "Default - Headset"),
            Device::new("audioinput", "a1", "Headset"),
            Device::new("videoinput", "v1", ""),
            Device::new("videoinput", "v2", ""),
            Device::new("videoinput", "", ""),
            Device::new("audiooutput", "o1", "Speakers"),
        ];
        let cameras = device_options(&devices, "videoinput", "Camera");
        assert_eq!(
            cameras,
            [
                ("v1".to_owned(), "Camera 1".to_owned()),
                ("v2".to_owned(), "Camera 2".to_owned())
            ]
        );
        let microphones = device_options(&devices, "audioinput", "Microphone");
        assert_eq!(microphones, [("a1".to_owned(), "Headset".to_owned())]);
        assert_eq!(kept_choice("v2", &cameras), "v2");
        assert_eq!(
            kept_choice("unplugged", &cameras),
            "",
            "back to the default"
        );
        assert_eq!(kept_choice("", &cameras), "");
    }
}
