//! The camera at each common resolution: opened, shown in a hidden video, its frames counted for
//! a second; at 640×480 a few frames drawn small on a canvas for `loopback-check` to tell black
//! or frozen.

use crate::view::Row;
use crate::wait::{error_name, now, sleep, within, Waited};
use loopback_check::camera::{difference, sample, Measured, OpenError, Opened, Picture, LADDER};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CanvasRenderingContext2d, Document, HtmlCanvasElement, HtmlVideoElement, MediaStream,
    MediaStreamTrack,
};

/// How long a camera may take to answer (the browser's permission prompt included).
const OPEN_MS: u32 = 20_000;
/// How long its first frame may take.
const FIRST_FRAME_MS: f64 = 5_000.0;
/// Frames are counted over this long.
const COUNT_MS: u32 = 1_000;
/// The sampled picture: its size and how many samples, how far apart.
const SAMPLE_SIZE: (u32, u32) = (64, 48);
const SAMPLES: usize = 4;
const SAMPLE_EVERY_MS: u32 = 400;

/// Stops every track of `stream`.
pub fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// Asks for `constraints` (JSON, as `getUserMedia` takes them).
pub async fn open(constraints: &str) -> Result<MediaStream, OpenError> {
    let window = web_sys::window().ok_or_else(|| OpenError::Other("no window".into()))?;
    // Outside a secure context `navigator.mediaDevices` is undefined, not an error.
    let devices = window
        .is_secure_context()
        .then(|| window.navigator().media_devices().ok())
        .flatten()
        .filter(|d| !JsValue::from(d).is_undefined())
        .ok_or_else(|| {
            OpenError::Other(
                "this page is not a secure context: open it over https (or on localhost)".into(),
            )
        })?;
    let constraints: web_sys::MediaStreamConstraints = js_sys::JSON::parse(constraints)
        .map_err(|_| OpenError::Other("bad constraints".into()))?
        .unchecked_into();
    let asked = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| OpenError::Other(format!("{e:?}")))?;
    match within(asked, OPEN_MS).await {
        Ok(stream) => stream
            .dyn_into::<MediaStream>()
            .map_err(|_| OpenError::Other("not a stream".into())),
        Err(Waited::Refused(e)) => {
            let (name, message) = error_name(&e);
            Err(OpenError::from_dom(&name, &message))
        }
        Err(Waited::TimedOut) => Err(OpenError::Other(
            "no answer in 20 s: the browser's question may be waiting in its address bar".into(),
        )),
    }
}

/// Measures the camera at each resolution of the ladder.
pub async fn measure(document: &Document, row: &Row) -> Measured {
    let mut resolutions = Vec::new();
    let mut picture = Picture::default();
    for (i, &(w, h)) in LADDER.iter().enumerate() {
        row.progress(i as f64 / LADDER.len() as f64);
        let started = now();
        let constraints = format!(
            r#"{{"video":{{"width":{{"ideal":{w}}},"height":{{"ideal":{h}}}}},"audio":false}}"#
        );
        let stream = match open(&constraints).await {
            Ok(stream) => stream,
            Err(error) => {
                let stop_here = !matches!(error, OpenError::Overconstrained);
                resolutions.push(Opened {
                    asked: (w, h),
                    delivered: None,
                    fps: None,
                    first_frame_ms: None,
                    error: Some(error),
                });
                if stop_here {
                    break;
                }
                continue;
            }
        };
        let sampling = (w, h) == (640, 480);
        // The first frame is timed from the camera's answer: a person reading the browser's
        // question is not the camera's slowness.
        let answered = now();
        let opened = shown(
            document,
            &stream,
            (w, h),
            answered,
            sampling.then_some(&mut picture),
        )
        .await;
        let _ = started;
        stop(&stream);
        resolutions.push(opened);
    }
    Measured {
        resolutions,
        picture,
    }
}

/// Shows `stream` in a hidden video; its size, frame rate and first frame; samples into
/// `picture` if given.
async fn shown(
    document: &Document,
    stream: &MediaStream,
    asked: (u32, u32),
    started: f64,
    picture: Option<&mut Picture>,
) -> Opened {
    let mut opened = Opened {
        asked,
        delivered: None,
        fps: None,
        first_frame_ms: None,
        error: None,
    };
    let Some(video) = document
        .create_element("video")
        .ok()
        .and_then(|v| v.dyn_into::<HtmlVideoElement>().ok())
    else {
        opened.error = Some(OpenError::Other("no video element".into()));
        return opened;
    };
    video.set_muted(true);
    let _ = video.set_attribute("playsinline", "");
    // In the page, one pixel and transparent: a detached video's frames are not all counted.
    let style = video.style();
    for (key, value) in [
        ("position", "fixed"),
        ("width", "1px"),
        ("height", "1px"),
        ("opacity", "0"),
        ("pointer-events", "none"),
    ] {
        let _ = style.set_property(key, value);
    }
    if let Some(body) = document.body() {
        let _ = body.append_child(&video);
    }
    let shown = Shown(video);
    let video = &shown.0;
    video.set_src_object(Some(stream));
    if let Ok(playing) = video.play() {
        let _ = within(playing, 3_000).await;
    }
    while video.ready_state() < 2 && now() - started < FIRST_FRAME_MS {
        sleep(20).await;
    }
    if video.ready_state() < 2 {
        opened.error = Some(OpenError::Other(
            "the camera opened but gave no frame in 5 s".into(),
        ));
        return opened;
    }
    opened.first_frame_ms = Some(now() - started);
    opened.delivered = Some((video.video_width(), video.video_height()));
    let frames = |v: &HtmlVideoElement| {
        let quality: JsValue = v.get_video_playback_quality().into();
        crate::wait::number(&quality, "totalVideoFrames").unwrap_or_default()
    };
    let (f0, t0) = (frames(video), now());
    sleep(COUNT_MS).await;
    let counted = (frames(video) - f0) / ((now() - t0) / 1000.0);
    // A rate the element did not count stays unknown: the track's nominal one would hide a
    // slow camera.
    opened.fps = (counted > 0.0).then_some(counted);
    if let Some(picture) = picture {
        sample_into(document, video, picture).await;
    }
    opened
}

/// The hidden video of one measurement, out of the page and without its stream once done.
struct Shown(HtmlVideoElement);

impl Drop for Shown {
    fn drop(&mut self) {
        self.0.set_src_object(None);
        self.0.remove();
    }
}

/// Draws a few frames small and keeps their luma and differences.
async fn sample_into(document: &Document, video: &HtmlVideoElement, picture: &mut Picture) {
    let Some(canvas) = document
        .create_element("canvas")
        .ok()
        .and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok())
    else {
        return;
    };
    canvas.set_width(SAMPLE_SIZE.0);
    canvas.set_height(SAMPLE_SIZE.1);
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let mut previous: Option<Vec<u8>> = None;
    for i in 0..SAMPLES {
        if i > 0 {
            sleep(SAMPLE_EVERY_MS).await;
        }
        let (w, h) = (f64::from(SAMPLE_SIZE.0), f64::from(SAMPLE_SIZE.1));
        if context
            .draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, w, h)
            .is_err()
        {
            return;
        }
        let Ok(image) = context.get_image_data(0.0, 0.0, w, h) else {
            return;
        };
        let pixels = image.data().0;
        picture.samples.push(sample(&pixels));
        if let Some(before) = &previous {
            picture.differences.push(difference(before, &pixels));
        }
        previous = Some(pixels);
    }
}
