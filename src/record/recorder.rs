//! The browser's side of a recording, kept thin: a canvas the chosen videos are drawn on, the
//! sound (a track, or a Web Audio mix), a `MediaRecorder` whose parts stay Blobs in the browser,
//! and the file offered through an object URL. [`super::plan`] decides everything.

use super::plan::{self, Format, Place, Size};
use super::webm;
use crate::error::Error;
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AudioContext, AudioContextState, Blob, BlobEvent, BlobPropertyBag, CanvasRenderingContext2d,
    HtmlCanvasElement, HtmlVideoElement, MediaRecorder, MediaRecorderOptions, MediaStream,
    MediaStreamAudioDestinationNode, MediaStreamAudioSourceNode, MediaStreamTrack,
    MediaStreamTrackState, Url,
};

/// Frames per second drawn and recorded: the cameras' own rate, no more.
const FPS: u32 = 30;

/// What the recorder tells its owner.
pub enum Event {
    /// It handed over this many more bytes.
    Data(f64),
    /// It stopped (asked to, or by itself): the file is complete.
    Stopped,
    /// It failed.
    Failed(Error),
    /// A video drawn has no frames any more (its track ended, or the stream left its element).
    SourceGone,
}

/// The stream an element plays, if any.
pub fn stream_of(video: &HtmlVideoElement) -> Option<MediaStream> {
    video.src_object()?.dyn_into::<MediaStream>().ok()
}

/// The first live track of `kind` in what `video` plays.
fn live_track(video: &HtmlVideoElement, kind: &str) -> Option<MediaStreamTrack> {
    let stream = stream_of(video)?;
    let tracks = if kind == "audio" {
        stream.get_audio_tracks()
    } else {
        stream.get_video_tracks()
    };
    tracks
        .iter()
        .filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok())
        .find(|t| t.ready_state() == MediaStreamTrackState::Live)
}

/// Whether `video` shows frames now.
pub fn playing(video: &HtmlVideoElement) -> bool {
    video.video_width() > 0 && live_track(video, "video").is_some()
}

/// A video's frame size now.
pub fn size_of(video: &HtmlVideoElement) -> Size {
    Size::new(video.video_width(), video.video_height())
}

/// Both sounds mixed with Web Audio into one track, since `MediaRecorder` records one audio
/// track. Closed when dropped.
pub struct Mix {
    context: AudioContext,
    destination: MediaStreamAudioDestinationNode,
    _sources: Vec<MediaStreamAudioSourceNode>,
}

impl Mix {
    /// A mix of the sound of every element in `videos` that has any.
    pub fn new(videos: &[&HtmlVideoElement]) -> Result<Self, Error> {
        let context = AudioContext::new()?;
        // Whole before anything else can fail: a mix that fails half-built is dropped, and its
        // context closed, like any other.
        let destination = match context.create_media_stream_destination() {
            Ok(destination) => destination,
            Err(e) => {
                let _ = context.close();
                return Err(e.into());
            }
        };
        let mut mix = Self {
            context,
            destination,
            _sources: Vec::new(),
        };
        for video in videos {
            if live_track(video, "audio").is_none() {
                continue;
            }
            if let Some(stream) = stream_of(video) {
                let source = mix.context.create_media_stream_source(&stream)?;
                source.connect_with_audio_node(&mix.destination)?;
                mix._sources.push(source);
            }
        }
        Ok(mix)
    }

    /// Asks the mix to run and waits up to `ms` for it: `false` if it stays suspended, as in a
    /// Firefox with no audio output device, where a suspended mix records silence.
    pub async fn runs_within(&self, ms: i32) -> bool {
        if let (Ok(resuming), Some(window)) = (self.context.resume(), web_sys::window()) {
            // A promise settled by the browser's own timer: `resolve` is a JS function, so no
            // Rust callback outlives this wait.
            let timeout = js_sys::Promise::new(&mut |resolve, _| {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            });
            let first = js_sys::Promise::race(&js_sys::Array::of2(&resuming, &timeout));
            let _ = JsFuture::from(first).await;
        }
        self.context.state() == AudioContextState::Running
    }

    fn track(&self) -> Option<MediaStreamTrack> {
        self.destination
            .stream()
            .get_audio_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
            .ok()
    }
}

impl Drop for Mix {
    fn drop(&mut self) {
        if let Some(track) = self.track() {
            track.stop();
        }
        let _ = self.context.close();
    }
}

/// Where the sound comes from.
pub enum Sound {
    /// One element's own track (the local microphone, or the remote sound).
    Track(HtmlVideoElement),
    /// A mix, running.
    Mix(Mix),
}

/// A recording under way: the canvas drawn on a timer, the recorder, its parts. Dropping it
/// stops everything it started (its drawing, its canvas track, its mix) and lets go of the parts.
pub struct Recording {
    recorder: MediaRecorder,
    parts: js_sys::Array,
    format: Format,
    canvas_track: Option<MediaStreamTrack>,
    /// The sound's own clone of a track, if it has one, and the track it was cloned from: the
    /// clone follows that track's mute.
    audio_track: Option<MediaStreamTrack>,
    audio_source: Option<MediaStreamTrack>,
    draw: Option<Interval>,
    _sound: Option<Mix>,
    _listeners: Vec<EventListener>,
}

