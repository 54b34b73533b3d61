//! The checks in order (camera, microphone, network and connectivity; the speaker whenever the
//! person answers), each shown as it ends, and the report they make.

use crate::ice::{self, Server};
use crate::view::{View, ViewError};
use crate::wait::{now, within};
use crate::{audio, camera, throughput};
use gloo_events::EventListener;
use loopback_check::connectivity::{self, Path};
use loopback_check::network::{self, IceUrl, Scheme};
use loopback_check::report::{Device, Environment, Report};
use loopback_check::verdict::worst;
use loopback_check::{microphone, speaker, Check, Outcome, Verdict};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AudioContext;

/// What the page knows so far.
#[derive(Default)]
struct State {
    servers: Vec<Server>,
    /// Whether the page is served by loopback-server (which was asked for its ICE servers).
    served_by_server: bool,
    /// What the page's server said when asked, when it matters (none, refused, not ours).
    said: Option<String>,
    outcomes: Vec<Outcome>,
    speaker: Option<speaker::Measured>,
    /// Made at a click, so that the browser lets it play.
    audio: Option<AudioContext>,
    /// Whether the tone went to an output other than the default.
    output_chosen: bool,
    running: bool,
    /// When the last run started and how long it took.
    taken_at: String,
    duration_ms: f64,
    devices: Vec<(String, String)>,
    report: Option<Report>,
}

/// The check page: its view, its state and every listener, which go with it.
pub struct CheckPage {
    state: Rc<RefCell<State>>,
    _listeners: Vec<EventListener>,
}

impl CheckPage {
    pub fn mount() -> Result<Self, ViewError> {
        let view = Rc::new(View::build()?);
        let state: Rc<RefCell<State>> = Rc::default();
        let mut listeners = Vec::new();
        let on = |target: &web_sys::EventTarget, handler: Box<dyn Fn()>| {
            EventListener::new(target, "click", move |_| handler())
        };
        {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(on(
                &view.run.clone(),
                Box::new(move || start(&view, &state)),
            ));
        }
        {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(on(
                &view.ice_add.clone(),
                Box::new(move || add_server(&view, &state)),
            ));
        }
        {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(on(
                &view.play_tone.clone(),
                Box::new(move || play_tone(&view, &state)),
            ));
        }
        for (button, heard) in [(view.heard.clone(), true), (view.not_heard.clone(), false)] {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(on(&button, Box::new(move || answer(&view, &state, heard))));
        }
        {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(on(
                &view.copy.clone(),
                Box::new(move || copy(&view, &state)),
            ));
        }
        {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(on(
                &view.download.clone(),
                Box::new(move || download(&view, &state)),
            ));
        }
        {
            let (view, state) = (Rc::clone(&view), Rc::clone(&state));
            listeners.push(EventListener::new(
                &view.labels.clone(),
                "change",
                move |_| {
                    report(&view, &state);
                },
            ));
        }
        view.status(
            "Ready: this page's own ICE servers, if it has a server, are asked for when the checks \
             run; add any other STUN or TURN server to check, then run the checks.",
        );
        Ok(Self {
            state,
            _listeners: listeners,
        })
    }

    /// The last run's report as JSON, once a run has ended.
    pub fn report_json(&self) -> Option<String> {
        self.state.borrow().report.as_ref().map(Report::json)
    }
}

/// What the page's own server said when asked for its ICE servers.
enum Own {
    /// Its ICE servers (none: it has no TURN server).
    Servers(Vec<Server>),
    /// It is loopback-server, and refused (too many checks and joins, or no randomness): its
    /// own words.
    Refused(String),
    /// The page is served by something else (a static host, or signaling turned off).
    Elsewhere,
}

