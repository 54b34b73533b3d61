//! The local camera and microphone: asking for them, and letting go of every track.

use crate::error::Error;
use js_sys::{Promise, Reflect};
use std::future::Future;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaDevices, MediaStream, MediaStreamConstraints, MediaStreamTrack};

/// Where the local stream comes from. The page uses [`UserMedia`]; tests and embedders can hand
/// the app any other source (a canvas capture, a stream that always fails…).
pub trait MediaSource {
    /// Starts one request; the promise resolves to a `MediaStream` or rejects with a
    /// `DOMException` whose name [`Error::from_name`] knows.
    fn request(&self) -> Result<Promise, Error>;
}

/// `navigator.mediaDevices.getUserMedia({audio: true, video: true})`.
#[derive(Debug, Default)]
pub struct UserMedia;

impl MediaSource for UserMedia {
    fn request(&self) -> Result<Promise, Error> {
        let window = web_sys::window().ok_or(Error::InsecureContext)?;
        // Outside a secure context the property is simply absent, and calling through the
        // binding would throw a TypeError that tells the user nothing.
        let devices = Reflect::get(&window.navigator(), &JsValue::from_str("mediaDevices"))
            .ok()
            .filter(|d| !d.is_undefined() && !d.is_null())
            .ok_or(Error::InsecureContext)?
            .unchecked_into::<MediaDevices>();
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::TRUE);
        constraints.set_video(&JsValue::TRUE);
        Ok(devices.get_user_media_with_constraints(&constraints)?)
    }
}

/// A live local stream. Dropping it stops every track, which turns the camera light off.
#[derive(Debug)]
pub struct LocalMedia {
    stream: MediaStream,
}

impl LocalMedia {
    /// Asks `source` for a stream now and returns the wait for the answer, which does not
    /// borrow the source.
    pub fn open(source: &dyn MediaSource) -> impl Future<Output = Result<Self, Error>> {
        let request = source.request();
        async move {
            let stream = JsFuture::from(request?).await?;
            let stream = stream.dyn_into::<MediaStream>().map_err(|_| {
                Error::from_name("TypeError", "the media source did not give a stream")
            })?;
            Ok(Self { stream })
        }
    }

    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    pub fn tracks(&self) -> impl Iterator<Item = MediaStreamTrack> {
        self.stream
            .get_tracks()
            .into_iter()
            .filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok())
    }

    /// "camera “…”, microphone “…”": the device labels, so the user sees which devices opened.
    pub fn describe(&self) -> String {
        let labels: Vec<String> = self
            .tracks()
            .map(|t| describe_track(&t.kind(), &t.label()))
            .collect();
        labels.join(", ")
    }
}

impl Drop for LocalMedia {
    fn drop(&mut self) {
        for track in self.tracks() {
            track.stop();
        }
    }
}

/// One track in words: its role and its device label.
pub fn describe_track(kind: &str, label: &str) -> String {
    let role = match kind {
        "video" => "camera",
        "audio" => "microphone",
        other => other,
    };
    if label.is_empty() {
        role.to_owned()
    } else {
        format!("{role} “{label}”")
    }
}

#[cfg(test)]
mod tests {
    use super::describe_track;

    #[test]
    fn tracks_are_named_by_role_and_label() {
        assert_eq!(
            describe_track("video", "fake_device_0"),
            "camera “fake_device_0”"
        );
        assert_eq!(describe_track("audio", ""), "microphone");
        assert_eq!(describe_track("other", "x"), "other “x”");
    }
}
