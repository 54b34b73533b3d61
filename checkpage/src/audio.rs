//! Two seconds of the microphone's samples, and the speaker's tone. The samples come through an
//! analyser where the page's audio runs; where it cannot (no output device: the browser never
//! starts an `AudioContext`, as headless Firefox here), from a two-second recording decoded
//! offline, which needs no output.

use crate::camera::{open, stop};
use crate::view::Row;
use crate::wait::{get, now, sleep, within};
use gloo_events::EventListener;
use loopback_check::camera::OpenError;
use loopback_check::microphone::{Measured, Meter};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AudioContext, AudioContextState, MediaStream, MediaStreamTrack};

/// How long the level is measured.
const LISTEN_MS: f64 = 2_000.0;
/// How often the analyser's window is read: its 2,048 samples last 43 ms at 48 kHz.
const READ_EVERY_MS: u32 = 40;
/// How long the page's audio may take to start.
const START_MS: u32 = 1_000;

/// Whether `context` runs (resumed if it was suspended).
pub async fn running(context: &AudioContext) -> bool {
    if context.state() != AudioContextState::Running {
        if let Ok(resumed) = context.resume() {
            let _ = within(resumed, START_MS).await;
        }
    }
    context.state() == AudioContextState::Running
}

/// Measures the microphone, through `context` (made at the click, so that it may run).
pub async fn measure(context: &AudioContext, row: &Row) -> Measured {
    let mut measured = Measured {
        error: None,
        channels: 0,
        sample_rate: context.sample_rate() as u32,
        seconds: 0.0,
        level: Meter::default().level(),
    };
    // Noise suppression off: it would make a quiet room read as silence. Gain control stays as
    // calls have it, so that the level measured is the level others get.
    let asked = r#"{"audio":{"noiseSuppression":false},"video":false}"#;
    let stream = match open(asked).await {
        Ok(stream) => stream,
        Err(error) => {
            measured.error = Some(error);
            return measured;
        }
    };
    if let Ok(track) = stream
        .get_audio_tracks()
        .get(0)
        .dyn_into::<MediaStreamTrack>()
    {
        let settings: JsValue = track.get_settings().into();
        measured.channels = crate::wait::number(&settings, "channelCount").unwrap_or(1.0) as u32;
    }
    let started = now();
    let heard = if running(context).await {
        analysed(context, &stream, row).await
    } else {
        recorded(&stream, row).await.map(|(meter, rate)| {
            measured.sample_rate = rate;
            meter
        })
    };
    stop(&stream);
    measured.seconds = (now() - started) / 1000.0;
    match heard {
        Ok(meter) => measured.level = meter.level(),
        Err(why) => measured.error = Some(OpenError::Other(why)),
    }
    measured
}

/// The samples through an analyser, its window read every [`READ_EVERY_MS`].
async fn analysed(
    context: &AudioContext,
    stream: &MediaStream,
    row: &Row,
) -> Result<Meter, String> {
    let err = |e: JsValue| format!("Web Audio would not take the microphone ({e:?})");
    let source = context.create_media_stream_source(stream).map_err(err)?;
    let analyser = context.create_analyser().map_err(err)?;
    analyser.set_fft_size(2048);
    source.connect_with_audio_node(&analyser).map_err(err)?;
    let mut meter = Meter::default();
    let mut block = vec![0f32; analyser.fft_size() as usize];
    let started = now();
    while now() - started < LISTEN_MS {
        sleep(READ_EVERY_MS).await;
        analyser.get_float_time_domain_data(&mut block);
        meter.add(&block);
        row.progress((now() - started) / LISTEN_MS);
    }
    let _ = source.disconnect();
    Ok(meter)
}

