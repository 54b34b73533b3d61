//! The devices the browser lists, the constraints that open one, and the speaker in use.

use crate::error::Error;
use crate::js;
use crate::settings::{Device, Resolution};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlMediaElement, MediaStreamConstraints};

/// Every device the browser lists now.
pub async fn list() -> Result<Vec<Device>, Error> {
    let listing = super::media_devices()?.enumerate_devices()?;
    let devices = JsFuture::from(listing).await?;
    // Read as plain properties: `kind` without web-sys' enum, and any object that has them.
    Ok(Array::from(&devices)
        .iter()
        .map(|d| Device {
            kind: js::string(&d, "kind"),
            id: js::string(&d, "deviceId"),
            label: js::string(&d, "label"),
        })
        .collect())
}

/// The constraints for one kind: the chosen device exactly (empty: the browser's default), and
/// for video the resolution preset.
pub fn track_constraints(device: &str, resolution: Option<Resolution>) -> JsValue {
    if device.is_empty() && resolution.is_none() {
        return JsValue::TRUE;
    }
    let constraints = Object::new();
    if !device.is_empty() {
        set(&constraints, "deviceId", &exact(&JsValue::from_str(device)));
    }
    if let Some(resolution) = resolution {
        add_resolution(&constraints, resolution);
    }
    constraints.into()
}

/// `{width: {exact}, height: {exact}, frameRate: {max}}` for `applyConstraints`: the frame size
/// the preset promises, and at most its frame rate (a camera may deliver fewer in dim light).
pub fn resolution_constraints(resolution: Option<Resolution>) -> JsValue {
    let constraints = Object::new();
    if let Some(resolution) = resolution {
        add_resolution(&constraints, resolution);
    }
    constraints.into()
}

fn add_resolution(constraints: &Object, resolution: Resolution) {
    set(constraints, "width", &exact(&resolution.width.into()));
    set(constraints, "height", &exact(&resolution.height.into()));
    let rate = Object::new();
    set(&rate, "max", &resolution.frame_rate.into());
    set(constraints, "frameRate", &rate);
}

fn exact(value: &JsValue) -> JsValue {
    let object = Object::new();
    set(&object, "exact", value);
    object.into()
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a plain property of a fresh object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// Camera and microphone, each as `track_constraints` makes it.
pub fn constraints(camera: JsValue, microphone: JsValue) -> MediaStreamConstraints {
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&camera);
    constraints.set_audio(&microphone);
    constraints
}

/// Whether this browser can choose the speaker a media element plays on (`setSinkId`).
pub fn can_choose_speaker() -> bool {
    sink_method().is_some()
}

fn sink_method() -> Option<Function> {
    js::prototype_method("HTMLMediaElement", "setSinkId")
}

/// Plays `element` on the speaker `id` (empty: the system's default).
pub async fn set_speaker(element: &HtmlMediaElement, id: &str) -> Result<(), Error> {
    let method = sink_method().ok_or(Error::NoSpeakerChoice)?;
    let setting: Promise = method.call1(element, &JsValue::from_str(id))?.dyn_into()?;
    JsFuture::from(setting).await?;
    Ok(())
}