/// Asks the page's own server for its ICE servers, fresh for each run (each of a server's URLs
/// measured on its own, with its credentials).
async fn own_servers() -> Own {
    let Some(window) = web_sys::window() else {
        return Own::Elsewhere;
    };
    // The header tells the server this is its own check page (see loopback-server's
    // CHECK_HEADER): no other site can send it.
    let init = web_sys::RequestInit::new();
    let headers = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&headers, &"x-loopback-check".into(), &"1".into());
    init.set_headers(&headers);
    init.set_cache(web_sys::RequestCache::NoStore);
    let asked = window.fetch_with_str_and_init(CHECK_ICE_PATH, &init);
    let Some(response) = within(asked, 5_000)
        .await
        .ok()
        .and_then(|r| r.dyn_into::<web_sys::Response>().ok())
    else {
        return Own::Elsewhere;
    };
    let kind = response
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let text = match response.text() {
        Ok(text) => within(text, 5_000).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    let text = text.unwrap_or_default();
    if matches!(response.status(), 429 | 503) && kind.starts_with("text/plain") {
        return Own::Refused(text);
    }
    if !response.ok() || !kind.starts_with("application/json") {
        return Own::Elsewhere;
    }
    let Ok(answer) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Own::Elsewhere;
    };
    let mut servers = Vec::new();
    for server in answer["iceServers"].as_array().into_iter().flatten() {
        let text = |key: &str| server[key].as_str().unwrap_or_default().to_owned();
        let urls = match &server["urls"] {
            serde_json::Value::String(url) => vec![url.clone()],
            serde_json::Value::Array(urls) => urls
                .iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        for url in urls {
            servers.push(Server {
                url,
                username: text("username"),
                credential: text("credential"),
                own: true,
            });
        }
    }
    Own::Servers(servers)
}

/// The page's own servers to list, by URL.
fn own_listed(own: &Own) -> Vec<String> {
    match own {
        Own::Servers(servers) => servers.iter().map(|s| s.url.clone()).collect(),
        Own::Refused(_) | Own::Elsewhere => Vec::new(),
    }
}

/// Where the page's own server answers with its ICE servers (loopback-server's
/// `CHECK_ICE_PATH`), relative to the page.
const CHECK_ICE_PATH: &str = "check/ice-servers";

fn audio_context(state: &Rc<RefCell<State>>) -> Option<AudioContext> {
    let mut s = state.borrow_mut();
    if s.audio.is_none() {
        s.audio = AudioContext::new().ok();
    }
    s.audio.clone()
}

fn add_server(view: &View, state: &Rc<RefCell<State>>) {
    let url = view.ice_url.value().trim().to_owned();
    match IceUrl::parse(&url) {
        Ok(parsed) => {
            let username = view.ice_username.value();
            if parsed.scheme != Scheme::Stun && username.is_empty() {
                view.ice_problem
                    .set_text_content(Some("A TURN server needs a username and a credential."));
                return;
            }
            view.ice_problem.set_text_content(None);
            let whose = if username.is_empty() {
                String::new()
            } else {
                format!("as {username}")
            };
            view.list_server(&url, &whose);
            state.borrow_mut().servers.push(Server {
                url,
                username,
                credential: view.ice_credential.value(),
                own: false,
            });
            view.ice_url.set_value("");
        }
        Err(bad) => view
            .ice_problem
            .set_text_content(Some(&format!("{url}: {bad}."))),
    }
}

fn start(view: &Rc<View>, state: &Rc<RefCell<State>>) {
    if state.borrow().running {
        return;
    }
    let context = audio_context(state);
    {
        let mut s = state.borrow_mut();
        s.running = true;
        // The speaker's answer stands until it is given again.
        s.outcomes.retain(|o| o.check == Check::Speaker);
        s.report = None;
    }
    view.run.set_disabled(true);
    let (view, state) = (Rc::clone(view), Rc::clone(state));
    wasm_bindgen_futures::spawn_local(async move {
        run(&view, &state, context).await;
        view.run.set_disabled(false);
        view.run.set_text_content(Some("Run the checks again"));
    });
}

fn show(view: &View, state: &Rc<RefCell<State>>, outcome: Outcome) {
    if let Some(row) = view.row(outcome.check) {
        row.show(&outcome);
    }
    let mut s = state.borrow_mut();
    s.outcomes.retain(|o| o.check != outcome.check);
    s.outcomes.push(outcome);
}

