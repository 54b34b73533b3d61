//! The check's part of the page, built in place of the tutorial's call: a row per check with its
//! progress, verdict, sentence and figures; the ICE servers to try; the summary and the report.
//! Ids and `data-check` / `data-verdict` attributes are what tests and people's tools read.

use loopback_check::network::ServerMeasured;
use loopback_check::{Check, Outcome, Verdict};
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
};

/// What can go wrong building the view.
#[derive(Debug)]
pub enum ViewError {
    NoDocument,
    Refused(String),
}

impl std::fmt::Display for ViewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ViewError::NoDocument => f.write_str("Check this machine needs a page to run in."),
            ViewError::Refused(what) => {
                write!(f, "The page would not take the check's part: {what}")
            }
        }
    }
}

fn refused(e: wasm_bindgen::JsValue) -> ViewError {
    ViewError::Refused(format!("{e:?}"))
}

/// The checks shown, in order.
pub const CHECKS: [Check; 6] = [
    Check::Camera,
    Check::Microphone,
    Check::Speaker,
    Check::Network,
    Check::Connectivity,
    Check::Throughput,
];

/// One check's row.
pub struct Row {
    pub item: HtmlElement,
    /// Where a check shows more than its sentence (the network's candidates).
    extra: Element,
    progress: Element,
    sentence: Element,
    figures: Element,
}

impl Row {
    /// The candidates each server gave, a table each (type, protocol, address, when it came),
    /// and its errors in words.
    pub fn candidates(&self, document: &Document, servers: &[ServerMeasured]) {
        self.extra.set_text_content(None);
        for server in servers {
            let _ = self.server_table(document, server);
        }
    }

    fn server_table(&self, d: &Document, server: &ServerMeasured) -> Result<(), ViewError> {
        let table = make(d, "table", &[("class", "candidates")], "")?;
        if let Some(table) = table.dyn_ref::<HtmlElement>() {
            let _ = table.style().set_property("border-spacing", "1.25em 0.1em");
        }
        add(&table, &make(d, "caption", &[], &server.url)?)?;
        let head = make(d, "tr", &[], "")?;
        for title in ["Type", "Protocol", "Address", "Arrived (ms)"] {
            add(&head, &make(d, "th", &[("scope", "col")], title)?)?;
        }
        add(&table, &head)?;
        for c in &server.candidates {
            let kind = serde_json::to_value(c.kind)
                .ok()
                .and_then(|k| k.as_str().map(str::to_owned))
                .unwrap_or_default();
            let tr = make(d, "tr", &[], "")?;
            for cell in [
                kind,
                c.protocol.clone(),
                format!("{}:{}", c.address, c.port),
                format!("{:.0}", c.arrived_ms),
            ] {
                add(&tr, &make(d, "td", &[], &cell)?)?;
            }
            add(&table, &tr)?;
        }
        add(&self.extra, &table)?;
        if !server.errors.is_empty() {
            let list = make(d, "ul", &[("class", "ice-errors")], "")?;
            for e in &server.errors {
                let explained = loopback_check::network::explain(e);
                add(&list, &make(d, "li", &[], &explained.sentence)?)?;
            }
            add(&self.extra, &list)?;
        }
        Ok(())
    }

    /// Shows how far the check is, 0 to 1.
    pub fn progress(&self, done: f64) {
        let _ = self
            .progress
            .set_attribute("value", &format!("{:.2}", done.clamp(0.0, 1.0)));
        let _ = self.item.set_attribute("data-state", "running");
    }

