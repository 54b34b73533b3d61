//! The video codec and bitrate cap the page chose, applied to each peer's transceivers.

use crate::call::room::roster::{share_kbps, DEFAULT_UPLOAD_KBPS};
use crate::js::{self, get};
use crate::settings::Codec;
use js_sys::{Array, Object, Promise, Reflect};
use std::cell::{Cell, RefCell};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::RtcPeerConnection;

/// The choices, shared by the app and the peers of its calls.
#[derive(Debug)]
pub struct Sending {
    codec: RefCell<Option<Codec>>,
    max_kbps: Cell<Option<u32>>,
    /// The upload a group call splits between its calls, and how many calls send now (0 or 1
    /// outside a group: nothing is split).
    budget_kbps: Cell<u32>,
    senders: Cell<usize>,
}

impl Default for Sending {
    fn default() -> Self {
        Self {
            codec: RefCell::default(),
            max_kbps: Cell::default(),
            budget_kbps: Cell::new(DEFAULT_UPLOAD_KBPS),
            senders: Cell::new(0),
        }
    }
}

impl Sending {
    pub fn codec(&self) -> Option<Codec> {
        self.codec.borrow().clone()
    }

    /// `true` if this changes the choice.
    pub fn set_codec(&self, codec: Option<Codec>) -> bool {
        self.codec.replace(codec.clone()) != codec
    }

    pub fn max_kbps(&self) -> Option<u32> {
        self.max_kbps.get()
    }

    pub fn set_max_kbps(&self, kbps: Option<u32>) {
        self.max_kbps.set(kbps);
    }

    pub fn budget_kbps(&self) -> u32 {
        self.budget_kbps.get()
    }

    pub fn set_budget_kbps(&self, kbps: u32) {
        self.budget_kbps.set(kbps);
    }

    pub fn senders(&self) -> usize {
        self.senders.get()
    }

    /// How many calls send this page's camera now.
    pub fn set_senders(&self, senders: usize) {
        self.senders.set(senders);
    }

    /// The cap each call's video is sent with: the person's own, or its share of the upload in
    /// a group call, whichever is lower.
    pub fn cap_kbps(&self) -> Option<u32> {
        share_kbps(self.budget_kbps(), self.senders(), self.max_kbps())
    }
}

/// `RTCRtpReceiver.getCapabilities("video").codecs`: what this browser can receive, in its own
/// order, as the browser's objects (which `setCodecPreferences` wants back).
fn capabilities() -> Vec<JsValue> {
    let receiver = get(&js_sys::global(), "RTCRtpReceiver");
    let Some(get_capabilities) = js::method(&receiver, "getCapabilities") else {
        return Vec::new();
    };
    get_capabilities
        .call1(&receiver, &JsValue::from_str("video"))
        .map(|caps| Array::from(&get(&caps, "codecs")).to_vec())
        .unwrap_or_default()
}

fn codec_of(capability: &JsValue) -> Codec {
    Codec::new(
        &js::string(capability, "mimeType"),
        &js::string(capability, "sdpFmtpLine"),
    )
}

/// The video codecs this browser can receive.
pub fn video_codecs() -> Vec<Codec> {
    capabilities().iter().map(codec_of).collect()
}

/// Whether this browser can reorder codecs (`setCodecPreferences`).
pub fn can_choose_codec() -> bool {
    js::prototype_method("RTCRtpTransceiver", "setCodecPreferences").is_some()
}

/// The peer's transceivers that carry video.
fn video_transceivers(pc: &RtcPeerConnection) -> impl Iterator<Item = JsValue> {
    pc.get_transceivers()
        .into_iter()
        .filter(|t| js::string(&get(&get(t, "receiver"), "track"), "kind") == "video")
}

/// Puts `codec` first on every video transceiver of `pc`; `None` sets the browser's own order
/// back (as the full list: Firefox 153's offers after `setCodecPreferences([])` list codecs that
/// Chromium cannot parse). Takes effect with the next offer or answer.
pub fn prefer(pc: &RtcPeerConnection, codec: Option<&Codec>) -> Result<(), JsValue> {
    let all = capabilities();
    let order: Array = match codec {
        Some(codec) => {
            let codecs: Vec<Codec> = all.iter().map(codec_of).collect();
            crate::settings::codec_order(&codecs, codec)
                .into_iter()
                .map(|i| all[i].clone())
                .collect()
        }
        None => all.iter().collect(),
    };
    for transceiver in video_transceivers(pc) {
        // Stopped transceivers throw; they carry nothing any more.
        if get(&transceiver, "currentDirection").as_string().as_deref() == Some("stopped") {
            continue;
        }
        let set = get(&transceiver, "setCodecPreferences").dyn_into::<js_sys::Function>()?;
        set.call1(&transceiver, &order)?;
    }
    Ok(())
}

/// Caps every video sender of `pc` at `kbps` (`None`: no cap), through `setParameters`; the
/// promises to await, one per sender.
pub fn cap_bitrate(pc: &RtcPeerConnection, kbps: Option<u32>) -> Result<Vec<Promise>, JsValue> {
    let mut settings = Vec::new();
    for sender in pc.get_senders() {
        if js::string(&get(&sender, "track"), "kind") != "video" {
            continue;
        }
        let parameters = get(&sender, "getParameters")
            .dyn_into::<js_sys::Function>()?
            .call0(&sender)?;
        let encodings = Array::from(&get(&parameters, "encodings"));
        if encodings.length() == 0 {
            // Before negotiation Firefox lists no encoding yet; the cap is set after it.
            continue;
        }
        for encoding in encodings.iter() {
            let encoding: Object = encoding.dyn_into()?;
            match kbps {
                Some(kbps) => {
                    Reflect::set(
                        &encoding,
                        &"maxBitrate".into(),
                        &(f64::from(kbps) * 1000.0).into(),
                    )?;
                }
                None => {
                    Reflect::delete_property(&encoding, &"maxBitrate".into())?;
                }
            }
        }
        let set = get(&sender, "setParameters").dyn_into::<js_sys::Function>()?;
        settings.push(set.call1(&sender, &parameters)?.dyn_into()?);
    }
    Ok(settings)
}
