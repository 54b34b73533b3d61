//! What the tutorial needs of the page: the three buttons, the two videos, the status line and
//! the step log. Both modules use it: the tutorial's alone, the whole page's inside `Page`.

use super::log::StepLog;
use super::{by_id, Root};
use super::{CALL_BUTTON, HANG_UP_BUTTON, LOCAL_VIDEO, LOG, REMOTE_VIDEO, START_BUTTON, STATUS};
use crate::controls::Buttons;
use crate::error::Error;
use web_sys::{Element, HtmlButtonElement, HtmlVideoElement};

pub struct Stage {
    pub start: HtmlButtonElement,
    pub call: HtmlButtonElement,
    pub hang_up: HtmlButtonElement,
    pub local_video: HtmlVideoElement,
    pub remote_video: HtmlVideoElement,
    pub log: StepLog,
    status: Element,
}

impl Stage {
    /// Finds the elements by id; names the first one missing.
    pub fn find(root: &Root) -> Result<Self, Error> {
        let document = root.document().ok_or(Error::MissingElement("document"))?;
        Ok(Self {
            start: by_id(root, START_BUTTON)?,
            call: by_id(root, CALL_BUTTON)?,
            hang_up: by_id(root, HANG_UP_BUTTON)?,
            local_video: by_id(root, LOCAL_VIDEO)?,
            remote_video: by_id(root, REMOTE_VIDEO)?,
            log: StepLog::new(by_id(root, LOG)?, document),
            status: by_id(root, STATUS)?,
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
        self.status.set_text_content(Some(&error.message()));
    }

    pub fn status_text(&self) -> String {
        self.status.text_content().unwrap_or_default()
    }

    pub fn clear_videos(&self) {
        self.local_video.set_src_object(None);
        self.remote_video.set_src_object(None);
    }
}
