//! Recording in action: the plan decides, the recorder records, the Record fieldset shows it.

use super::{listen, Inner};
use crate::controls::Phase as CallPhase;
use crate::error::Error;
use crate::page::Root;
use crate::record::plan::{self, Cause, Format, Phase, What};
use crate::record::recorder::{self, Event, Mix, Recorded, Recording, Sound};
use crate::record::view::RecordView;
use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlVideoElement;

/// How long a Web Audio mix may take to start running before the recording goes on with the
/// microphone alone: Chromium runs one at once, Firefox without an audio output never does.
const MIX_PATIENCE_MS: i32 = 1000;

/// How long a recorder may take to hand over its last part once asked to stop: one that never
/// says it stopped would otherwise keep Stop pressed and the microphone's copy open for good.
const STOP_PATIENCE_MS: u32 = 5000;

/// The recording side of the app: its fieldset, its state machine, what it holds.
pub(super) struct Record {
    view: RecordView,
    formats: Vec<Format>,
    plan: plan::Recorder,
    what: What,
    /// When Record was pressed, for the file's name.
    stamp: plan::Stamp,
    /// What the status line adds after the timer (the sound is the microphone's only).
    note: Option<&'static str>,
    live: Option<Recording>,
    /// The timer shown while recording; gone when the recording is.
    clock: Option<Interval>,
    /// The last file offered; its object URL is revoked when the next one replaces it.
    offered: Option<Recorded>,
    /// Each press of Record counts: a start that waits for its sound (the mix) goes ahead only if
    /// no later press came meanwhile.
    attempt: u32,
    /// Gives up on a recorder that does not say it stopped (see [`STOP_PATIENCE_MS`]).
    stop_guard: Option<Timeout>,
}

impl Record {
    pub(super) fn find(root: &Root) -> Result<Self, Error> {
        let document = root.document().ok_or(Error::MissingElement("document"))?;
        let formats = recorder::formats();
        Ok(Self {
            view: RecordView::find(root, &document, &formats)?,
            formats,
            plan: plan::Recorder::default(),
            what: What::Local,
            stamp: recorder::now_stamp(),
            note: None,
            live: None,
            clock: None,
            offered: None,
            attempt: 0,
            stop_guard: None,
        })
    }
}

/// Listens to the fieldset, and to the remote video's frames coming and going (Record for the
/// remote video waits for them).
pub(super) fn listen_to_record(inner: &Rc<Inner>) -> Vec<EventListener> {
    let record = inner.record.borrow();
    let view = &record.view;
    let rerender = |target: &web_sys::EventTarget, event| {
        listen(inner, target, event, |inner, _| inner.render())
    };
    vec![
        listen(inner, &view.button, "click", |inner, _| {
            inner.record_clicked()
        }),
        rerender(&view.what, "change"),
        rerender(&inner.page.remote_video, "resize"),
        rerender(&inner.page.remote_video, "loadeddata"),
        rerender(&inner.page.remote_video, "emptied"),
    ]
}

impl Inner {
    /// The remote video recorded: the page's own one while it plays, else (in a group call whose
    /// first person left) the first other person's tile that plays. Simple on purpose: picking
    /// which person to record would be a picker of its own.
    fn remote_source(&self) -> Option<HtmlVideoElement> {
        let remote = &self.page.remote_video;
        if recorder::playing(remote) {
            return Some(remote.clone());
        }
        // This page's own grid: another page may share the document (in a shadow root).
        let tiles = remote
            .closest(".videos")
            .ok()??
            .query_selector_all("video")
            .ok()?;
        (0..tiles.length())
            .filter_map(|i| tiles.item(i)?.dyn_into::<HtmlVideoElement>().ok())
            .find(|v| v != &self.page.local_video && recorder::playing(v))
    }

    /// Shows Record/Stop as the plan and the call allow.
    /// A track of the page's media was muted or unmuted: a recording of it follows.
    pub(super) fn record_mute_follows(&self, track: &web_sys::MediaStreamTrack) {
        if let Some(live) = self.record.borrow().live.as_ref() {
            live.mute_follows(track);
        }
    }

