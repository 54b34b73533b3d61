//! The stats panel's figures and graphs, shown from a reading or cleared for a new call.

use crate::error::Error;
use crate::page::graph::Graph;
use crate::page::{by_id, Root};
use crate::stats::{History, MISSING};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// The panel's id in the page.
pub const PANEL: &str = "stats";

/// The panel's elements: one cell per figure (by `data-stat`) and the three graphs.
pub struct StatsView {
    section: HtmlElement,
    state: Element,
    cells: Vec<(String, Element)>,
    bitrate: Graph,
    fps: Graph,
    rtt: Graph,
}

impl StatsView {
    pub fn find(root: &Root) -> Result<Self, Error> {
        let section: HtmlElement = by_id(root, PANEL)?;
        let list = section
            .query_selector_all("[data-stat]")
            .map_err(|_| Error::MissingElement(PANEL))?;
        let cells = (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
            .filter_map(|cell| Some((cell.get_attribute("data-stat")?, cell)))
            .collect();
        Ok(Self {
            state: by_id(root, "stats-state")?,
            bitrate: Graph::new(by_id(root, "graph-bitrate")?, "kbit/s"),
            fps: Graph::new(by_id(root, "graph-fps")?, "frames/s"),
            rtt: Graph::new(by_id(root, "graph-rtt")?, "ms"),
            section,
            cells,
        })
    }

    /// Empties the panel for a new call, so nothing of the last call is shown as this one's.
    pub fn reset(&self) {
        for (_, cell) in &self.cells {
            cell.set_text_content(Some(MISSING));
        }
        self.state.set_text_content(Some("once the peers connect"));
        for graph in [&self.bitrate, &self.fps, &self.rtt] {
            graph.clear();
        }
    }

    /// Shows the panel for a call that just connected.
    pub fn open(&self) {
        self.state
            .set_text_content(Some("during the call, every second"));
        self.section.set_hidden(false);
    }

    /// Marks the figures as the last ones of a call that has ended.
    pub fn close(&self) {
        self.state
            .set_text_content(Some("the last figures of the call that ended"));
    }

    pub fn show(&self, rows: &[(&'static str, String)]) {
        for (key, value) in rows {
            if let Some((_, cell)) = self.cells.iter().find(|(k, _)| k == key) {
                cell.set_text_content(Some(value));
            }
        }
    }

    pub fn draw(&self, history: &History) {
        self.bitrate
            .draw(&[&history.kbps_sent, &history.kbps_received]);
        self.fps.draw(&[&history.fps_sent, &history.fps_decoded]);
        self.rtt.draw(&[&history.rtt_ms]);
    }
}