async fn run(view: &View, state: &Rc<RefCell<State>>, context: Option<AudioContext>) {
    let started = now();
    state.borrow_mut().taken_at = js_sys::Date::new_0().to_iso_string().into();
    let row = |check| view.row(check);
    if let Some(r) = row(Check::Camera) {
        view.status("Checking the camera…");
        let measured = camera::measure(&view.document, r).await;
        show(view, state, loopback_check::camera::judge(&measured));
    }
    if let Some(r) = row(Check::Microphone) {
        view.status("Checking the microphone: say something for two seconds…");
        let outcome = match &context {
            Some(context) => microphone::judge(&audio::measure(context, r).await),
            None => Outcome::new(
                Check::Microphone,
                Verdict::Skipped,
                "This browser has no Web Audio to measure the microphone with.",
            ),
        };
        show(view, state, outcome);
    }
    if state.borrow().speaker.is_none() {
        if let Some(r) = row(Check::Speaker) {
            r.show(&speaker::judge(&speaker_measured(
                &context, false, None, None,
            )));
        }
    }
    view.status("Asking this page's server for its ICE servers…");
    let own = own_servers().await;
    let entered = state.borrow().servers.clone();
    view.list_servers(&own_listed(&own), &entered);
    let said = match &own {
        Own::Servers(servers) if servers.is_empty() => Some(
            "This page's server has no TURN server configured: only the servers entered \
                  are checked."
                .to_owned(),
        ),
        Own::Servers(_) => None,
        Own::Refused(why) => Some(format!(
            "This page's server would not give its ICE servers: {why}"
        )),
        Own::Elsewhere => Some(
            "This page is not served by loopback-server, so its ICE servers cannot be asked \
             for: only the servers entered are checked."
                .to_owned(),
        ),
    };
    let mut servers = match own {
        Own::Servers(servers) => {
            state.borrow_mut().served_by_server = true;
            servers
        }
        Own::Refused(_) => {
            state.borrow_mut().served_by_server = true;
            Vec::new()
        }
        Own::Elsewhere => {
            state.borrow_mut().served_by_server = false;
            Vec::new()
        }
    };
    servers.extend(entered);
    state.borrow_mut().said = said;
    let turn: Vec<Server> = servers
        .iter()
        .filter(|s| IceUrl::parse(&s.url).is_ok_and(|u| u.scheme != Scheme::Stun))
        .cloned()
        .collect();
    // A live microphone while candidates are gathered and peers connect: browsers show this
    // machine's own addresses (the bases the NAT's kind is read from) only to a page that
    // captures; without one they hide them, and the kind is not claimed.
    let capturing = camera::open(r#"{"audio":true,"video":false}"#).await.ok();
    let mut gathered = Vec::new();
    let mut together = None;
    if let Some(r) = row(Check::Network) {
        view.status("Gathering candidates from each ICE server…");
        for (i, server) in servers.iter().enumerate() {
            r.progress(i as f64 / (servers.len() + 1) as f64);
            gathered.push(ice::gather(&server.url, std::slice::from_ref(server), server.own).await);
        }
        if servers.len() > 1 {
            together = Some(ice::gather("all servers together", &servers, false).await);
        }
    }
    let mut paths = Vec::new();
    if let Some(r) = row(Check::Connectivity) {
        view.status("Connecting two peers in this page, directly and through the TURN server…");
        paths.push(ice::connect(Path::Direct, &[], r).await);
        if turn.is_empty() {
            paths.push(not_tried(
                Path::Relay,
                "no TURN server to relay through (enter one above)",
            ));
        }
        // Each TURN server on its own: one that works must not hide one that does not.
        for server in &turn {
            paths.push(ice::connect(Path::Relay, std::slice::from_ref(server), r).await);
        }
        show(view, state, connectivity_outcome(&paths));
    }
    if let Some(stream) = &capturing {
        camera::stop(stream);
    }
    if let Some(r) = row(Check::Throughput) {
        let outcome = if view.throughput.checked() {
            view.status(
                "Measuring throughput: a data channel for 3 s, then a video call for 20 s…",
            );
            let data = throughput::data(r, (0.0, 0.13)).await;
            let video = throughput::video(r, (0.13, 0.87)).await;
            match (data, video) {
                (Some(data), Some(video)) => loopback_check::throughput::judge(&data, &video),
                _ => Outcome::new(
                    Check::Throughput,
                    Verdict::Fail,
                    "Two peers in this page could not be connected to measure throughput (see \
                     the connectivity check), or the camera would not open for the video call.",
                ),
            }
        } else {
            Outcome::new(
                Check::Throughput,
                Verdict::Skipped,
                "Not measured: tick \"Include throughput\" and run the checks again.",
            )
        };
        show(view, state, outcome);
    }
    // Calls can rely on TURN if any of the servers carried data.
    let relay_works = paths
        .iter()
        .filter(|p| p.path == Path::Relay && p.not_tried.is_none())
        .map(|p| connectivity::judge(p).verdict == Verdict::Pass)
        .reduce(|a, b| a || b);
    if let Some(r) = row(Check::Network) {
        show(
            view,
            state,
            network::judge(&gathered, together.as_ref(), relay_works),
        );
        r.candidates(&view.document, &gathered);
    }
    let devices = devices().await;
    view.outputs(
        &outputs().await,
        context.as_ref().is_some_and(audio::can_choose),
    );
    {
        let mut s = state.borrow_mut();
        s.devices = devices;
        s.duration_ms = now() - started;
        s.running = false;
    }
    let done = "Done. Play the tone to check the speaker; copy the summary or download the report.";
    let said = state.borrow().said.clone();
    view.status(&match said {
        Some(said) => format!("{done} {said}"),
        None => done.to_owned(),
    });
    report(view, state);
}

fn not_tried(path: Path, why: &str) -> connectivity::PathMeasured {
    connectivity::PathMeasured {
        not_tried: Some(why.to_owned()),
        ..connectivity::PathMeasured::new(path)
    }
}

/// Both paths in one row: the worse verdict, both sentences.
fn connectivity_outcome(paths: &[connectivity::PathMeasured]) -> Outcome {
    let outcomes: Vec<Outcome> = paths.iter().map(connectivity::judge).collect();
    let sentence = outcomes
        .iter()
        .map(|o| o.sentence.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut outcome = Outcome::new(
        Check::Connectivity,
        worst(outcomes.iter().map(|o| o.verdict)),
        sentence,
    );
    outcome.figures = serde_json::json!({
        "paths": outcomes.iter().map(|o| serde_json::json!({"verdict": o.verdict, "measured": o.figures})).collect::<Vec<_>>(),
    });
    outcome
}

fn speaker_measured(
    context: &Option<AudioContext>,
    chosen: bool,
    play_error: Option<String>,
    heard: Option<bool>,
) -> speaker::Measured {
    speaker::Measured {
        can_choose: context.as_ref().is_some_and(audio::can_choose),
        // Which one stays here: a device's id follows it from site to site.
        output: chosen.then(|| "an output chosen in the page".to_owned()),
        play_error,
        heard,
    }
}

fn play_tone(view: &Rc<View>, state: &Rc<RefCell<State>>) {
    let context = audio_context(state);
    let output = Some(view.output.value()).filter(|id| !id.is_empty());
    state.borrow_mut().output_chosen = output.is_some();
    let (view, state) = (Rc::clone(view), Rc::clone(state));
    wasm_bindgen_futures::spawn_local(async move {
        let played = match &context {
            Some(context) => audio::tone(context, output.as_deref()).await,
            None => Err("this browser has no Web Audio".into()),
        };
        match played {
            Ok(()) => {
                view.heard.set_disabled(false);
                view.not_heard.set_disabled(false);
            }
            Err(why) => {
                let chosen = state.borrow().output_chosen;
                let measured = speaker_measured(&context, chosen, Some(why), None);
                show(&view, &state, speaker::judge(&measured));
                state.borrow_mut().speaker = Some(measured);
                report(&view, &state);
            }
        }
    });
}

fn answer(view: &View, state: &Rc<RefCell<State>>, heard: bool) {
    let (context, chosen) = {
        let s = state.borrow();
        (s.audio.clone(), s.output_chosen)
    };
    let measured = speaker_measured(&context, chosen, None, Some(heard));
    show(view, state, speaker::judge(&measured));
    state.borrow_mut().speaker = Some(measured);
    report(view, state);
}

/// The audio outputs the browser lists: id and label.
async fn outputs() -> Vec<(String, String)> {
    listed()
        .await
        .iter()
        .filter(|d| crate::wait::string(d, "kind").as_deref() == Some("audiooutput"))
        .filter_map(|d| {
            let id = crate::wait::string(d, "deviceId")?;
            // The default output is the picker's first entry already.
            (!id.is_empty() && id != "default")
                .then(|| (id, crate::wait::string(d, "label").unwrap_or_default()))
        })
        .collect()
}

/// What `enumerateDevices` lists (nothing if it does not answer).
async fn listed() -> Vec<JsValue> {
    let Some(media) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
        return Vec::new();
    };
    let Ok(listed) = media.enumerate_devices() else {
        return Vec::new();
    };
    match within(listed, 3_000).await {
        Ok(listed) => js_sys::Array::from(&listed).iter().collect(),
        Err(_) => Vec::new(),
    }
}

/// The devices the browser lists (labels once the camera or microphone was allowed).
async fn devices() -> Vec<(String, String)> {
    listed()
        .await
        .iter()
        .map(|d| {
            (
                crate::wait::string(d, "kind").unwrap_or_default(),
                crate::wait::string(d, "label").unwrap_or_default(),
            )
        })
        .collect()
}

/// The report of the last run, shown as the summary; nothing before a run ends.
fn report(view: &View, state: &Rc<RefCell<State>>) {
    let s = state.borrow();
    if s.running || s.taken_at.is_empty() {
        return;
    }
    let with_labels = view.labels.checked();
    let devices = s
        .devices
        .iter()
        .map(|(kind, label)| Device::new(kind, label, with_labels))
        .collect();
    let user_agent = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default();
    let mut checks = Vec::new();
    for check in crate::view::CHECKS {
        if let Some(o) = s.outcomes.iter().find(|o| o.check == check) {
            checks.push(o.clone());
        } else if check == Check::Speaker {
            checks.push(speaker::judge(&speaker_measured(
                &s.audio, false, None, None,
            )));
        }
    }
    let report = Report::new(
        s.taken_at.clone(),
        s.duration_ms,
        Environment {
            page: env!("CARGO_PKG_VERSION").to_owned(),
            user_agent,
            served_by_server: s.served_by_server,
            devices,
        },
        checks,
    );
    drop(s);
    view.summary.set_text_content(Some(&report.summary()));
    let _ = view.summary.set_attribute(
        "data-verdict",
        &format!("{:?}", report.verdict).to_lowercase(),
    );
    view.copy.set_disabled(false);
    view.download.set_disabled(false);
    state.borrow_mut().report = Some(report);
}

fn copy(view: &View, state: &Rc<RefCell<State>>) {
    let Some(text) = state.borrow().report.as_ref().map(Report::summary) else {
        return;
    };
    // Read by name: outside a secure context `navigator.clipboard` is undefined, and web-sys's
    // binding would trap on it.
    let clipboard = web_sys::window()
        .map(|w| crate::wait::get(&w.navigator(), "clipboard"))
        .filter(|c| !c.is_undefined() && !c.is_null())
        .map(|c| c.unchecked_into::<web_sys::Clipboard>());
    let Some(clipboard) = clipboard else {
        view.status(
            "This browser gives the page no clipboard: select the summary and copy it by hand.",
        );
        return;
    };
    let written = clipboard.write_text(&text);
    let status = view.status.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let said = match within(written, 3_000).await {
            Ok(_) => "The summary is copied: paste it where you ask for help.",
            Err(_) => "The browser would not copy: select the summary and copy it by hand.",
        };
        status.set_text_content(Some(said));
    });
}

fn download(view: &View, state: &Rc<RefCell<State>>) {
    let Some(json) = state.borrow().report.as_ref().map(Report::json) else {
        return;
    };
    let parts = js_sys::Array::of1(&JsValue::from_str(&json));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(link) = view.document.create_element("a").and_then(|a| {
        a.dyn_into::<web_sys::HtmlAnchorElement>()
            .map_err(JsValue::from)
    }) {
        link.set_href(&url);
        link.set_download("check-report.json");
        link.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}