    pub(super) fn render_record(&self) {
        let Ok(record) = self.record.try_borrow() else {
            return;
        };
        let phase = self.state.borrow().controls.phase();
        let camera_live = matches!(phase, CallPhase::Ready | CallPhase::InCall);
        let remote_playing = phase == CallPhase::InCall && self.remote_source().is_some();
        let what = What::from_value(&record.view.what.value());
        let busy = record.plan.busy();
        let can_start =
            !record.formats.is_empty() && plan::can_start(what, camera_live, remote_playing);
        // Stop stays pressable while the recorder hands over its last part: a second click
        // changes nothing, and the button comes back as Record when the file is there.
        record.view.show(busy || can_start, busy);
    }

    fn record_clicked(self: &Rc<Self>) {
        if self.record.borrow().plan.busy() {
            return self.stop_recording(Cause::Stop);
        }
        let phase = self.state.borrow().controls.phase();
        let camera_live = matches!(phase, CallPhase::Ready | CallPhase::InCall);
        let local = self.page.local_video.clone();
        let remote = self.remote_source().filter(|_| phase == CallPhase::InCall);
        let mut record = self.record.borrow_mut();
        let what = What::from_value(&record.view.what.value());
        let Some(format) = plan::format_of(&record.view.format.value()) else {
            drop(record);
            return self.page.error(&Error::NoRecorder);
        };
        if !plan::can_start(what, camera_live, remote.is_some()) {
            drop(record);
            self.page.error(&Error::NothingToRecord);
            return self.render();
        }
        // `can_start` said yes: the remote video is there wherever `what` needs it.
        let remote = remote.unwrap_or_else(|| local.clone());
        record.plan.start();
        record.attempt = record.attempt.wrapping_add(1);
        let attempt = record.attempt;
        record.what = what;
        record.stamp = recorder::now_stamp();
        record.note = None;
        record.view.status("Starting…");
        drop(record);
        self.render();
        match what {
            What::Local => {
                self.begin_recording(vec![local.clone()], Sound::Track(local), format, attempt)
            }
            What::Remote => {
                self.begin_recording(vec![remote.clone()], Sound::Track(remote), format, attempt)
            }
            What::Both => {
                let videos = vec![local.clone(), remote.clone()];
                let mix = match Mix::new(&[&local, &remote]) {
                    Ok(mix) => mix,
                    Err(error) => {
                        self.page.log.step(&format!("mixing the sounds: {error}"));
                        self.record.borrow_mut().note = Some(plan::MICROPHONE_ONLY);
                        return self.begin_recording(videos, Sound::Track(local), format, attempt);
                    }
                };
                let this = Rc::downgrade(self);
                spawn_local(async move {
                    let runs = mix.runs_within(MIX_PATIENCE_MS).await;
                    let Some(this) = this.upgrade() else {
                        return;
                    };
                    let sound = if runs {
                        Sound::Mix(mix)
                    } else {
                        // A suspended mix would record silence: the microphone is better.
                        drop(mix);
                        this.record.borrow_mut().note = Some(plan::MICROPHONE_ONLY);
                        Sound::Track(local)
                    };
                    this.begin_recording(videos, sound, format, attempt);
                });
            }
        }
    }

    /// Starts the recorder, unless the recording was stopped while its sound was set up, or
    /// Record pressed again since (`attempt` is that press's).
    fn begin_recording(
        self: &Rc<Self>,
        videos: Vec<HtmlVideoElement>,
        sound: Sound,
        format: Format,
        attempt: u32,
    ) {
        let mut record = self.record.borrow_mut();
        if record.plan.phase() != Phase::Starting || record.attempt != attempt {
            return;
        }
        let this = Rc::downgrade(self);
        let told: Rc<dyn Fn(Event)> = Rc::new(move |event| {
            if let Some(this) = this.upgrade() {
                this.recording_event(event);
            }
        });
        match Recording::start(videos, record.what, sound, format, told) {
            Ok(live) => {
                record.plan.started(recorder::now_ms());
                record.live = Some(live);
                let this = Rc::downgrade(self);
                record.clock = Some(Interval::new(500, move || {
                    if let Some(this) = this.upgrade() {
                        this.show_recording_status();
                    }
                }));
                // Not `to_lowercase()`: its Unicode tables would cost the page 2 KB gzip.
                let what = record.what.noun();
                let note = record.note.map(|n| format!("; {n}")).unwrap_or_default();
                self.page
                    .log
                    .step(&format!("recording the {what} as {}{note}", format.label));
                drop(record);
                self.show_recording_status();
            }
            Err(error) => {
                record.plan.failed(recorder::now_ms());
                record.view.status("");
                drop(record);
                self.page
                    .log
                    .step(&format!("recording did not start: {error}"));
                self.page.error(&error);
            }
        }
        self.render();
    }

