//! The call's other controls in action: `Controls` and `settings` decide, the media follows.

use super::{listen, Inner};
use crate::call::sending;
use crate::controls::{Controls, ShareClick};
use crate::error::Error;
use crate::js;
use crate::media::devices::{self, track_constraints};
use crate::media::{media_devices, LocalMedia, Role};
use crate::settings::{self, Resolution};
use gloo_events::EventListener;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{KeyboardEvent, MediaStream, MediaStreamTrack};

/// Listens to every control, and to the browser's device list; fills the lists it can now.
pub(super) fn listen_to_tools(inner: &Rc<Inner>) -> Vec<EventListener> {
    let tools = &inner.page.tools;
    tools.show_codecs(&sending::video_codecs(), sending::can_choose_codec());
    inner.refresh_devices();
    let on = |target: &web_sys::EventTarget, event, action: fn(&Rc<Inner>)| {
        listen(inner, target, event, move |inner, _| action(inner))
    };
    let enter = |target: &web_sys::EventTarget, action: fn(&Rc<Inner>)| {
        listen(inner, target, "keydown", move |inner, event| {
            if event
                .dyn_ref::<KeyboardEvent>()
                .is_some_and(|k| k.key() == "Enter")
            {
                event.prevent_default();
                action(inner);
            }
        })
    };
    let mut listeners = vec![
        on(&tools.camera, "change", |i| i.device_chosen(Role::Camera)),
        on(&tools.microphone, "change", |i| {
            i.device_chosen(Role::Microphone)
        }),
        on(&tools.speaker, "change", Inner::speaker_chosen),
        on(&tools.resolution, "change", Inner::resolution_chosen),
        on(&tools.codec, "change", Inner::codec_chosen),
        on(&tools.bitrate_button, "click", Inner::bitrate_set),
        enter(&tools.bitrate, Inner::bitrate_set),
        on(&tools.mute, "click", Inner::toggle_mute),
        on(&tools.camera_off, "click", Inner::toggle_camera),
        on(&tools.share, "click", Inner::share),
        on(&tools.restart_ice, "click", Inner::restart_ice),
        on(&tools.chat_send, "click", Inner::chat_send),
        enter(&tools.chat_input, Inner::chat_send),
        on(&tools.ping, "click", Inner::ping),
        on(&tools.name, "change", Inner::name_changed),
        on(&tools.budget_button, "click", Inner::budget_set),
        enter(&tools.budget, Inner::budget_set),
    ];
    if let Ok(devices) = media_devices() {
        listeners.push(on(&devices, "devicechange", Inner::refresh_devices));
    }
    listeners
}

