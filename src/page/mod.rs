//! The page: the two videos, the three buttons, the status line and the step log.

/// The canvas graphs of the stats panel.
pub mod graph;
/// The timed step log.
pub mod log;
/// The stats panel's figures and graphs.
pub mod stats_view;
/// The call's controls: devices, video settings, toggles, chat.
pub mod tools;

use crate::address::{self, Mode};
use crate::controls::Buttons;
use crate::error::Error;
use log::StepLog;
use stats_view::StatsView;
use tools::ToolsView;
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlAnchorElement, HtmlButtonElement, HtmlVideoElement, ShadowRoot,
};

/// Where the page's elements live: a whole document, or a shadow root in one (a site can embed
/// the page in a component; the tests put a second page beside the first this way).
#[derive(Clone, Debug)]
pub enum Root {
    Document(Document),
    Shadow(ShadowRoot),
}

impl Root {
    fn element(&self, id: &str) -> Option<Element> {
        match self {
            Root::Document(document) => document.get_element_by_id(id),
            Root::Shadow(shadow) => shadow.get_element_by_id(id),
        }
    }

    fn document(&self) -> Option<Document> {
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
/// The room line: what a room link is for, the link, and its copy button.
pub const ROOM_TEXT: &str = "room-text";
pub const ROOM_LINK: &str = "room-link";
pub const COPY_LINK: &str = "copy-link";

/// Handles on the page's elements, looked up once.
pub struct Page {
    pub start: HtmlButtonElement,
    pub call: HtmlButtonElement,
    pub hang_up: HtmlButtonElement,
    pub local_video: HtmlVideoElement,
    pub remote_video: HtmlVideoElement,
    pub log: StepLog,
    pub stats: StatsView,
    pub tools: ToolsView,
    pub copy_link: HtmlButtonElement,
    room_text: Element,
    room_link: HtmlAnchorElement,
    status: Element,
}

impl Page {
    /// Finds every element by id; names the first one missing.
    pub fn find(root: &Root) -> Result<Self, Error> {
        let document = root.document().ok_or(Error::MissingElement("document"))?;
        Ok(Self {
            start: by_id(root, START_BUTTON)?,
            call: by_id(root, CALL_BUTTON)?,
            hang_up: by_id(root, HANG_UP_BUTTON)?,
            local_video: by_id(root, LOCAL_VIDEO)?,
            remote_video: by_id(root, REMOTE_VIDEO)?,
            log: StepLog::new(by_id(root, LOG)?, document.clone()),
            stats: StatsView::find(root)?,
            tools: ToolsView::find(root, document)?,
            copy_link: by_id(root, COPY_LINK)?,
            room_text: by_id(root, ROOM_TEXT)?,
            room_link: by_id(root, ROOM_LINK)?,
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
        self.status.set_text_content(Some(&error.to_string()));
    }

    pub fn status_text(&self) -> String {
        self.status.text_content().unwrap_or_default()
    }

    /// Offers a room link: this room's, to share, or in the tutorial a fresh one (128 random
    /// bits), so that calling another tab or machine needs no typing.
    pub fn show_room_link(&self, mode: &Mode) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let here = format!(
            "{}{}",
            location.origin().unwrap_or_default(),
            location.pathname().unwrap_or_default()
        );
        let (text, query) = match mode {
            Mode::Loopback => {
                let mut random = [0u8; 16];
                let drawn = window
                    .crypto()
                    .and_then(|c| c.get_random_values_with_u8_array(&mut random))
                    .is_ok();
                if !drawn {
                    return;
                }
                (
                    "This page calls itself. To call another tab or another machine, open this new room link in both:".to_owned(),
                    address::query(&address::fresh_room(random), false),
                )
            }
            Mode::Room { room, relay_only } => (
                format!("Room {room}: open this link in the other tab or on the other machine:"),
                address::query(room, *relay_only),
            ),
        };
        let link = format!("{here}{query}");
        self.room_text.set_text_content(Some(&text));
        self.room_link.set_href(&link);
        self.room_link.set_text_content(Some(&link));
        self.copy_link.set_hidden(false);
    }

    /// The room link shown.
    pub fn room_link(&self) -> String {
        self.room_link.href()
    }

    pub fn clear_videos(&self) {
        self.local_video.set_src_object(None);
        self.remote_video.set_src_object(None);
    }
}

/// The element with `id`, as the type the page needs, or the error naming it.
pub(crate) fn by_id<T: JsCast>(root: &Root, id: &'static str) -> Result<T, Error> {
    root.element(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or(Error::MissingElement(id))
}
