//! Candidates from each ICE server, and connections in the page through each path that carry
//! messages both ways.

use crate::view::Row;
use crate::wait::{get, now, number, sleep, string, within};
use gloo_events::EventListener;
use loopback_check::connectivity::{Path, PathMeasured};
use loopback_check::network::{parse_candidate, Candidate, CandidateError, ServerMeasured};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RtcDataChannel, RtcPeerConnection, RtcPeerConnectionIceEvent};

/// How long gathering may take: a TURN server over TCP to a port with nothing listening is given
/// up on by the browser in about this time.
const GATHER_MS: f64 = 10_000.0;
/// How long a connection may take to open its data channel.
const CONNECT_MS: f64 = 10_000.0;
/// Messages sent each way, and how far apart.
const MESSAGES: u32 = 10;
const MESSAGE_EVERY_MS: u32 = 50;
/// Each promise of a step may take this long.
const STEP_MS: u32 = 5_000;

/// An ICE server as entered (or given by the page's own server).
#[derive(Clone, Debug)]
pub struct Server {
    pub url: String,
    pub username: String,
    pub credential: String,
    /// Given by the page's own server.
    pub own: bool,
}

impl Server {
    fn json(&self) -> serde_json::Value {
        let mut server = serde_json::json!({ "urls": self.url });
        if !self.username.is_empty() || !self.credential.is_empty() {
            server["username"] = self.username.clone().into();
            server["credential"] = self.credential.clone().into();
        }
        server
    }
}

fn peer(servers: &[Server], relay_only: bool) -> Result<RtcPeerConnection, String> {
    let mut config = serde_json::json!({
        "iceServers": servers.iter().map(Server::json).collect::<Vec<_>>(),
    });
    if relay_only {
        config["iceTransportPolicy"] = "relay".into();
    }
    let config: web_sys::RtcConfiguration = js_sys::JSON::parse(&config.to_string())
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    RtcPeerConnection::new_with_configuration(&config).map_err(|e| {
        let (name, message) = crate::wait::error_name(&e);
        format!("{name} {message}").trim().to_owned()
    })
}

/// The candidate an `icecandidate` event carries, if any.
fn candidate_of(event: &web_sys::Event) -> Option<JsValue> {
    let event = event.dyn_ref::<RtcPeerConnectionIceEvent>()?;
    event.candidate().map(JsValue::from)
}

/// Gathers candidates with `servers` alone (all given at once, so that the reflexive addresses of
/// one local address can be compared across servers); `url` names what is measured.
pub async fn gather(url: &str, servers: &[Server], own: bool) -> ServerMeasured {
    let mut measured = ServerMeasured {
        url: url.to_owned(),
        own,
        candidates: Vec::new(),
        errors: Vec::new(),
        complete: false,
        gather_ms: 0.0,
    };
    let pc = match peer(servers, false) {
        Ok(pc) => pc,
        Err(why) => {
            measured.errors.push(CandidateError {
                url: url.to_owned(),
                code: 0,
                text: format!("the browser refused this server: {why}"),
                address: None,
                port: None,
            });
            return measured;
        }
    };
    let started = now();
    let found: Rc<RefCell<Vec<Candidate>>> = Rc::default();
    let errors: Rc<RefCell<Vec<CandidateError>>> = Rc::default();
    let fallback_url = (servers.len() == 1).then(|| url.to_owned());
    let _candidates = {
        let found = Rc::clone(&found);
        let fallback_url = fallback_url.clone();
        EventListener::new(&pc, "icecandidate", move |event| {
            let Some(candidate) = candidate_of(event) else {
                return;
            };
            let line = string(&candidate, "candidate").unwrap_or_default();
            let from = string(&candidate, "url")
                .or_else(|| string(event, "url"))
                .or_else(|| fallback_url.clone());
            if let Some(c) = parse_candidate(&line, now() - started, from) {
                found.borrow_mut().push(c);
            }
        })
    };
    let _errors = {
        let errors = Rc::clone(&errors);
        EventListener::new(&pc, "icecandidateerror", move |event| {
            errors.borrow_mut().push(CandidateError {
                url: string(event, "url").unwrap_or_default(),
                code: number(event, "errorCode").unwrap_or_default() as u16,
                text: string(event, "errorText").unwrap_or_default(),
                address: string(event, "address").filter(|a| !a.is_empty()),
                port: number(event, "port").map(|p| p as u16).filter(|p| *p > 0),
            });
        })
    };
    let _channel = pc.create_data_channel("gather");
    let offered = within(pc.create_offer(), STEP_MS).await;
    if let Ok(offer) = offered {
        let _ = within(pc.set_local_description(&offer.unchecked_into()), STEP_MS).await;
        while now() - started < GATHER_MS {
            if pc.ice_gathering_state() == web_sys::RtcIceGatheringState::Complete {
                measured.complete = true;
                break;
            }
            sleep(50).await;
        }
    }
    measured.gather_ms = now() - started;
    pc.close();
    measured.candidates = found.take();
    measured.errors = errors.take();
    measured
}

