//! The stats panel's figures and graphs, shown from a reading or cleared for a new call, and in a
//! group call a table with a row per person.

use crate::error::Error;
use crate::page::graph::Graph;
use crate::page::{by_id, Root};
use crate::stats::{History, Summary, MISSING, PERSON_COLUMNS};
use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// The id of a group call's table of people.
const PEOPLE: &str = "people";

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
    /// A group call's table of people, and where its rows go.
    people: HtmlElement,
    people_rows: Element,
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
            people: by_id(root, PEOPLE)?,
            people_rows: by_id(root, "people-rows")?,
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

    /// Shows the table of people (in a call of more than two) or hides it.
    pub fn show_people(&self, on: bool) {
        self.people.set_hidden(!on);
    }

    /// Whether the table of people shows: its rows need no figures while it does not.
    pub fn people_shown(&self) -> bool {
        !self.people.hidden()
    }

    /// A new row at the end of the table of people; `choose` hears that it was picked.
    pub fn person_row(&self, choose: impl Fn() + 'static) -> Result<PersonRow, Error> {
        let missing = Error::MissingElement(PEOPLE);
        let document = self.people_rows.owner_document().ok_or(missing)?;
        let row = document.create_element("tr")?;
        let head = document.create_element("th")?;
        head.set_attribute("scope", "row")?;
        // A button: a row is picked with the keyboard as well as by a click.
        let name = document.create_element("button")?;
        name.set_attribute("type", "button")?;
        name.set_text_content(Some(MISSING));
        head.append_child(&name)?;
        row.append_child(&head)?;
        let mut cells = Vec::with_capacity(PERSON_COLUMNS.len());
        for column in PERSON_COLUMNS {
            let cell = document.create_element("td")?;
            cell.set_attribute("data-col", column)?;
            cell.set_text_content(Some(MISSING));
            row.append_child(&cell)?;
            cells.push(cell);
        }
        self.people_rows.append_child(&row)?;
        let choose = EventListener::new(&name, "click", move |_| choose());
        Ok(PersonRow {
            row,
            name,
            cells,
            _choose: choose,
        })
    }

    pub fn draw(&self, history: &History) {
        self.bitrate
            .draw(&[&history.kbps_sent, &history.kbps_received]);
        self.fps.draw(&[&history.fps_sent, &history.fps_decoded]);
        self.rtt.draw(&[&history.rtt_ms]);
    }
}

/// One person's row in the table of people; dropping it takes it out of the table.
pub struct PersonRow {
    row: Element,
    name: Element,
    cells: Vec<Element>,
    _choose: EventListener,
}

impl PersonRow {
    /// Who this is, whether their call is reconnecting, and whether the panel's figures below are
    /// theirs. The name is set as text: it is never read as HTML.
    pub fn describe(&self, name: &str, reconnecting: bool, chosen: bool) {
        self.name.set_text_content(Some(name));
        let _ = self
            .row
            .toggle_attribute_with_force("data-reconnecting", reconnecting);
        let _ = self.row.toggle_attribute_with_force("data-chosen", chosen);
        let _ = self
            .name
            .set_attribute("aria-pressed", if chosen { "true" } else { "false" });
    }

    /// The figures of a reading of this person's call.
    pub fn show(&self, summary: &Summary) {
        for (cell, value) in self.cells.iter().zip(summary.person()) {
            cell.set_text_content(Some(&value));
        }
    }
}

impl Drop for PersonRow {
    fn drop(&mut self) {
        self.row.remove();
    }
}
