//! The file controls: the picker, who a file goes to in a group call, and a row for every file
//! sent or received, with its bar, its figures, its buttons and, once checked, its link.

use super::{by_id, Root};
use crate::error::Error;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlAnchorElement, HtmlButtonElement, HtmlElement, HtmlInputElement,
    HtmlOptionElement, HtmlProgressElement, HtmlSelectElement, Url,
};

pub const FILE_INPUT: &str = "file-input";
pub const FILE_TO: &str = "file-to";
pub const TRANSFERS: &str = "transfers";

pub struct FilesView {
    document: Document,
    pub input: HtmlInputElement,
    /// Who the file goes to: shown when there is more than one person to choose from.
    pub to: HtmlSelectElement,
    to_field: HtmlElement,
    list: Element,
    /// What a screen reader announces: a file offered, and how each one ended (not the bars).
    status: Element,
    /// The links to files received, revoked with their rows: each holds the file in memory.
    urls: RefCell<Vec<String>>,
}

impl FilesView {
    pub fn find(root: &Root, document: Document) -> Result<Self, Error> {
        Ok(Self {
            document,
            input: by_id(root, FILE_INPUT)?,
            to: by_id(root, FILE_TO)?,
            to_field: by_id(root, "file-to-field")?,
            list: by_id(root, TRANSFERS)?,
            status: by_id(root, "files-status")?,
            urls: RefCell::default(),
        })
    }

    /// Files can go out while a file channel is open.
    pub fn enable(&self, open: bool) {
        self.input.set_disabled(!open);
    }

    /// The people a file can go to, as (value, label); the choice made stays while they do. If
    /// the person chosen leaves, the next file waits for a new choice ("Choose who…") rather
    /// than going to whoever comes first.
    pub fn show_people(&self, people: &[(String, String)]) {
        let chosen = self.to.value();
        let option_value = |i: u32| self.to.item(i).and_then(|o| o.get_attribute("value"));
        let had_placeholder = option_value(0).is_some_and(|v| v.is_empty());
        let left = !chosen.is_empty() && !people.iter().any(|(value, _)| *value == chosen);
        let placeholder = people.len() > 1 && (left || chosen.is_empty() && had_placeholder);
        let mut options: Vec<(&str, &str)> = Vec::with_capacity(people.len() + 1);
        if placeholder {
            options.push(("", "Choose who…"));
        }
        options.extend(people.iter().map(|(v, l)| (v.as_str(), l.as_str())));
        let same = self.to.length() as usize == options.len()
            && options.iter().enumerate().all(|(i, (value, label))| {
                self.to.item(i as u32).is_some_and(|o| {
                    o.get_attribute("value").as_deref() == Some(*value)
                        && o.text_content().as_deref() == Some(*label)
                })
            });
        if !same {
            self.to.set_text_content(None);
            for (value, label) in &options {
                if let Ok(option) = self.document.create_element("option") {
                    let option: HtmlOptionElement = option.unchecked_into();
                    option.set_value(value);
                    option.set_text(label);
                    let _ = self.to.append_child(&option);
                }
            }
            self.to
                .set_value(if placeholder && (left || chosen.is_empty()) {
                    ""
                } else {
                    &chosen
                });
            if self.to.selected_index() < 0 {
                self.to.set_selected_index(0);
            }
        }
        self.to_field.set_hidden(people.len() < 2);
    }

    /// The person chosen (empty if nobody is), where the page offers a choice.
    pub fn chosen(&self) -> Option<String> {
        (!self.to_field.hidden()).then(|| self.to.value())
    }

    /// A new row: `sends` for a file going out, `title` saying what and with whom.
    pub fn row(&self, sends: bool, title: &str) -> Option<Row> {
        let make = |tag: &str, class: &str| {
            let element = self.document.create_element(tag).ok()?;
            element.set_class_name(class);
            Some(element)
        };
        let item = make("li", "transfer")?;
        let _ = item.set_attribute("data-direction", if sends { "out" } else { "in" });
        let name = make("span", "name")?;
        name.set_text_content(Some(title));
        let progress: HtmlProgressElement = make("progress", "bar")?.unchecked_into();
        progress.set_value(0.0);
        let _ = progress.set_attribute("aria-label", title);
        let figures = make("span", "figures")?;
        let actions = make("span", "actions")?;
        for part in [&name, progress.as_ref(), &figures, &actions] {
            item.append_child(part).ok()?;
        }
        self.list.append_child(&item).ok()?;
        Some(Row {
            document: self.document.clone(),
            title: title.to_owned(),
            item,
            progress,
            figures,
            actions,
        })
    }