impl Inner {
    /// Fills the device pickers from the browser's list, now and after every change to it.
    pub(super) fn refresh_devices(self: &Rc<Self>) {
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let devices = devices::list().await;
            if let Some(this) = this.upgrade() {
                match devices {
                    Ok(devices) => this
                        .page
                        .tools
                        .show_devices(&devices, devices::can_choose_speaker()),
                    // Start says it better when the page may not use devices at all.
                    Err(Error::InsecureContext) => {}
                    Err(e) => {
                        this.page.log.step(&format!("listing the devices: {e}"));
                    }
                }
            }
        });
    }

    /// A camera or microphone was chosen: with live media, that device replaces the one in use
    /// in the stream and in the call (`replaceTrack`); before Start, Start opens it.
    fn device_chosen(self: &Rc<Self>, role: Role) {
        let select = self.page.tools.picker(role);
        let (id, label) = (select.value(), selected_label(select));
        self.switch_to(role, &id, &format!("{} “{label}”", noun(role)), "");
    }

    /// Opens `device` (empty: the default one) for `role` and puts it in the live stream; the
    /// status then says `why` and that it switched.
    fn switch_to(self: &Rc<Self>, role: Role, device: &str, what: &str, why: &str) {
        let Some(ticket) = self.state.borrow().controls.live_change() else {
            return self.render();
        };
        let resolution = Resolution::preset(&self.page.tools.resolution.value());
        let constraints = match role {
            Role::Microphone => {
                devices::constraints(JsValue::FALSE, track_constraints(device, None))
            }
            _ => devices::constraints(track_constraints(device, resolution), JsValue::FALSE),
        };
        self.page.log.step(&format!("switching to the {what}"));
        let opening = LocalMedia::open_track(self.source.as_ref(), &constraints, role.kind());
        let this = Rc::downgrade(self);
        let (what, why) = (what.to_owned(), why.to_owned());
        spawn_local(async move {
            let track = opening.await;
            // A track nobody takes any more (the page gone, a HangUp meanwhile) is stopped
            // here: it has left the stream it came in, and nothing else would stop it.
            let Some(this) = this.upgrade() else {
                return track.iter().for_each(MediaStreamTrack::stop);
            };
            let mut guard = this.state.borrow_mut();
            let state = &mut *guard;
            let live = state.controls.is_live(ticket);
            let media = state.media.as_mut().filter(|_| live);
            match (track, media) {
                (Ok(track), None) => track.stop(),
                (Err(_), None) => {}
                (Ok(track), Some(media)) => {
                    let described = crate::words::describe_track(&track.kind(), &track.label());
                    if let Some(track) = media.replace(track) {
                        if let Some(call) = &state.call {
                            call.replace_track(&track);
                        }
                    }
                    this.page
                        .log
                        .step(&format!("now using the {what}: {described}"));
                    this.page.status(&format!("{why}Switched to the {what}."));
                    if role != Role::Microphone {
                        this.page.tools.resolution_applied();
                    }
                }
                (Err(error), Some(_)) => {
                    // The camera kept its size: the preset picker says the one it has.
                    if role != Role::Microphone {
                        this.page.tools.resolution_refused();
                    }
                    this.page.log.step(&format!("switching failed: {error}"));
                    this.page.error(&error);
                }
            }
        });
    }

    /// A track ended by itself: a device unplugged falls back to the default one; a shared
    /// screen the browser stopped gives the camera back.
    pub(super) fn track_ended(self: &Rc<Self>, role: Role) {
        if role == Role::Screen {
            let ended = self.state.borrow_mut().controls.share_ended();
            if ended {
                self.page.log.step("the browser stopped the screen sharing");
                self.stop_sharing();
            }
            return self.render();
        }
        let select = self.page.tools.picker(role);
        let lost = selected_label(select);
        select.set_value("");
        self.page.log.step(&format!(
            "the {} in use went away: falling back to the default one",
            noun(role)
        ));
        let why = format!("The {} in use ({lost}) went away. ", noun(role));
        self.page
            .status(&format!("{why}Switching to the default one…"));
        self.switch_to(role, "", &format!("default {}", noun(role)), &why);
        self.refresh_devices();
    }

    fn speaker_chosen(self: &Rc<Self>) {
        let tools = &self.page.tools;
        let (id, label) = (tools.speaker.value(), selected_label(&tools.speaker));
        let video = self.page.remote_video.clone();
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let result = devices::set_speaker(&video, &id).await;
            if let Some(this) = this.upgrade() {
                match result {
                    Ok(()) => {
                        this.page
                            .log
                            .step(&format!("the remote video plays on “{label}”"));
                    }
                    Err(error) => this.page.error(&error),
                }
            }
        });
    }

    /// Applies the resolution preset to the live camera track; a preset the camera cannot do
    /// leaves the previous setting, as `applyConstraints` does, and says so.
    fn resolution_chosen(self: &Rc<Self>) {
        let tools = &self.page.tools;
        let state = self.state.borrow();
        let ticket = state.controls.live_change();
        let track = state.media.as_ref().and_then(|m| m.track("video"));
        let (Some(ticket), Some(track), true) =
            (ticket, track, state.controls.tools(false).resolution)
        else {
            return;
        };
        let preset = Resolution::preset(&tools.resolution.value());
        let name = preset.map_or("the camera's default".to_owned(), |p| p.to_string());
        let applying = track.apply_constraints_with_constraints(
            &devices::resolution_constraints(preset).unchecked_into(),
        );
        let this = Rc::downgrade(self);
        spawn_local(async move {
            let result = match applying {
                Ok(promise) => JsFuture::from(promise).await.map(drop),
                Err(e) => Err(e),
            };
            let Some(this) = this.upgrade() else {
                return;
            };
            // After a HangUp the preset belongs to a stream that is gone.
            if !this.state.borrow().controls.is_live(ticket) {
                return;
            }
            match result {
                Ok(()) => {
                    let settings = track.get_settings();
                    let read = |key| js::number(&settings, key).unwrap_or(0.0);
                    let (width, height) = (read("width"), read("height"));
                    match preset {
                        // Some cameras (and Firefox's fake one) take the constraints but keep
                        // their size: open the camera again at the preset, in the same place.
                        Some(preset) if !preset.is_met_by(width, height) => {
                            this.page.log.step(&format!(
                                "applyConstraints kept the camera at {width}×{height}: opening it again at {name}"
                            ));
                            let device = js::string(&settings, "deviceId");
                            this.switch_to(
                                Role::Camera,
                                &device,
                                &format!("camera at {name}"),
                                "The camera could not change its size live, so the page opened it again. ",
                            );
                        }
                        _ => {
                            this.page.tools.resolution_applied();
                            this.page
                                .log
                                .step(&format!("camera set to {name} (applyConstraints)"));
                            this.page.status(&format!("The camera now sends {name}."));
                        }
                    }
                }
                Err(e) => {
                    this.page.tools.resolution_refused();
                    let why = match Error::from(e) {
                        Error::Overconstrained(c) => format!("its {c} is out of reach"),
                        other => other.to_string(),
                    };
                    let error = Error::PresetRefused { preset: name, why };
                    this.page.log.step(&format!("applyConstraints: {error}"));
                    this.page.error(&error);
                }
            }
        });
    }

    fn codec_chosen(self: &Rc<Self>) {
        let tools = &self.page.tools;
        let codecs = sending::video_codecs();
        let codec = tools
            .codec
            .value()
            .parse::<usize>()
            .ok()
            .and_then(|i| codecs.get(i).cloned());
        let name = codec
            .as_ref()
            .map_or("the browser's choice".to_owned(), |c| c.label(&codecs));
        if !self.sending.set_codec(codec) {
            return;
        }
        let state = self.state.borrow();
        match &state.call {
            Some(call) => {
                self.page.log.step(&format!("video codec: {name}"));
                if call.codec_changed() {
                    self.page
                        .status(&format!("Video codec: {name}; the call renegotiates."));
                } else {
                    self.page.status(&format!(
                        "Video codec: {name}. In this call the other page made the first offer, so its codec order stands; yours applies in calls where this page offers first."
                    ));
                }
            }
            None => self
                .page
                .status(&format!("Video codec: {name}, from the next call on.")),
        }
    }

    fn bitrate_set(self: &Rc<Self>) {
        let tools = &self.page.tools;
        if !self.state.borrow().controls.tools(false).sending {
            return;
        }
        let kbps = match settings::max_bitrate(&tools.bitrate.value()) {
            Ok(kbps) => kbps,
            Err(refused) => return self.page.error(&Error::BitrateRefused(refused.to_string())),
        };
        self.sending.set_max_kbps(kbps);
        let cap = kbps.map_or("no cap".to_owned(), |k| format!("at most {k} kbit/s"));
        let state = self.state.borrow();
        match &state.call {
            Some(call) => {
                call.cap_bitrate();
                self.page
                    .log
                    .step(&format!("video bitrate: {cap} (setParameters)"));
                self.page.status(&format!("Video bitrate: {cap}."));
            }
            None => self
                .page
                .status(&format!("Video bitrate: {cap}, from the next call on.")),
        }
    }

    fn toggle_mute(self: &Rc<Self>) {
        self.toggle(
            "audio",
            Controls::toggle_mute,
            ["microphone on", "microphone muted: the track sends silence"],
        );
    }

    fn toggle_camera(self: &Rc<Self>) {
        self.toggle(
            "video",
            Controls::toggle_camera,
            ["camera on", "camera off: the track sends black frames"],
        );
    }

    /// Disables (or enables again) the stream's track of `kind` when `decide` says so; the log
    /// says `steps[0]` for on, `steps[1]` for off.
    fn toggle(&self, kind: &str, decide: fn(&mut Controls) -> Option<bool>, steps: [&str; 2]) {
        let mut state = self.state.borrow_mut();
        if let Some(off) = decide(&mut state.controls) {
            if let Some(track) = state.media.as_ref().and_then(|m| m.track(kind)) {
                track.set_enabled(!off);
                self.record_mute_follows(&track);
            }
            self.page.log.step(steps[usize::from(off)]);
        }
        drop(state);
        self.render();
    }

    fn share(self: &Rc<Self>) {
        let click = self.state.borrow_mut().controls.share();
        match click {
            None => {}
            Some(ShareClick::Stop) => self.stop_sharing(),
            Some(ShareClick::Start(ticket)) => {
                self.page
                    .log
                    .step("asking the browser for a screen to share");
                let request = self.source.display();
                let this = Rc::downgrade(self);
                spawn_local(async move {
                    let screen = match request {
                        Ok(promise) => JsFuture::from(promise).await.map_err(Error::from),
                        Err(e) => Err(e),
                    };
                    match this.upgrade() {
                        Some(this) => this.screen_arrived(ticket, screen),
                        None => stop_all(screen.ok()),
                    }
                });
            }
        }
        self.render();
    }

    fn screen_arrived(&self, ticket: crate::controls::Ticket, screen: Result<JsValue, Error>) {
        let stream = screen.ok().and_then(|s| s.dyn_into::<MediaStream>().ok());
        let track = stream.as_ref().and_then(|s| {
            s.get_video_tracks()
                .get(0)
                .dyn_into::<MediaStreamTrack>()
                .ok()
        });
        let mut state = self.state.borrow_mut();
        if !state.controls.share_answered(ticket, track.is_some()) {
            return stop_all(stream.map(JsValue::from));
        }
        match (track, state.media.as_mut()) {
            (Some(track), Some(media)) => {
                media.share(Clone::clone(&track));
                if let Some(call) = &state.call {
                    call.replace_track(&track);
                }
                self.page.log.step(&format!(
                    "sharing the screen: {} in the camera's place",
                    crate::words::describe_track("screen", &track.label())
                ));
                self.page
                    .status("Sharing your screen. Press Share screen again to show the camera.");
            }
            _ => {
                self.page.log.step("screen sharing did not start");
                self.page.error(&Error::ShareRefused);
            }
        }
        drop(state);
        self.render();
    }

    fn stop_sharing(&self) {
        let mut state = self.state.borrow_mut();
        let camera = state.media.as_mut().and_then(LocalMedia::unshare);
        if let (Some(camera), Some(call)) = (camera, &state.call) {
            call.replace_track(&camera);
        }
        self.page
            .log
            .step("screen sharing stopped: the camera is back");
        self.page.status("The camera is back.");
    }

    fn restart_ice(self: &Rc<Self>) {
        let state = self.state.borrow();
        if !state.controls.tools(false).ice_restart {
            return;
        }
        if let Some(call) = &state.call {
            call.restart_ice();
            self.page
                .status("Restarting ICE: new candidates, the same call.");
        }
    }

    fn chat_send(self: &Rc<Self>) {
        let input = &self.page.tools.chat_input;
        let state = self.state.borrow();
        let sent = state
            .call
            .as_ref()
            .map(|call| call.send_text(&input.value()));
        match sent {
            Some(Ok(())) => input.set_value(""),
            Some(Err(error)) => self.page.error(&error),
            None => {}
        }
    }

    fn ping(self: &Rc<Self>) {
        if let Some(call) = &self.state.borrow().call {
            call.ping();
        }
    }

    /// The person's name: kept for the next visit, and told to the room if in one.
    fn name_changed(self: &Rc<Self>) {
        let name = self.page.tools.peer_name();
        if let Some(super::Call::Room(call)) = &self.state.borrow().call {
            call.rename(&name);
            self.page
                .log
                .step(&format!("this person is now called “{name}” in the room"));
        }
    }

    /// The upload budget a group call splits between its calls.
    fn budget_set(self: &Rc<Self>) {
        let tools = &self.page.tools;
        let kbps = match settings::upload_budget(&tools.budget.value()) {
            Ok(kbps) => kbps,
            Err(refused) => return self.page.error(&Error::BitrateRefused(refused.to_string())),
        };
        self.sending.set_budget_kbps(kbps);
        let state = self.state.borrow();
        if let Some(call) = &state.call {
            call.cap_bitrate();
        }
        let share = match self.sending.cap_kbps() {
            Some(share) if self.sending.senders() > 1 => format!(
                ": each of the {} calls sends at most {share} kbit/s",
                self.sending.senders()
            ),
            _ => String::new(),
        };
        self.page
            .log
            .step(&format!("upload budget: {kbps} kbit/s{share}"));
        self.page
            .status(&format!("Upload budget: {kbps} kbit/s{share}."));
    }
}

/// Stops every track of a stream nobody takes.
fn stop_all(stream: Option<JsValue>) {
    if let Some(stream) = stream.and_then(|s| s.dyn_into::<MediaStream>().ok()) {
        for track in stream.get_tracks() {
            track.unchecked_into::<MediaStreamTrack>().stop();
        }
    }
}

fn noun(role: Role) -> &'static str {
    match role {
        Role::Microphone => "microphone",
        Role::Camera | Role::Screen => "camera",
    }
}

/// The text of a select's chosen option.
fn selected_label(select: &web_sys::HtmlSelectElement) -> String {
    u32::try_from(select.selected_index())
        .ok()
        .and_then(|i| select.item(i))
        .and_then(|o| o.text_content())
        .unwrap_or_default()
}
