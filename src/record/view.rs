//! The Record fieldset: what to record, the format, Record/Stop, the timer and size, the file.

use super::plan::{Format, What};
use super::recorder::Recorded;
use crate::error::Error;
use crate::page::{by_id, Root};
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlAnchorElement, HtmlButtonElement, HtmlOptionElement, HtmlSelectElement,
    HtmlVideoElement,
};

pub const WHAT: &str = "record-what";
pub const FORMAT: &str = "record-format";
pub const BUTTON: &str = "record-btn";
pub const STATUS: &str = "record-status";
pub const DOWNLOAD: &str = "record-download";
pub const PREVIEW: &str = "record-preview";

/// Handles on the fieldset's elements, looked up once.
pub struct RecordView {
    pub what: HtmlSelectElement,
    pub format: HtmlSelectElement,
    pub button: HtmlButtonElement,
    status: Element,
    download: HtmlAnchorElement,
    /// The last recording, to watch before downloading it.
    preview: HtmlVideoElement,
}

impl RecordView {
    /// Finds the elements and fills the pickers: the choices, and the `formats` this browser
    /// records (none: the fieldset says it cannot).
    pub fn find(root: &Root, document: &Document, formats: &[Format]) -> Result<Self, Error> {
        let view = Self {
            what: by_id(root, WHAT)?,
            format: by_id(root, FORMAT)?,
            button: by_id(root, BUTTON)?,
            status: by_id(root, STATUS)?,
            download: by_id(root, DOWNLOAD)?,
            preview: by_id(root, PREVIEW)?,
        };
        let add = |select: &HtmlSelectElement, value: &str, label: &str| {
            if let Ok(option) = document.create_element("option") {
                let option: HtmlOptionElement = option.unchecked_into();
                option.set_value(value);
                option.set_text(label);
                let _ = select.append_child(&option);
            }
        };
        for what in What::ALL {
            add(&view.what, what.value(), what.label());
        }
        for format in formats {
            add(&view.format, format.mime, format.label);
        }
        if formats.is_empty() {
            view.status(&Error::NoRecorder.to_string());
        }
        Ok(view)
    }

    /// Record (or Stop while `busy`), enabled as `enabled` says; the pickers wait while busy.
    pub fn show(&self, enabled: bool, busy: bool) {
        self.button.set_disabled(!enabled);
        // Its name says what it does now (no `aria-pressed` on top: "Stop, pressed" says it twice).
        self.button
            .set_text_content(Some(if busy { "Stop" } else { "Record" }));
        self.what.set_disabled(busy);
        self.format.set_disabled(busy);
    }

    /// The timer and size while recording: a timer, which screen readers leave alone.
    pub fn timer(&self, text: &str) {
        let _ = self.status.set_attribute("role", "timer");
        self.status.set_text_content(Some(text));
    }

    /// What happened (started, stopped and why, the file offered): a status, announced.
    pub fn status(&self, text: &str) {
        let _ = self.status.set_attribute("role", "status");
        self.status.set_text_content(Some(text));
    }

    /// Offers `file` for download, with `text` on its link, and in the preview player.
    pub fn offer(&self, file: &Recorded, text: &str) {
        self.download.set_href(&file.url);
        self.download.set_download(&file.name);
        self.download.set_text_content(Some(text));
        self.download.set_hidden(false);
        self.preview.set_src(&file.url);
        self.preview.set_hidden(false);
    }
}