    pub fn show(&self, outcome: &Outcome) {
        let verdict = serde_json::to_value(outcome.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = self.item.set_attribute("data-verdict", &verdict);
        // Through the CSSOM, which the page's policy allows (a style attribute it would not).
        if let Some(sentence) = self.sentence.dyn_ref::<HtmlElement>() {
            let colour = match outcome.verdict {
                Verdict::Pass => "green",
                Verdict::Warning => "darkorange",
                Verdict::Fail => "crimson",
                Verdict::Skipped => "gray",
            };
            let _ = sentence.style().set_property("color", colour);
        }
        let _ = self.item.set_attribute("data-state", "done");
        let _ = self.progress.set_attribute("value", "1");
        self.sentence.set_text_content(Some(&format!(
            "{}: {}",
            outcome.verdict.mark(),
            outcome.sentence
        )));
        let figures = serde_json::to_string_pretty(&outcome.figures).unwrap_or_default();
        self.figures.set_text_content(Some(&figures));
    }
}

/// The check's elements.
pub struct View {
    pub document: Document,
    pub run: HtmlButtonElement,
    /// Whether the run includes the throughput check (25 s more).
    pub throughput: HtmlInputElement,
    pub rows: Vec<(Check, Row)>,
    pub ice_url: HtmlInputElement,
    pub ice_username: HtmlInputElement,
    pub ice_credential: HtmlInputElement,
    pub ice_add: HtmlButtonElement,
    pub ice_list: Element,
    pub ice_problem: Element,
    pub play_tone: HtmlButtonElement,
    /// The speaker's output picker and its label (hidden until there is a choice).
    pub output_field: Element,
    pub output: HtmlSelectElement,
    pub heard: HtmlButtonElement,
    pub not_heard: HtmlButtonElement,
    pub summary: Element,
    pub copy: HtmlButtonElement,
    pub labels: HtmlInputElement,
    pub download: HtmlButtonElement,
    pub status: Element,
}

fn make(
    document: &Document,
    tag: &str,
    attrs: &[(&str, &str)],
    text: &str,
) -> Result<Element, ViewError> {
    let e = document.create_element(tag).map_err(refused)?;
    for (key, value) in attrs {
        e.set_attribute(key, value).map_err(refused)?;
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    Ok(e)
}

fn add(parent: &Element, child: &Element) -> Result<(), ViewError> {
    parent.append_child(child).map(|_| ()).map_err(refused)
}

fn typed<T: JsCast>(e: Element) -> Result<T, ViewError> {
    e.dyn_into::<T>()
        .map_err(|_| ViewError::Refused("an element of another kind".into()))
}

impl View {
    /// Hides the tutorial's call and puts the check in its place.
    pub fn build() -> Result<Self, ViewError> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(ViewError::NoDocument)?;
        let main = document
            .query_selector("main")
            .ok()
            .flatten()
            .ok_or(ViewError::NoDocument)?;
        // The call's parts stay in the page (the first module holds them) but out of sight.
        let children = main.children();
        for i in 0..children.length() {
            if let Some(child) = children.item(i) {
                if child.tag_name() != "HEADER" {
                    let _ = child.set_attribute("hidden", "");
                    // The page's own rules display some of them whatever `hidden` says.
                    if let Some(child) = child.dyn_ref::<HtmlElement>() {
                        let _ = child.style().set_property("display", "none");
                    }
                }
            }
        }
        if let Some(link) = document.get_element_by_id("check-link") {
            let _ = link.set_attribute("href", "./");
            link.set_text_content(Some("Back to the loopback call"));
        }
        if let Some(lede) = document.query_selector("header .lede").ok().flatten() {
            lede.set_text_content(Some(
                "Check this machine: whether its camera, microphone, speaker and network can do \
                 WebRTC, and what to do where they cannot.",
            ));
        }
        let d = &document;
        let section = make(
            d,
            "section",
            &[
                ("id", "check"),
                ("class", "check"),
                ("aria-label", "Check this machine"),
            ],
            "",
        )?;
        let intro = make(d, "p", &[], "The checks open the camera and the microphone (the browser asks first), gather candidates from each ICE server, and connect two peers in this page through each path. Nothing leaves this machine but the requests to the ICE servers.")?;
        add(&section, &intro)?;

        // ICE servers to try besides the page's own, as the trickle-ICE sample takes them.
        let servers = make(d, "fieldset", &[("id", "check-ice")], "")?;
        add(&servers, &make(d, "legend", &[], "ICE servers to check")?)?;
        let ice_url = typed::<HtmlInputElement>(make(
            d,
            "input",
            &[
                ("id", "ice-url"),
                ("type", "text"),
                (
                    "placeholder",
                    "stun:host:3478 or turn:host:3478?transport=tcp",
                ),
                ("size", "36"),
                ("aria-label", "STUN or TURN URL"),
                ("autocomplete", "off"),
            ],
            "",
        )?)?;
        let ice_username = typed::<HtmlInputElement>(make(
            d,
            "input",
            &[
                ("id", "ice-username"),
                ("type", "text"),
                ("placeholder", "username"),
                ("size", "14"),
                ("aria-label", "TURN username"),
                ("autocomplete", "off"),
            ],
            "",
        )?)?;
        let ice_credential = typed::<HtmlInputElement>(make(
            d,
            "input",
            &[
                ("id", "ice-credential"),
                ("type", "password"),
                ("placeholder", "credential"),
                ("size", "14"),
                ("aria-label", "TURN credential"),
                ("autocomplete", "off"),
            ],
            "",
        )?)?;
        let ice_add = typed::<HtmlButtonElement>(make(
            d,
            "button",
            &[("id", "ice-add"), ("type", "button")],
            "Add server",
        )?)?;
        for e in [
            &ice_url as &Element,
            &ice_username,
            &ice_credential,
            &ice_add,
        ] {
            add(&servers, e)?;
        }
        let ice_problem = make(
            d,
            "p",
            &[("id", "ice-problem"), ("class", "error"), ("role", "alert")],
            "",
        )?;
        let ice_list = make(d, "ul", &[("id", "ice-list")], "")?;
        add(&servers, &ice_problem)?;
        add(&servers, &ice_list)?;
        add(&section, &servers)?;

        let run = typed::<HtmlButtonElement>(make(
            d,
            "button",
            &[("id", "check-run"), ("type", "button")],
            "Run the checks",
        )?)?;
        add(&section, &run)?;
        let including = make(d, "label", &[], " Include throughput (about 25 s more)")?;
        let throughput = typed::<HtmlInputElement>(make(
            d,
            "input",
            &[
                ("id", "check-throughput"),
                ("type", "checkbox"),
                ("checked", ""),
            ],
            "",
        )?)?;
        including
            .prepend_with_node_1(&throughput)
            .map_err(refused)?;
        add(&section, &including)?;
        let status = make(
            d,
            "p",
            &[
                ("id", "check-status"),
                ("role", "status"),
                ("aria-live", "polite"),
            ],
            "",
        )?;
        add(&section, &status)?;

        let list = make(
            d,
            "ol",
            &[("id", "check-rows"), ("class", "check-rows")],
            "",
        )?;
        let mut rows = Vec::new();
        let mut play_tone = None;
        let mut output = None;
        let mut heard = None;
        let mut not_heard = None;
        for check in CHECKS {
            let name = serde_json::to_value(check)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let item = typed::<HtmlElement>(make(
                d,
                "li",
                &[("data-check", &name), ("data-state", "waiting")],
                "",
            )?)?;
            add(&item, &make(d, "strong", &[], check.title())?)?;
            let progress = make(
                d,
                "progress",
                &[
                    ("max", "1"),
                    ("value", "0"),
                    ("aria-label", &format!("{} check", check.title())),
                ],
                "",
            )?;
            if let Some(bar) = progress.dyn_ref::<HtmlElement>() {
                let _ = bar.style().set_property("margin-left", "0.75em");
                let _ = bar.style().set_property("vertical-align", "middle");
            }
            add(&item, &progress)?;
            let sentence = make(d, "p", &[("class", "sentence")], "Not run yet.")?;
            add(&item, &sentence)?;
            if check == Check::Speaker {
                let tone = typed::<HtmlButtonElement>(make(
                    d,
                    "button",
                    &[("id", "speaker-play"), ("type", "button")],
                    "Play a tone",
                )?)?;
                let yes = typed::<HtmlButtonElement>(make(
                    d,
                    "button",
                    &[
                        ("id", "speaker-heard"),
                        ("type", "button"),
                        ("disabled", ""),
                    ],
                    "I heard it",
                )?)?;
                let no = typed::<HtmlButtonElement>(make(
                    d,
                    "button",
                    &[
                        ("id", "speaker-not-heard"),
                        ("type", "button"),
                        ("disabled", ""),
                    ],
                    "I did not",
                )?)?;
                // The output the tone plays on, where the page may choose one (filled once the
                // browser lists outputs; hidden where it cannot send audio elsewhere).
                let label = make(
                    d,
                    "label",
                    &[("id", "speaker-output-field"), ("hidden", "")],
                    "Output ",
                )?;
                let select = typed::<HtmlSelectElement>(make(
                    d,
                    "select",
                    &[("id", "speaker-output")],
                    "",
                )?)?;
                add(
                    &select,
                    &make(d, "option", &[("value", "")], "Default output")?,
                )?;
                add(&label, &select)?;
                add(&item, &label)?;
                for b in [&tone, &yes, &no] {
                    add(&item, b)?;
                }
                output = Some((label, select));
                play_tone = Some(tone);
                heard = Some(yes);
                not_heard = Some(no);
            }
            let extra = make(d, "div", &[("class", "extra")], "")?;
            add(&item, &extra)?;
            let details = make(d, "details", &[], "")?;
            add(&details, &make(d, "summary", &[], "Figures")?)?;
            let figures = make(d, "pre", &[("class", "figures")], "")?;
            add(&details, &figures)?;
            add(&item, &details)?;
            add(&list, &item)?;
            rows.push((
                check,
                Row {
                    item,
                    extra,
                    progress,
                    sentence,
                    figures,
                },
            ));
        }
        add(&section, &list)?;

        let result = make(
            d,
            "section",
            &[("id", "check-result"), ("aria-label", "Result")],
            "",
        )?;
        add(&result, &make(d, "h2", &[], "Result")?)?;
        let summary = make(d, "pre", &[("id", "check-summary")], "")?;
        if let Some(pre) = summary.dyn_ref::<HtmlElement>() {
            let _ = pre.style().set_property("white-space", "pre-wrap");
        }
        add(&result, &summary)?;
        let copy = typed::<HtmlButtonElement>(make(
            d,
            "button",
            &[("id", "check-copy"), ("type", "button"), ("disabled", "")],
            "Copy summary",
        )?)?;
        let download = typed::<HtmlButtonElement>(make(
            d,
            "button",
            &[
                ("id", "check-download"),
                ("type", "button"),
                ("disabled", ""),
            ],
            "Download report (JSON)",
        )?)?;
        let label = make(d, "label", &[], " Include device names")?;
        let labels = typed::<HtmlInputElement>(make(
            d,
            "input",
            &[("id", "check-labels"), ("type", "checkbox")],
            "",
        )?)?;
        label.prepend_with_node_1(&labels).map_err(refused)?;
        for e in [&copy as &Element, &download, &label] {
            add(&result, e)?;
        }
        add(&section, &result)?;
        add(&main, &section)?;
        let missing = || ViewError::Refused("the speaker's buttons".into());
        Ok(Self {
            document,
            run,
            throughput,
            rows,
            ice_url,
            ice_username,
            ice_credential,
            ice_add,
            ice_list,
            ice_problem,
            play_tone: play_tone.ok_or_else(missing)?,
            output_field: output
                .as_ref()
                .map(|(l, _)| l.clone())
                .ok_or_else(missing)?,
            output: output.map(|(_, s)| s).ok_or_else(missing)?,
            heard: heard.ok_or_else(missing)?,
            not_heard: not_heard.ok_or_else(missing)?,
            summary,
            copy,
            labels,
            download,
            status,
        })
    }

    pub fn row(&self, check: Check) -> Option<&Row> {
        self.rows.iter().find(|(c, _)| *c == check).map(|(_, r)| r)
    }

    pub fn status(&self, text: &str) {
        self.status.set_text_content(Some(text));
    }

    /// Lists a server to check, with who gave it (its credential not shown).
    pub fn list_server(&self, url: &str, whose: &str) {
        if let Ok(item) = make(
            &self.document,
            "li",
            &[],
            &if whose.is_empty() {
                url.to_owned()
            } else {
                format!("{url} ({whose})")
            },
        ) {
            let _ = add(&self.ice_list, &item);
        }
    }
}

impl View {
    /// Lists the servers a run checks: the page's own (`own`, by URL), then those entered.
    pub fn list_servers(&self, own: &[String], entered: &[crate::ice::Server]) {
        self.ice_list.set_text_content(None);
        for url in own {
            self.list_server(url, "this page's server, credentials of its own");
        }
        for server in entered {
            let whose = if server.username.is_empty() {
                String::new()
            } else {
                format!("as {}", server.username)
            };
            self.list_server(&server.url, &whose);
        }
    }

    /// Offers the outputs the browser lists (`(id, label)`), if the page can send audio to them.
    pub fn outputs(&self, outputs: &[(String, String)], can_choose: bool) {
        let shown = can_choose && !outputs.is_empty();
        let _ = if shown {
            self.output_field.remove_attribute("hidden")
        } else {
            self.output_field.set_attribute("hidden", "")
        };
        let chosen = self.output.value();
        while self.output.length() > 1 {
            self.output.remove_with_index(1);
        }
        for (n, (id, label)) in outputs.iter().enumerate() {
            let text = if label.is_empty() {
                format!("Output {}", n + 1)
            } else {
                label.clone()
            };
            if let Ok(option) = make(&self.document, "option", &[("value", id)], &text) {
                let _ = add(&self.output, &option);
            }
        }
        self.output.set_value(&chosen);
    }
}