impl Recording {
    /// Starts recording `videos` (one, or local and remote side by side) with `sound`, as
    /// `format`; `told` hears what happens.
    pub fn start(
        videos: Vec<HtmlVideoElement>,
        what: plan::What,
        sound: Sound,
        format: Format,
        told: Rc<dyn Fn(Event)>,
    ) -> Result<Self, Error> {
        let size = |i: usize| videos.get(i).map_or(Size::new(0, 0), size_of);
        let (local, remote) = match what {
            plan::What::Remote => (Size::new(0, 0), size(0)),
            plan::What::Local => (size(0), Size::new(0, 0)),
            plan::What::Both => (size(0), size(1)),
        };
        let (canvas_size, places) =
            plan::layout(what, local, remote).ok_or(Error::NothingToRecord)?;
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(Error::MissingElement("document"))?;
        let canvas: HtmlCanvasElement = document
            .create_element("canvas")
            .map_err(did_not_start)?
            .unchecked_into();
        canvas.set_width(canvas_size.width);
        canvas.set_height(canvas_size.height);
        let context: CanvasRenderingContext2d = canvas
            .get_context("2d")
            .map_err(did_not_start)?
            .ok_or(Error::RecordingDidNotStart("no canvas to draw on".into()))?
            .unchecked_into();
        let canvas_stream = canvas
            .capture_stream_with_frame_request_rate(FPS.into())
            .map_err(did_not_start)?;
        let canvas_track = canvas_stream
            .get_video_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
            .ok();
        // Every track made from here on is stopped if a step below fails.
        let mut made = Made(canvas_track.iter().cloned().collect());

        let (mix, audio, audio_source) = match sound {
            // A clone, which this recording stops: HangUp stops the camera's own tracks at once,
            // and a recorder whose track ends under it may lose what it had not yet encoded
            // (Firefox lost the last second). The inherent `clone`: JavaScript's, a new track,
            // which starts muted or not as its source is, and then follows it (`mute_follows`).
            Sound::Track(video) => {
                let source = live_track(&video, "audio");
                let clone = source.as_ref().map(MediaStreamTrack::clone);
                made.0.extend(clone.iter().cloned());
                (None, clone, source)
            }
            Sound::Mix(mix) => {
                let track = mix.track();
                (Some(mix), track, None)
            }
        };
        let recorded = MediaStream::new().map_err(did_not_start)?;
        canvas_track.iter().for_each(|t| recorded.add_track(t));
        audio.iter().for_each(|t| recorded.add_track(t));
        let audio_track = audio.filter(|_| mix.is_none());

        let options = MediaRecorderOptions::new();
        options.set_mime_type(format.mime);
        let recorder =
            MediaRecorder::new_with_media_stream_and_media_recorder_options(&recorded, &options)
                .map_err(did_not_start)?;
        let parts = js_sys::Array::new();

        // The first frame before the recorder starts: a recording never opens on an empty canvas.
        let draw_all = {
            let (context, videos, told) = (context.clone(), videos.clone(), Rc::clone(&told));
            let mut gone = false;
            move || {
                for (video, slot) in videos.iter().zip(&places) {
                    if !playing(video) {
                        if !gone {
                            gone = true;
                            told(Event::SourceGone);
                        }
                        continue;
                    }
                    draw(&context, video, *slot);
                }
            }
        };
        let mut draw_all = draw_all;
        draw_all();
        let draw = Interval::new(1000 / FPS, draw_all);

        let listeners = vec![
            {
                let (parts, told) = (parts.clone(), Rc::clone(&told));
                EventListener::new(&recorder, "dataavailable", move |event| {
                    let Some(blob) = event.dyn_ref::<BlobEvent>().and_then(BlobEvent::data) else {
                        return;
                    };
                    // The part stays a Blob in the browser: only its size comes into wasm.
                    if blob.size() > 0.0 {
                        told(Event::Data(blob.size()));
                        parts.push(&blob);
                    }
                })
            },
            {
                let told = Rc::clone(&told);
                EventListener::new(&recorder, "stop", move |_| told(Event::Stopped))
            },
            {
                let told = Rc::clone(&told);
                EventListener::new(&recorder, "error", move |event| {
                    // The error event's `error` is a DOMException: its name says what failed.
                    let detail = crate::js::present(event, "error")
                        .map(|e| Error::from(e).to_string())
                        .unwrap_or_else(|| "the browser gave no reason".to_owned());
                    told(Event::Failed(Error::RecordingFailed(detail)))
                })
            },
        ];
        // A part each second: the size so far shows as it grows, and a failure loses little.
        recorder
            .start_with_time_slice(1000)
            .map_err(did_not_start)?;
        // Started: the recording owns its tracks now, and stops them when it goes.
        made.0.clear();
        Ok(Self {
            recorder,
            parts,
            format,
            canvas_track,
            audio_track,
            audio_source,
            draw: Some(draw),
            _sound: mix,
            _listeners: listeners,
        })
    }

