//! A person's tile in a group call: a video and a caption in the page's grid of videos. The first
//! person's tile is the tutorial's own `remoteStream` video, so a call of two looks as it always
//! did; each further person gets a tile of their own, which goes when they do.

use crate::error::Error;
use crate::page::Page;
use gloo_events::EventListener;
use loopback_signal::PeerId;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlVideoElement};

/// The grid of videos: the local figure, then the remote ones.
const GRID_ATTRIBUTE: &str = "data-tiles";

pub struct Tile {
    figure: Element,
    video: HtmlVideoElement,
    caption: Element,
    /// The page's own `remoteStream` figure, kept when the tile goes.
    primary: bool,
    _choose: EventListener,
}

impl Tile {
    /// A tile for `peer`: the page's remote video if `primary`, else a new figure after the last
    /// one. `choose` hears a click on it (to show that person in the stats panel).
    pub fn new(
        page: &Page,
        peer: PeerId,
        primary: bool,
        choose: impl Fn() + 'static,
    ) -> Result<Self, Error> {
        let missing = Error::MissingElement("the remote video's figure");
        let remote_figure = page.remote_video.parent_element().ok_or(missing.clone())?;
        let (figure, video) = if primary {
            (remote_figure, page.remote_video.clone())
        } else {
            let document = remote_figure.owner_document().ok_or(missing.clone())?;
            let figure = document.create_element("figure")?;
            let video: HtmlVideoElement = document.create_element("video")?.unchecked_into();
            video.set_autoplay(true);
            video.set_attribute("playsinline", "")?;
            figure.append_child(&video)?;
            let caption: web_sys::Node = document.create_element("figcaption")?.into();
            figure.append_child(&caption)?;
            let grid = remote_figure.parent_element().ok_or(missing.clone())?;
            grid.append_child(&figure)?;
            (figure, video)
        };
        let caption = figure
            .query_selector("figcaption")?
            .ok_or(Error::MissingElement("the remote video's caption"))?;
        figure.set_attribute("data-peer", &peer.to_string())?;
        figure.set_attribute("tabindex", "0")?;
        figure.toggle_attribute_with_force("hidden", false)?;
        let choose = EventListener::new(&figure, "click", move |_| choose());
        Ok(Self {
            figure,
            video,
            caption,
            primary,
            _choose: choose,
        })
    }

    pub fn video(&self) -> &HtmlVideoElement {
        &self.video
    }

    pub fn is_primary(&self) -> bool {
        self.primary
    }

    /// The tile now belongs to `peer` (the same person back under a new id).
    pub fn set_peer(&self, peer: PeerId) {
        let _ = self.figure.set_attribute("data-peer", &peer.to_string());
    }

    /// Shows who this is and how their call is doing; `chosen` marks the tile the stats panel
    /// shows. The caption is set as text: a name is never read as HTML.
    pub fn show(&self, caption: &str, reconnecting: bool, chosen: bool) {
        self.caption.set_text_content(Some(caption));
        let _ = self
            .figure
            .toggle_attribute_with_force("data-reconnecting", reconnecting);
        let _ = self
            .figure
            .toggle_attribute_with_force("data-chosen", chosen);
    }
}

impl Drop for Tile {
    fn drop(&mut self) {
        if self.primary {
            self.video.set_src_object(None);
            self.caption.set_text_content(Some("Remote"));
            for attribute in ["data-reconnecting", "data-chosen", "data-peer"] {
                let _ = self.figure.remove_attribute(attribute);
            }
            let _ = self.figure.remove_attribute("tabindex");
        } else {
            self.video.set_src_object(None);
            self.figure.remove();
        }
    }
}

/// Lays the grid out for `remote` people's tiles: the page's own remote figure is hidden while
/// other people's tiles are there without it, and the grid is told how many videos it holds so
/// that it reflows (one, two, four, six…; a narrow window stacks them).
pub fn lay_out(page: &Page, remote: usize, primary_used: bool) {
    let Some(remote_figure) = page.remote_video.parent_element() else {
        return;
    };
    let hide = remote > 0 && !primary_used;
    let _ = remote_figure.toggle_attribute_with_force("hidden", hide);
    if let Some(grid) = remote_figure.parent_element() {
        let videos = 1 + remote.max(1);
        let _ = grid.set_attribute(GRID_ATTRIBUTE, &videos.to_string());
    }
}