/// The samples of a recording of [`LISTEN_MS`], decoded offline, and their rate.
async fn recorded(stream: &MediaStream, row: &Row) -> Result<(Meter, u32), String> {
    let err = |what: &str| format!("the microphone's sound could not be {what}");
    let recorder =
        web_sys::MediaRecorder::new_with_media_stream(stream).map_err(|_| err("recorded"))?;
    let chunks = Rc::new(RefCell::new(Vec::<JsValue>::new()));
    let stopped = Rc::new(RefCell::new(false));
    let _data = {
        let chunks = Rc::clone(&chunks);
        EventListener::new(&recorder, "dataavailable", move |event| {
            chunks.borrow_mut().push(crate::wait::get(event, "data"));
        })
    };
    let _stop = {
        let stopped = Rc::clone(&stopped);
        EventListener::new(&recorder, "stop", move |_| *stopped.borrow_mut() = true)
    };
    recorder.start().map_err(|_| err("recorded"))?;
    let started = now();
    while now() - started < LISTEN_MS {
        sleep(100).await;
        row.progress(0.9 * (now() - started) / LISTEN_MS);
    }
    recorder.stop().map_err(|_| err("recorded"))?;
    let deadline = now() + 2_000.0;
    while !*stopped.borrow() && now() < deadline {
        sleep(20).await;
    }
    let parts = js_sys::Array::new();
    for chunk in chunks.borrow().iter() {
        parts.push(chunk);
    }
    let blob = web_sys::Blob::new_with_blob_sequence(&parts).map_err(|_| err("recorded"))?;
    let bytes = within(blob.array_buffer(), 2_000)
        .await
        .map_err(|_| err("read"))?;
    // One frame: the context only decodes, at 48 kHz (decoding resamples to its rate).
    let offline =
        web_sys::OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(
            1, 1, 48_000.0,
        )
        .map_err(|_| err("decoded"))?;
    let decoding = offline
        .decode_audio_data(&bytes.unchecked_into())
        .map_err(|_| err("decoded"))?;
    let buffer: web_sys::AudioBuffer = within(decoding, 3_000)
        .await
        .map_err(|_| err("decoded"))?
        .unchecked_into();
    let mut meter = Meter::default();
    for channel in 0..buffer.number_of_channels() {
        if let Ok(samples) = buffer.get_channel_data(channel) {
            meter.add(&samples);
        }
    }
    row.progress(1.0);
    Ok((meter, buffer.sample_rate() as u32))
}

/// A 440 Hz tone for a second on the context's output (`output`, a device id, where chosen),
/// quiet enough not to startle.
pub async fn tone(context: &AudioContext, output: Option<&str>) -> Result<(), String> {
    let choose = get(context, "setSinkId")
        .dyn_into::<js_sys::Function>()
        .ok();
    match (&choose, output) {
        (None, Some(_)) => return Err("this browser cannot send sound to another output".into()),
        // The default again ("") after another was chosen, where the browser can choose.
        (Some(choose), id) => {
            let chosen = choose
                .call1(context, &JsValue::from_str(id.unwrap_or_default()))
                .map_err(|e| format!("the output was refused ({e:?})"))?;
            within(chosen.unchecked_into(), START_MS)
                .await
                .map_err(|_| "the output chosen was refused or did not answer".to_owned())?;
        }
        (None, None) => {}
    }
    if !running(context).await {
        return Err(
            "the browser did not start its sound output: no speaker or headphones may be connected"
                .into(),
        );
    }
    let err = |e: JsValue| format!("{e:?}");
    let oscillator = context.create_oscillator().map_err(err)?;
    let gain = context.create_gain().map_err(err)?;
    gain.gain().set_value(0.2);
    oscillator.frequency().set_value(440.0);
    oscillator.connect_with_audio_node(&gain).map_err(err)?;
    gain.connect_with_audio_node(&context.destination())
        .map_err(err)?;
    let at = context.current_time();
    oscillator.start_with_when(at).map_err(err)?;
    oscillator.stop_with_when(at + 1.0).map_err(err)?;
    Ok(())
}

/// Whether the page can send audio to an output other than the default.
pub fn can_choose(context: &AudioContext) -> bool {
    crate::wait::get(context, "setSinkId").is_function()
}
