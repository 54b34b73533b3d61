//! What the tutorial needs of the page: the three buttons, the two videos, the status line and
//! the step log, found by the ids the tutorial used. Both modules use it: the first one alone,
//! the whole page inside its `Page`.

use crate::controls::Buttons;
use crate::error::Error;
use crate::log::StepLog;
use alloc::string::String;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlButtonElement, HtmlVideoElement, ShadowRoot};

/// Where the page's elements live: a whole document, or a shadow root in one (a site can embed
/// the page in a component; the tests put a second page beside the first this way).
#[derive(Clone, Debug)]
pub enum Root {
    Document(Document),
    Shadow(ShadowRoot),
}

impl Root {
    pub fn element(&self, id: &str) -> Option<Element> {
        match self {
            Root::Document(document) => document.get_element_by_id(id),
            Root::Shadow(shadow) => shadow.get_element_by_id(id),
        }
    }

    pub fn document(&self) -> Option<Document> {
        match self {
            Root::Document(document) => Some(document.clone()),
            Root::Shadow(shadow) => shadow.owner_document(),
        }
    }
}

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

/// The element with `id`, as the type the page needs, or the error naming it.
pub fn by_id<T: JsCast>(root: &Root, id: &'static str) -> Result<T, Error> {
    root.element(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or(Error::MissingElement(id))
}

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
