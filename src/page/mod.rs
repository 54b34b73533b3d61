//! The page: the stage (from loopback-core), the controls, the stats panel and the room link.

/// The file controls: the picker and a row for each file sent or received.
pub mod files;
/// The canvas graphs of the stats panel.
pub mod graph;
/// The stats panel's figures and graphs.
pub mod stats_view;
/// The call's controls: devices, video settings, toggles, chat.
pub mod tools;

use crate::address::{self, Mode};
use crate::error::Error;
use files::FilesView;
use stats_view::StatsView;
use std::ops::Deref;
use tools::ToolsView;
use web_sys::{Element, HtmlAnchorElement, HtmlButtonElement};

/// The timed step log.
pub use loopback_core::log;
/// What the tutorial needs of the page (buttons, videos, status line, step log), which the first
/// module shares.
pub use loopback_core::stage::{self, by_id, Root, Stage};
pub use loopback_core::stage::{CALL_BUTTON, HANG_UP_BUTTON, LOCAL_VIDEO, LOG, REMOTE_VIDEO};
pub use loopback_core::stage::{START_BUTTON, STATUS};

/// The room line: what a room link is for, the link, and its copy button.
pub const ROOM_TEXT: &str = "room-text";
pub const ROOM_LINK: &str = "room-link";
pub const COPY_LINK: &str = "copy-link";
/// The controls' section.
pub const TOOLS: &str = "tools";

/// Handles on the page's elements, looked up once: the tutorial's [`Stage`] (which it derefs
/// to), the controls, the stats panel and the room link.
pub struct Page {
    stage: Stage,
    pub stats: StatsView,
    pub tools: ToolsView,
    pub files: FilesView,
    /// The controls' section, inert in the markup until this module is there to run them.
    tools_section: Element,
    pub copy_link: HtmlButtonElement,
    room_text: Element,
    room_link: HtmlAnchorElement,
}

impl Deref for Page {
    type Target = Stage;

    fn deref(&self) -> &Stage {
        &self.stage
    }
}

impl Page {
    /// Finds every element by id; names the first one missing.
    pub fn find(root: &Root) -> Result<Self, Error> {
        let document = root.document().ok_or(Error::MissingElement("document"))?;
        Ok(Self {
            stage: Stage::find(root)?,
            stats: StatsView::find(root)?,
            tools: ToolsView::find(root, document.clone())?,
            files: FilesView::find(root, document)?,
            tools_section: by_id(root, TOOLS)?,
            copy_link: by_id(root, COPY_LINK)?,
            room_text: by_id(root, ROOM_TEXT)?,
            room_link: by_id(root, ROOM_LINK)?,
        })
    }

    /// Lets the user reach the controls: this module runs them now.
    pub fn enable_tools(&self) {
        let _ = self.tools_section.remove_attribute("inert");
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
            Mode::Room { room, relay_only } if address::guessable(room) => (
                format!(
                    "Room {room}: a name this short or this plain can be guessed, and whoever \
                     guesses it can join your call. For a private call, use a fresh room link \
                     (open the page without ?room=). This room's link:"
                ),
                address::query(room, *relay_only),
            ),
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
}