    fn show_recording_status(&self) {
        let record = self.record.borrow();
        let mut text = record.plan.status(recorder::now_ms());
        if let Some(note) = record.note {
            text = format!("{text} · {note}");
        }
        record.view.timer(&text);
    }

    /// Stops the recording for `cause`; the file comes when the recorder hands it over.
    pub(super) fn stop_recording(self: &Rc<Self>, cause: Cause) {
        let mut record = self.record.borrow_mut();
        if cause == Cause::PeerLeft && !record.what.stops_when_peer_leaves() {
            return;
        }
        let was_starting = record.plan.phase() == Phase::Starting;
        if !record.plan.stop(cause, recorder::now_ms()) {
            if was_starting {
                record.view.status("");
                drop(record);
                self.render();
            }
            return;
        }
        record.clock = None;
        if let Some(live) = record.live.as_mut() {
            live.stop();
            let this = Rc::downgrade(self);
            record.stop_guard = Some(Timeout::new(STOP_PATIENCE_MS, move || {
                if let Some(this) = this.upgrade() {
                    this.page.log.step(
                        "the recorder did not say it stopped: its file is made from what it gave",
                    );
                    this.recording_event(Event::Stopped);
                }
            }));
        }
        record
            .view
            .status(&format!("{}: finishing the file…", cause.words()));
        drop(record);
        self.render();
    }

    fn recording_event(self: &Rc<Self>, event: Event) {
        match event {
            Event::Data(bytes) => {
                self.record.borrow_mut().plan.data(bytes);
                if self.record.borrow().plan.phase() == Phase::Recording {
                    self.show_recording_status();
                }
            }
            Event::Stopped => {
                let cause = self.record.borrow_mut().plan.stopped(recorder::now_ms());
                if let Some(cause) = cause {
                    self.offer_recording(cause.words(), None);
                }
            }
            Event::Failed(error) => {
                if self.record.borrow_mut().plan.failed(recorder::now_ms()) {
                    self.offer_recording("Recording failed", Some(error));
                }
            }
            // Called from the drawing timer: the stop goes after it, not inside it.
            Event::SourceGone => {
                let this = Rc::downgrade(self);
                spawn_local(async move {
                    if let Some(this) = this.upgrade() {
                        this.stop_recording(Cause::TrackEnded);
                    }
                });
            }
        }
    }

    /// Offers what was recorded (if anything) and lets go of the recorder, once its file is
    /// made (a WebM's head gets its duration first).
    fn offer_recording(self: &Rc<Self>, why: &'static str, error: Option<Error>) {
        let mut record = self.record.borrow_mut();
        record.clock = None;
        record.stop_guard = None;
        let live = record.live.take();
        let now = recorder::now_ms();
        let (ms, bytes) = (record.plan.elapsed_ms(now), record.plan.bytes());
        let note = record.note.map(|n| format!(" · {n}")).unwrap_or_default();
        let summary = format!("{why} · {}{note}", record.plan.status(now));
        let name = live
            .as_ref()
            .map(|live| plan::file_name(record.stamp, live.format()));
        record.view.status(&summary);
        drop(record);
        if let Some(error) = &error {
            self.page.error(error);
        }
        self.render();
        let (Some(live), Some(name)) = (live.filter(|_| bytes > 0.0), name) else {
            return;
        };
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let file = live.file(name, ms).await;
            // The recorder goes here, its listeners with it; its parts live on in the file.
            drop(live);
            let Some(this) = this.upgrade() else {
                return;
            };
            match file {
                Ok(file) => {
                    let mut record = this.record.borrow_mut();
                    record
                        .view
                        .offer(&file, &plan::download_text(&file.name, ms, file.bytes));
                    this.page.log.step(&format!(
                        "{why}: {} offered ({})",
                        file.name,
                        plan::file_size(file.bytes)
                    ));
                    // The previous file's URL is revoked as this one replaces it.
                    record.offered = Some(file);
                }
                Err(e) => this.page.error(&e),
            }
        });
    }
}
