//! The call's controls on the page, enabled and pressed as the decision layer says.

use super::{by_id, Root};
use crate::controls::{Toggles, Tools};
use crate::error::Error;
use crate::media::{devices, Role};
use crate::settings::{device_options, kept_choice, Codec, Device, RESOLUTIONS};
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlOptionElement,
    HtmlSelectElement,
};

pub const CAMERA: &str = "camera-select";
pub const MICROPHONE: &str = "mic-select";
pub const SPEAKER: &str = "speaker-select";
pub const RESOLUTION: &str = "resolution-select";
pub const CODEC: &str = "codec-select";
pub const BITRATE: &str = "bitrate-input";
pub const BITRATE_BUTTON: &str = "bitrate-btn";
pub const MUTE: &str = "mute-btn";
pub const CAMERA_OFF: &str = "camera-btn";
pub const SHARE: &str = "share-btn";
pub const RESTART_ICE: &str = "restart-ice-btn";
pub const CHAT_INPUT: &str = "chat-input";
pub const CHAT_SEND: &str = "chat-send";
pub const PING: &str = "ping-btn";
pub const NAME: &str = "name-input";
pub const BUDGET: &str = "budget-input";
pub const BUDGET_BUTTON: &str = "budget-btn";

/// Where the page keeps the name its person gave, for the next visit.
const NAME_KEY: &str = "loopback-rtc name";

/// Handles on the controls, looked up once.
pub struct ToolsView {
    document: Document,
    pub camera: HtmlSelectElement,
    pub microphone: HtmlSelectElement,
    pub speaker: HtmlSelectElement,
    speaker_field: HtmlElement,
    pub resolution: HtmlSelectElement,
    pub codec: HtmlSelectElement,
    codec_field: HtmlElement,
    pub bitrate: HtmlInputElement,
    pub bitrate_button: HtmlButtonElement,
    pub mute: HtmlButtonElement,
    pub camera_off: HtmlButtonElement,
    pub share: HtmlButtonElement,
    pub restart_ice: HtmlButtonElement,
    pub chat_input: HtmlInputElement,
    pub chat_send: HtmlButtonElement,
    pub ping: HtmlButtonElement,
    /// This person's name in a room, and its field (shown in rooms only).
    pub name: HtmlInputElement,
    name_field: HtmlElement,
    /// The upload a group call splits between its calls.
    pub budget: HtmlInputElement,
    pub budget_button: HtmlButtonElement,
    budget_field: HtmlElement,
    chat_log: Element,
    ping_result: Element,
}

impl ToolsView {
    pub fn find(root: &Root, document: Document) -> Result<Self, Error> {
        let view = Self {
            document,
            camera: by_id(root, CAMERA)?,
            microphone: by_id(root, MICROPHONE)?,
            speaker: by_id(root, SPEAKER)?,
            speaker_field: by_id(root, "speaker-field")?,
            resolution: by_id(root, RESOLUTION)?,
            codec: by_id(root, CODEC)?,
            codec_field: by_id(root, "codec-field")?,
            bitrate: by_id(root, BITRATE)?,
            bitrate_button: by_id(root, BITRATE_BUTTON)?,
            mute: by_id(root, MUTE)?,
            camera_off: by_id(root, CAMERA_OFF)?,
            share: by_id(root, SHARE)?,
            restart_ice: by_id(root, RESTART_ICE)?,
            chat_input: by_id(root, CHAT_INPUT)?,
            chat_send: by_id(root, CHAT_SEND)?,
            ping: by_id(root, PING)?,
            name: by_id(root, NAME)?,
            name_field: by_id(root, "name-field")?,
            budget: by_id(root, BUDGET)?,
            budget_button: by_id(root, BUDGET_BUTTON)?,
            budget_field: by_id(root, "budget-field")?,
            chat_log: by_id(root, "chat-log")?,
            ping_result: by_id(root, "ping-result")?,
        };
        for (i, preset) in RESOLUTIONS.iter().enumerate() {
            view.add_option(&view.resolution, &i.to_string(), &preset.to_string());
        }
        Ok(view)
    }

    pub fn show(&self, tools: Tools, toggles: Toggles) {
        for select in [&self.camera, &self.microphone] {
            select.set_disabled(!tools.devices);
        }
        self.resolution.set_disabled(!tools.resolution);
        self.codec.set_disabled(!tools.sending);
        self.bitrate.set_disabled(!tools.sending);
        self.bitrate_button.set_disabled(!tools.sending);
        for (button, enabled, pressed) in [
            (&self.mute, tools.mute, toggles.muted),
            (&self.camera_off, tools.camera_off, toggles.camera_off),
            (&self.share, tools.share, toggles.sharing),
        ] {
            button.set_disabled(!enabled);
            let _ = button.set_attribute("aria-pressed", if pressed { "true" } else { "false" });
        }
        self.restart_ice.set_disabled(!tools.ice_restart);
        self.chat_input.set_disabled(!tools.chat);
        self.chat_send.set_disabled(!tools.chat);
        self.ping.set_disabled(!tools.chat);
    }