/// Two peers in the page, the second answering the first, their candidates passed across; each
/// listener is dropped with the pair.
pub struct Pair {
    pub a: RtcPeerConnection,
    pub b: RtcPeerConnection,
    _listeners: Vec<EventListener>,
    /// The answering side's channel, once it arrives, with its listener.
    far: Rc<RefCell<Option<(RtcDataChannel, EventListener)>>>,
}

impl Pair {
    /// Two peers with no ICE server, their candidates passed across: what a call between two
    /// tabs of this machine uses, for the throughput runs.
    pub fn direct() -> Result<Self, String> {
        let (a, b) = (peer(&[], false)?, peer(&[], false)?);
        let mut listeners = Vec::new();
        for (from, to) in [(&a, &b), (&b, &a)] {
            let to = to.clone();
            listeners.push(EventListener::new(from, "icecandidate", move |event| {
                if let Some(candidate) = candidate_of(event) {
                    let candidate: web_sys::RtcIceCandidate = candidate.unchecked_into();
                    let _ = to.add_ice_candidate_with_opt_rtc_ice_candidate(Some(&candidate));
                }
            }));
        }
        Ok(Self {
            a,
            b,
            _listeners: listeners,
            far: Rc::default(),
        })
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.a.close();
        self.b.close();
    }
}

/// Counts of the messages, shared with the listeners.
#[derive(Default)]
struct Counts {
    arrived_there: u32,
    sent_back: u32,
    arrived_back: u32,
    rtts: Vec<f64>,
}

/// Connects two peers through `path` and sends messages both ways.
pub async fn connect(path: Path, servers: &[Server], row: &Row) -> PathMeasured {
    let mut measured = PathMeasured::new(path);
    let relay_only = path == Path::Relay;
    let started = now();
    let (a, b) = match (peer(servers, relay_only), peer(servers, relay_only)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => {
            measured.not_tried = Some(format!("the browser refused the configuration ({why})"));
            return measured;
        }
    };
    let counts: Rc<RefCell<Counts>> = Rc::default();
    let gathered: Rc<RefCell<Vec<String>>> = Rc::default();
    let mut listeners = Vec::new();
    for (from, to, first) in [(&a, &b, true), (&b, &a, false)] {
        let to = to.clone();
        let gathered = Rc::clone(&gathered);
        listeners.push(EventListener::new(from, "icecandidate", move |event| {
            if let Some(candidate) = candidate_of(event) {
                if first {
                    let line = string(&candidate, "candidate").unwrap_or_default();
                    if let Some(c) = parse_candidate(&line, 0.0, None) {
                        let kind = serde_json::to_value(c.kind).ok();
                        let kind = kind.as_ref().and_then(|k| k.as_str()).unwrap_or_default();
                        let mut seen = gathered.borrow_mut();
                        if !seen.iter().any(|k| k == kind) {
                            seen.push(kind.to_owned());
                        }
                    }
                }
                let candidate: web_sys::RtcIceCandidate = candidate.unchecked_into();
                let _ = to.add_ice_candidate_with_opt_rtc_ice_candidate(Some(&candidate));
            }
        }));
    }
    let far: Rc<RefCell<Option<(RtcDataChannel, EventListener)>>> = Rc::default();
    {
        let far = Rc::clone(&far);
        let counts = Rc::clone(&counts);
        listeners.push(EventListener::new(&b, "datachannel", move |event| {
            let Ok(channel) = get(event, "channel").dyn_into::<RtcDataChannel>() else {
                return;
            };
            let echo = channel.clone();
            let counts = Rc::clone(&counts);
            let listener = EventListener::new(&channel, "message", move |event| {
                let data = get(event, "data").as_string().unwrap_or_default();
                counts.borrow_mut().arrived_there += 1;
                if echo.send_with_str(&data).is_ok() {
                    counts.borrow_mut().sent_back += 1;
                }
            });
            *far.borrow_mut() = Some((channel, listener));
        }));
    }
    let near = a.create_data_channel("check");
    {
        let counts = Rc::clone(&counts);
        listeners.push(EventListener::new(&near, "message", move |event| {
            let sent_at: Option<f64> = get(event, "data").as_string().and_then(|d| d.parse().ok());
            let mut counts = counts.borrow_mut();
            counts.arrived_back += 1;
            if let Some(at) = sent_at {
                counts.rtts.push(now() - at);
            }
        }));
    }
    let pair = Pair {
        a,
        b,
        _listeners: listeners,
        far,
    };
    if let Err(why) = negotiate(&pair).await {
        measured.state = why;
        measured.gathered = gathered.take();
        return measured;
    }
    while near.ready_state() != web_sys::RtcDataChannelState::Open && now() - started < CONNECT_MS {
        row.progress(0.5 * (now() - started) / CONNECT_MS);
        sleep(50).await;
    }
    measured.state = format!("{:?}", pair.a.connection_state()).to_lowercase();
    measured.gathered = gathered.borrow().clone();
    if near.ready_state() != web_sys::RtcDataChannelState::Open {
        return measured;
    }
    measured.setup_ms = Some(now() - started);
    measured.connected = true;
    for i in 0..MESSAGES {
        if near.send_with_str(&now().to_string()).is_ok() {
            measured.sent_there += 1;
        }
        row.progress(0.5 + 0.5 * f64::from(i) / f64::from(MESSAGES));
        sleep(MESSAGE_EVERY_MS).await;
    }
    // The last echoes have a second to come back.
    let deadline = now() + 1_000.0;
    while counts.borrow().arrived_back < measured.sent_there && now() < deadline {
        sleep(20).await;
    }
    let (local, remote) = chosen_pair(&pair.a).await;
    measured.local_type = local;
    measured.remote_type = remote;
    let counts = counts.borrow();
    measured.arrived_there = counts.arrived_there;
    measured.sent_back = counts.sent_back;
    measured.arrived_back = counts.arrived_back;
    let mut rtts = counts.rtts.clone();
    rtts.sort_by(f64::total_cmp);
    measured.rtt_ms = rtts.get(rtts.len() / 2).copied();
    drop(pair.far.borrow_mut().take());
    measured
}

