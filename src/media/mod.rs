//! The local stream: opening, switching and sharing devices, and stopping every track.

/// The devices the browser lists, and the speaker the remote video plays on.
pub mod devices;

use crate::error::Error;
use crate::js;
use js_sys::{Object, Promise, Reflect};
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack};

/// Where the local stream comes from. The page uses [`UserMedia`]; tests and embedders can hand
/// the app any other source (a canvas capture, a stream that always fails…).
pub trait MediaSource {
    /// Starts one request; the promise resolves to a `MediaStream` or rejects with a
    /// `DOMException` whose name [`Error::from_name`] knows.
    fn request(&self, constraints: &MediaStreamConstraints) -> Result<Promise, Error>;

    /// Asks the user for a screen, a window or a tab to share: `getDisplayMedia`.
    fn display(&self) -> Result<Promise, Error> {
        let devices = media_devices()?;
        let display = js::method(&devices, "getDisplayMedia").ok_or(Error::NoScreenShare)?;
        let options = Object::new();
        Reflect::set(&options, &"video".into(), &JsValue::TRUE)?;
        Ok(display.call1(&devices, &options)?.dyn_into::<Promise>()?)
    }
}

/// `navigator.mediaDevices.getUserMedia(constraints)`.
#[derive(Debug, Default)]
pub struct UserMedia;

impl MediaSource for UserMedia {
    fn request(&self, constraints: &MediaStreamConstraints) -> Result<Promise, Error> {
        Ok(media_devices()?.get_user_media_with_constraints(constraints)?)
    }
}

pub use loopback_core::devices::media_devices;

/// Which of the local stream's tracks a track is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Camera,
    Microphone,
    Screen,
}

impl Role {
    fn of(track: &MediaStreamTrack) -> Self {
        if track.kind() == "audio" {
            Role::Microphone
        } else {
            Role::Camera
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Role::Microphone => "audio",
            Role::Camera | Role::Screen => "video",
        }
    }
}

/// Hears of a track that ended by itself: a device unplugged, the browser's "stop sharing".
pub type OnEnded = Rc<dyn Fn(Role)>;

/// A live local stream. Dropping it stops every track, which turns the camera light off.
///
/// The stream keeps its identity for its whole life: the videos and the calls hold it, and a
/// switched device or a shared screen changes the tracks in it, not the stream.
pub struct LocalMedia {
    stream: MediaStream,
    /// The camera's track while the screen is shown in its place.
    parked: Option<MediaStreamTrack>,
    on_ended: Option<OnEnded>,
    ended: Vec<EndedHandler>,
}

/// A track's `onended` handler, removed on drop. The handler property, not `addEventListener`:
/// Firefox 153 calls `onended` for an `ended` event dispatched on the track but not its
/// listeners.
struct EndedHandler {
    track: MediaStreamTrack,
    _callback: Closure<dyn FnMut()>,
}

impl EndedHandler {
    fn new(track: MediaStreamTrack, callback: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(callback);
        track.set_onended(Some(callback.as_ref().unchecked_ref()));
        Self {
            track,
            _callback: callback,
        }
    }
}

impl Drop for EndedHandler {
    fn drop(&mut self) {
        self.track.set_onended(None);
    }
}

impl std::fmt::Debug for LocalMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMedia")
            .field("stream", &self.stream.id())
            .field("sharing", &self.parked.is_some())
            .finish()
    }
}

