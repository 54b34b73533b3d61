//! The page: the two videos, the three buttons, the status line and the step log.

use crate::controls::Buttons;
use crate::error::Error;
use crate::log::StepLog;
use crate::panel::StatsView;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlButtonElement, HtmlVideoElement};

/// The ids the tutorial used; tools and people rely on them.
pub const LOCAL_VIDEO: &str = "localStream";
pub const REMOTE_VIDEO: &str = "remoteStream";
pub const START_BUTTON: &str = "start-btn";
pub const CALL_BUTTON: &str = "call-btn";
pub const HANG_UP_BUTTON: &str = "hangup-btn";
/// The `aria-live` region that says what is happening.
pub const STATUS: &str = "status";
/// The `<ol>` of timed steps.
pub const LOG: &str = "log";

/// Handles on the page's elements, looked up once.
pub struct Page {
    pub start: HtmlButtonElement,
    pub call: HtmlButtonElement,
    pub hang_up: HtmlButtonElement,
    pub local_video: HtmlVideoElement,
    pub remote_video: HtmlVideoElement,
    pub log: StepLog,
    pub stats: StatsView,
    status: Element,
}

impl Page {
    /// Finds every element by id; names the first one missing.
    pub fn find(document: &Document) -> Result<Self, Error> {
        Ok(Self {
            start: by_id(document, START_BUTTON)?,
            call: by_id(document, CALL_BUTTON)?,
            hang_up: by_id(document, HANG_UP_BUTTON)?,
            local_video: by_id(document, LOCAL_VIDEO)?,
            remote_video: by_id(document, REMOTE_VIDEO)?,
            log: StepLog::new(by_id(document, LOG)?, document.clone()),
            stats: StatsView::find(document)?,
            status: by_id(document, STATUS)?,
        })
    }

    pub fn show_buttons(&self, buttons: Buttons) {
        self.start.set_disabled(!buttons.start);
        self.call.set_disabled(!buttons.call);
        self.hang_up.set_disabled(!buttons.hang_up);
    }

    /// Tells the user what is happening.
    pub fn status(&self, text: &str) {
        self.status.set_class_name("");
        self.status.set_text_content(Some(text));
    }

    /// Tells the user what went wrong, styled as an error.
    pub fn error(&self, error: &Error) {
        self.status.set_class_name("error");
        self.status.set_text_content(Some(&error.to_string()));
    }

    pub fn status_text(&self) -> String {
        self.status.text_content().unwrap_or_default()
    }

    pub fn clear_videos(&self) {
        self.local_video.set_src_object(None);
        self.remote_video.set_src_object(None);
    }
}

/// The element with `id`, as the type the page needs, or the error naming it.
pub(crate) fn by_id<T: JsCast>(document: &Document, id: &'static str) -> Result<T, Error> {
    document
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or(Error::MissingElement(id))
}