/// Offer from `a`, answer from `b`.
pub async fn negotiate(pair: &Pair) -> Result<(), String> {
    let step = |what: &str| format!("stopped at {what}");
    let offer = within(pair.a.create_offer(), STEP_MS)
        .await
        .map_err(|_| step("the offer"))?;
    within(
        pair.a
            .set_local_description(&offer.clone().unchecked_into()),
        STEP_MS,
    )
    .await
    .map_err(|_| step("the offer"))?;
    within(
        pair.b.set_remote_description(&offer.unchecked_into()),
        STEP_MS,
    )
    .await
    .map_err(|_| step("the offer"))?;
    let answer = within(pair.b.create_answer(), STEP_MS)
        .await
        .map_err(|_| step("the answer"))?;
    within(
        pair.b
            .set_local_description(&answer.clone().unchecked_into()),
        STEP_MS,
    )
    .await
    .map_err(|_| step("the answer"))?;
    within(
        pair.a.set_remote_description(&answer.unchecked_into()),
        STEP_MS,
    )
    .await
    .map_err(|_| step("the answer"))?;
    Ok(())
}

/// The candidate types of the pair `pc` chose, from its stats (Chromium names it on the
/// transport, Firefox marks it `selected`).
async fn chosen_pair(pc: &RtcPeerConnection) -> (Option<String>, Option<String>) {
    let stats = stats(pc).await;
    let by_id = |id: &str| {
        stats
            .iter()
            .find(|s| string(s, "id").as_deref() == Some(id))
    };
    let selected_id = stats
        .iter()
        .filter(|s| string(s, "type").as_deref() == Some("transport"))
        .find_map(|s| string(s, "selectedCandidatePairId"));
    let pair = match selected_id {
        Some(id) => by_id(&id),
        None => stats.iter().find(|s| {
            string(s, "type").as_deref() == Some("candidate-pair")
                && get(s, "selected").as_bool() == Some(true)
        }),
    };
    let Some(pair) = pair else {
        return (None, None);
    };
    let kind = |key: &str| {
        string(pair, key)
            .and_then(|id| by_id(&id))
            .and_then(|c| string(c, "candidateType"))
    };
    (kind("localCandidateId"), kind("remoteCandidateId"))
}

/// Every report of `pc`'s stats (none if the browser does not answer in time).
pub async fn stats(pc: &RtcPeerConnection) -> Vec<JsValue> {
    let Ok(report) = within(pc.get_stats(), STEP_MS).await else {
        return Vec::new();
    };
    let mut stats = Vec::new();
    if let Ok(values) = js_sys::Reflect::get(&report, &"values".into())
        .and_then(|f| f.dyn_into::<js_sys::Function>())
        .and_then(|f| f.call0(&report))
    {
        if let Ok(iter) = js_sys::try_iter(&values) {
            for value in iter.into_iter().flatten().flatten() {
                stats.push(value);
            }
        }
    }
    stats
}