impl LocalMedia {
    /// Asks `source` for a stream now and returns the wait for the answer, which does not
    /// borrow the source.
    pub fn open(source: &dyn MediaSource) -> impl Future<Output = Result<Self, Error>> {
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::TRUE);
        constraints.set_video(&JsValue::TRUE);
        Self::open_with(source, &constraints)
    }

    /// Like [`LocalMedia::open`], with the devices and settings `constraints` asks for.
    pub fn open_with(
        source: &dyn MediaSource,
        constraints: &MediaStreamConstraints,
    ) -> impl Future<Output = Result<Self, Error>> {
        let request = source.request(constraints);
        async move {
            let stream = JsFuture::from(request?).await?;
            let stream = stream.dyn_into::<MediaStream>().map_err(|_| {
                Error::from_name("TypeError", "the media source did not give a stream")
            })?;
            Ok(Self {
                stream,
                parked: None,
                on_ended: None,
                ended: Vec::new(),
            })
        }
    }

    /// Takes charge of a stream opened elsewhere (by the first module, before this one
    /// loaded): from now on it is stopped when dropped.
    pub fn adopt(stream: MediaStream) -> Self {
        Self {
            stream,
            parked: None,
            on_ended: None,
            ended: Vec::new(),
        }
    }

    /// Lets go of the stream without stopping it, for the module that takes over the page.
    pub fn hand_over(mut self) -> MediaStream {
        self.ended.clear();
        if let Some(camera) = self.parked.take() {
            camera.stop();
        }
        match MediaStream::new() {
            // What drops with `self` is then an empty stream: nothing is stopped.
            Ok(empty) => std::mem::replace(&mut self.stream, empty),
            // A browser that cannot make a stream: skip the drop, which would stop the tracks.
            Err(_) => {
                let stream = Clone::clone(&self.stream);
                std::mem::forget(self);
                stream
            }
        }
    }

    /// Opens `constraints` and returns the first track of `kind`, the others stopped.
    pub fn open_track(
        source: &dyn MediaSource,
        constraints: &MediaStreamConstraints,
        kind: &'static str,
    ) -> impl Future<Output = Result<MediaStreamTrack, Error>> {
        let opening = Self::open_with(source, constraints);
        async move {
            let media = opening.await?;
            let track = media
                .tracks()
                .find(|t| t.kind() == kind)
                .ok_or(Error::NoDevice)?;
            // The rest stops with `media`; this one leaves it first.
            media.stream.remove_track(&track);
            Ok(track)
        }
    }

    /// Tells `on_ended` of every track that ends by itself from now on.
    pub fn watch(&mut self, on_ended: OnEnded) {
        self.on_ended = Some(on_ended);
        self.rewatch();
    }

    fn rewatch(&mut self) {
        let Some(on_ended) = &self.on_ended else {
            return;
        };
        let on_ended = Rc::clone(on_ended);
        // The old handlers go first: each clears its track's `onended`, and most of those
        // tracks get a new handler below.
        self.ended.clear();
        let sharing = self.parked.is_some();
        let roles = self.tracks().map(|track| {
            let role = match Role::of(&track) {
                Role::Camera if sharing => Role::Screen,
                role => role,
            };
            (track, role)
        });
        let parked = self.parked.clone().map(|camera| (camera, Role::Camera));
        self.ended = roles
            .chain(parked)
            .map(|(track, role)| {
                let on_ended = Rc::clone(&on_ended);
                EndedHandler::new(track, move || on_ended(role))
            })
            .collect();
    }

    /// The stream's track of `kind` ("audio" or "video").
    pub fn track(&self, kind: &str) -> Option<MediaStreamTrack> {
        self.tracks().find(|t| t.kind() == kind)
    }

    /// Puts `track` in the place of the track of its kind, which is stopped; the new one is
    /// enabled as the old one was. While the screen is shared, a camera track takes the parked
    /// camera's place and shows when sharing stops. `Some(track)` if it is in the stream now,
    /// for the call to send.
    pub fn replace(&mut self, track: MediaStreamTrack) -> Option<MediaStreamTrack> {
        let kind = track.kind();
        if let Some(parked) = self.parked.as_mut().filter(|_| kind == "video") {
            track.set_enabled(parked.enabled());
            parked.stop();
            *parked = track;
            self.rewatch();
            return None;
        }
        if let Some(old) = self.track(&kind) {
            track.set_enabled(old.enabled());
            self.stream.remove_track(&old);
            old.stop();
        }
        self.stream.add_track(&track);
        self.rewatch();
        Some(track)
    }

    /// Shows `screen` in the camera's place; the camera stays open for [`LocalMedia::unshare`].
    pub fn share(&mut self, screen: MediaStreamTrack) {
        if let Some(camera) = self.track("video") {
            self.stream.remove_track(&camera);
            if let Some(old) = self.parked.replace(camera) {
                old.stop();
            }
        }
        self.stream.add_track(&screen);
        self.rewatch();
    }

    /// Stops the shared screen and puts the camera back; returns the camera's track.
    pub fn unshare(&mut self) -> Option<MediaStreamTrack> {
        let camera = self.parked.take()?;
        if let Some(screen) = self.track("video") {
            self.stream.remove_track(&screen);
            screen.stop();
        }
        self.stream.add_track(&camera);
        self.rewatch();
        Some(camera)
    }

    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    pub fn tracks(&self) -> impl Iterator<Item = MediaStreamTrack> {
        loopback_core::devices::tracks(&self.stream).into_iter()
    }

    /// "camera “…”, microphone “…”": the device labels, so the user sees which devices opened.
    pub fn describe(&self) -> String {
        loopback_core::devices::describe(&self.stream)
    }
}

impl Drop for LocalMedia {
    fn drop(&mut self) {
        self.ended.clear();
        for track in self.tracks().chain(self.parked.take()) {
            track.stop();
        }
    }
}