    /// Asks the recorder to stop: it hands over its last part, then says [`Event::Stopped`].
    /// The drawing stops now: nothing drawn after this is recorded.
    pub fn stop(&mut self) {
        self.draw = None;
        if self.recorder.state() != web_sys::RecordingState::Inactive {
            let _ = self.recorder.stop();
        }
    }

    /// The file recorded, offered under `name`; a WebM without a duration gets `ms` written
    /// into its head.
    pub async fn file(&self, name: String, ms: f64) -> Result<Recorded, Error> {
        let options = BlobPropertyBag::new();
        // The recorder's own type (with its codecs), else the one asked for.
        let mime = self.recorder.mime_type();
        options.set_type(if mime.is_empty() {
            self.format.mime
        } else {
            &mime
        });
        let parts = match self.format.extension {
            "webm" => with_duration(&self.parts, ms).await,
            _ => None,
        };
        let blob = Blob::new_with_blob_sequence_and_options(
            parts.as_ref().unwrap_or(&self.parts),
            &options,
        )?;
        let url = Url::create_object_url_with_blob(&blob)?;
        Ok(Recorded {
            url,
            name,
            bytes: blob.size(),
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// `track` was muted or unmuted on the page: the recording's own copy of it follows, or a
    /// muted microphone would go on being recorded.
    pub fn mute_follows(&self, track: &MediaStreamTrack) {
        if let (Some(copy), Some(source)) = (&self.audio_track, &self.audio_source) {
            if source == track {
                copy.set_enabled(track.enabled());
            }
        }
    }
}

/// A browser step of starting a recording failed: said in the recorder's words (the browser's
/// own name for it), not as the camera's troubles the same names mean elsewhere.
fn did_not_start(e: wasm_bindgen::JsValue) -> Error {
    let (name, message) = (
        crate::js::string(&e, "name"),
        crate::js::string(&e, "message"),
    );
    Error::RecordingDidNotStart(if message.is_empty() {
        name
    } else {
        format!("{name}: {message}")
    })
}

/// Tracks a recording made before it started: stopped unless the recording took them over.
struct Made(Vec<MediaStreamTrack>);

impl Drop for Made {
    fn drop(&mut self) {
        for track in &self.0 {
            track.stop();
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.draw = None;
        if self.recorder.state() != web_sys::RecordingState::Inactive {
            let _ = self.recorder.stop();
        }
        for track in self.canvas_track.iter().chain(&self.audio_track) {
            track.stop();
        }
    }
}

/// The parts again with the file's head given a duration of `ms` ([`webm::with_duration`]), or
/// `None` to keep them as they are. Only the head comes into wasm (at most 4 KB); the rest is a
/// slice of the Blob of all the parts, which the browser keeps without copying. The head is read
/// across the parts, not from the first alone: a first part may end before the head does.
async fn with_duration(parts: &js_sys::Array, ms: f64) -> Option<js_sys::Array> {
    let whole = Blob::new_with_blob_sequence(parts).ok()?;
    let cut = whole.size().min(webm::HEAD as f64);
    let head = whole.slice_with_f64_and_f64(0.0, cut).ok()?;
    let buffer = JsFuture::from(head.array_buffer()).await.ok()?;
    let fixed = webm::with_duration(&js_sys::Uint8Array::new(&buffer).to_vec(), ms)?;
    let out = js_sys::Array::new();
    out.push(&js_sys::Uint8Array::from(fixed.as_slice()));
    let rest: Blob = whole.slice_with_f64(cut).ok()?;
    out.push(&rest);
    Some(out)
}

/// Draws what `video` shows into `slot`, keeping its shape.
fn draw(context: &CanvasRenderingContext2d, video: &HtmlVideoElement, slot: Place) {
    if let Some(place) = plan::fit(size_of(video), slot) {
        let _ = context.draw_image_with_html_video_element_and_dw_and_dh(
            video,
            place.x,
            place.y,
            place.width,
            place.height,
        );
    }
}

/// A finished recording offered for download: its object URL is revoked when this goes (a new
/// recording replaces it, or the page goes).
pub struct Recorded {
    pub url: String,
    pub name: String,
    pub bytes: f64,
}

impl Drop for Recorded {
    fn drop(&mut self) {
        let _ = Url::revoke_object_url(&self.url);
    }
}

/// The person's local time now, for the file's name.
pub fn now_stamp() -> plan::Stamp {
    let date = js_sys::Date::new_0();
    plan::Stamp {
        year: date.get_full_year(),
        month: date.get_month() + 1,
        day: date.get_date(),
        hour: date.get_hours(),
        minute: date.get_minutes(),
        second: date.get_seconds(),
    }
}

/// The page's clock, in milliseconds.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// The formats this browser records, from `MediaRecorder.isTypeSupported`; none without it.
pub fn formats() -> Vec<Format> {
    let has_recorder =
        web_sys::window().is_some_and(|w| crate::js::present(&w, "MediaRecorder").is_some());
    if !has_recorder {
        return Vec::new();
    }
    plan::offered(MediaRecorder::is_type_supported)
}