    fn add_option(&self, select: &HtmlSelectElement, value: &str, label: &str) {
        if let Ok(option) = self.document.create_element("option") {
            let option: HtmlOptionElement = option.unchecked_into();
            option.set_value(value);
            option.set_text(label);
            let _ = select.append_child(&option);
        }
    }

    /// Replaces a select's options after its first ("default"), keeping the choice if it is
    /// still there.
    fn refill(&self, select: &HtmlSelectElement, options: &[(String, String)]) {
        let chosen = select.value();
        while select.length() > 1 {
            select.remove_with_index(1);
        }
        for (value, label) in options {
            self.add_option(select, value, label);
        }
        select.set_value(kept_choice(&chosen, options));
    }

    /// Fills the pickers from `enumerateDevices`. The speaker picker shows only where it can act.
    pub fn show_devices(&self, devices: &[Device], can_choose_speaker: bool) {
        let options = |kind, noun| device_options(devices, kind, noun);
        self.refill(&self.camera, &options("videoinput", "Camera"));
        self.refill(&self.microphone, &options("audioinput", "Microphone"));
        let speakers = options("audiooutput", "Speaker");
        self.refill(&self.speaker, &speakers);
        // A picker with nothing to pick is noise: shown where outputs are listed and can be set.
        self.speaker_field
            .set_hidden(!can_choose_speaker || speakers.is_empty());
    }

    /// Fills the codec picker; hidden where the browser cannot reorder codecs.
    pub fn show_codecs(&self, codecs: &[Codec], can_choose: bool) {
        let options: Vec<(String, String)> = codecs
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_choice())
            .map(|(i, c)| (i.to_string(), c.label(codecs)))
            .collect();
        self.refill(&self.codec, &options);
        self.codec_field.set_hidden(!can_choose);
    }

    /// The picker of the device behind `role` (a shared screen's is the camera's).
    pub fn picker(&self, role: Role) -> &HtmlSelectElement {
        match role {
            Role::Microphone => &self.microphone,
            Role::Camera | Role::Screen => &self.camera,
        }
    }

    /// The preset chosen is the one the camera delivers now.
    pub fn resolution_applied(&self) {
        let _ = self
            .resolution
            .set_attribute("data-applied", &self.resolution.value());
    }

    /// The camera refused the preset chosen: the picker shows the one it still delivers.
    pub fn resolution_refused(&self) {
        let applied = self
            .resolution
            .get_attribute("data-applied")
            .unwrap_or_default();
        self.resolution.set_value(&applied);
    }

    /// Back to "camera default", as a new stream opens.
    pub fn reset_resolution(&self) {
        self.resolution.set_value("");
        let _ = self.resolution.remove_attribute("data-applied");
    }

    /// The constraints Start opens the chosen devices with.
    pub fn constraints(&self) -> web_sys::MediaStreamConstraints {
        devices::constraints(
            devices::track_constraints(&self.camera.value(), None),
            devices::track_constraints(&self.microphone.value(), None),
        )
    }

    /// Shows the room's own fields (a name, the upload budget), with the name given last time.
    pub fn show_room_fields(&self) {
        self.name_field.set_hidden(false);
        self.budget_field.set_hidden(false);
        if let Some(name) = local_storage().and_then(|s| s.get_item(NAME_KEY).ok().flatten()) {
            self.name.set_value(&name);
        }
    }

    /// The name typed, made a name (trimmed, cut to 32 characters), and kept for next time.
    pub fn peer_name(&self) -> loopback_signal::PeerName {
        let name = loopback_signal::PeerName::tidy(&self.name.value());
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(NAME_KEY, name.as_str());
        }
        name
    }

    /// Appends a line to the chat; returns it, to add the receipt to.
    pub fn chat_line(&self, text: &str) -> Option<Element> {
        let item = self.document.create_element("li").ok()?;
        item.set_text_content(Some(text));
        self.chat_log.append_child(&item).ok()?;
        Some(item)
    }

    /// Shows the last round trip to `who`: one line each in a group call.
    pub fn show_ping(&self, who: &str, text: &str) {
        let existing = std::iter::successors(self.ping_result.first_element_child(), |line| {
            line.next_element_sibling()
        })
        .find(|line| line.get_attribute("data-who").as_deref() == Some(who));
        let line = match existing {
            Some(line) => line,
            None => {
                let Ok(line) = self.document.create_element("span") else {
                    return;
                };
                let _ = line.set_attribute("data-who", who);
                let _ = self.ping_result.append_child(&line);
                line
            }
        };
        line.set_text_content(Some(text));
    }

    /// A new call: an empty chat.
    pub fn clear_chat(&self) {
        self.chat_log.set_text_content(None);
        self.ping_result.set_text_content(None);
    }
}

/// The page's `localStorage`, where the browser allows one.
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}