    /// Says `text` in the files' status line.
    pub fn announce(&self, text: &str) {
        self.status.set_text_content(Some(text));
    }

    /// Keeps `url` until the rows are cleared.
    pub fn keep_url(&self, url: String) {
        self.urls.borrow_mut().push(url);
    }

    /// The list of rows: one listener on it hears every row's Remove (a row outlives the
    /// transfer that made it, and its listeners).
    pub fn list(&self) -> &Element {
        &self.list
    }

    /// Remove pressed in a row (`pressed` is the button): the row goes, and the file received
    /// with it (its link revoked), so that a long call does not keep every file in memory.
    pub fn remove(&self, pressed: &Element) {
        let Some(item) = pressed.closest("li.transfer").ok().flatten() else {
            return;
        };
        let link = item
            .query_selector("a[download]")
            .ok()
            .flatten()
            .and_then(|a| a.dyn_into::<HtmlAnchorElement>().ok());
        if let Some(url) = link.map(|a| a.href()) {
            self.urls.borrow_mut().retain(|kept| *kept != url);
            let _ = Url::revoke_object_url(&url);
        }
        item.remove();
        self.announce("Removed.");
    }

    /// Removes every row, and lets go of the files received.
    pub fn clear(&self) {
        self.list.set_text_content(None);
        self.status.set_text_content(None);
        for url in self.urls.take() {
            let _ = Url::revoke_object_url(&url);
        }
    }
}

/// One file's row.
pub struct Row {
    document: Document,
    /// What and with whom: the buttons' names say which file they act on.
    title: String,
    item: Element,
    progress: HtmlProgressElement,
    figures: Element,
    actions: Element,
}

impl Row {
    /// `data-state`: what tests and style read.
    pub fn state(&self, state: &str) {
        let _ = self.item.set_attribute("data-state", state);
    }

    pub fn progress(&self, bytes: u64, size: u64, text: &str) {
        // An empty file is all there at once.
        self.progress.set_max(size.max(1) as f64);
        self.progress
            .set_value(if size == 0 { 1.0 } else { bytes as f64 });
        self.say(text);
    }

    pub fn say(&self, text: &str) {
        self.figures.set_text_content(Some(text));
    }

    /// A button in the row's actions, named by `action` (`data-action`) for tests.
    pub fn button(&self, label: &str, action: &str) -> Option<HtmlButtonElement> {
        let button: HtmlButtonElement = self
            .document
            .create_element("button")
            .ok()?
            .unchecked_into();
        button.set_type("button");
        button.set_text_content(Some(label));
        let _ = button.set_attribute("data-action", action);
        let _ = button.set_attribute("aria-label", &format!("{label}: {}", self.title));
        self.actions.append_child(&button).ok()?;
        Some(button)
    }

    /// Hides every button but the one for `action`.
    pub fn only(&self, action: &str) {
        let buttons = self.actions.children();
        for i in 0..buttons.length() {
            if let Some(button) = buttons
                .item(i)
                .and_then(|b| b.dyn_into::<HtmlElement>().ok())
            {
                let shown = button.get_attribute("data-action").as_deref() == Some(action);
                button.set_hidden(!shown);
                if shown {
                    // The button pressed is gone: focus goes to the one left, not the page.
                    let _ = button.focus();
                }
            }
        }
    }

    /// Removes the buttons: the transfer is past them.
    pub fn clear_actions(&self) {
        let focused = self
            .document
            .active_element()
            .is_some_and(|e| self.actions.contains(Some(&e)));
        self.actions.set_text_content(None);
        if focused {
            // Focus stays in the row rather than falling to the page.
            let _ = self.item.set_attribute("tabindex", "-1");
            if let Some(item) = self.item.dyn_ref::<HtmlElement>() {
                let _ = item.focus();
            }
        }
    }

    /// The link that saves a file received.
    pub fn link(&self, url: &str, name: &str) {
        self.clear_actions();
        if let Ok(link) = self.document.create_element("a") {
            let link: HtmlAnchorElement = link.unchecked_into();
            link.set_href(url);
            link.set_download(name);
            link.set_text_content(Some(&format!("Save {name}")));
            let _ = self.actions.append_child(&link);
        }
        // Heard by the list's one listener (`FilesView::remove`).
        let _ = self.button("Remove", "remove");
    }
}
