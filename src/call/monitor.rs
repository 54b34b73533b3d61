//! A call's readings: `getStats()` on the sending and the receiving peer once a second during a
//! call, turned into figures and the history the graphs draw, for whoever shows them.

use crate::stats::{History, Report, Stats, Summary, Value};
use gloo_timers::callback::Interval;
use js_sys::{Array, Object};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::RtcPeerConnection;

/// How often the panel reads the peers' stats.
pub const PERIOD_MS: u32 = 1_000;

/// What a reading goes to: the stats panel, a person's row, or both.
pub type Sink = Box<dyn Fn(&Summary, &History)>;

/// Reads both peers' stats every [`PERIOD_MS`] (and once more on request) into its [`Sink`].
/// Dropping it clears the interval; a reading still in flight finds the monitor gone and shows
/// nothing.
#[must_use = "dropping the monitor stops it"]
pub struct Monitor {
    _interval: Interval,
    state: Rc<Reading>,
}

struct Reading {
    local: RtcPeerConnection,
    remote: RtcPeerConnection,
    sink: Sink,
    stats: RefCell<Stats>,
    history: RefCell<History>,
    /// A slow getStats() must not pile readings up.
    busy: Cell<bool>,
}

impl Monitor {
    pub fn start(local: RtcPeerConnection, remote: RtcPeerConnection, sink: Sink) -> Self {
        let state = Rc::new(Reading {
            local,
            remote,
            sink,
            stats: RefCell::default(),
            history: RefCell::default(),
            busy: Cell::new(false),
        });
        // No reading at once: the moments right after connecting belong to the first frames.
        // The first reading comes with the first remote frame (`read_now`) or after a period.
        let weak = Rc::downgrade(&state);
        let interval = Interval::new(PERIOD_MS, move || read(weak.clone()));
        Self {
            _interval: interval,
            state,
        }
    }

    /// One reading now, between the periodic ones.
    pub fn read_now(&self) {
        read(Rc::downgrade(&self.state));
    }
}

fn read(reading: Weak<Reading>) {
    let Some(state) = reading.upgrade() else {
        return;
    };
    if state.busy.replace(true) {
        return;
    }
    let (local, remote) = (state.local.get_stats(), state.remote.get_stats());
    drop(state);
    spawn_local(async move {
        let (local, remote) = (JsFuture::from(local).await, JsFuture::from(remote).await);
        let Some(state) = reading.upgrade() else {
            return;
        };
        state.busy.set(false);
        // A failed reading (a peer closing) shows nothing new; the next one may succeed.
        let (Ok(local), Ok(remote)) = (local, remote) else {
            return;
        };
        let summary: Summary = state
            .stats
            .borrow_mut()
            .update(report(&local), report(&remote));
        state.history.borrow_mut().push(&summary);
        (state.sink)(&summary, &state.history.borrow());
    });
}

/// An `RTCStatsReport` as plain Rust: each entry's number, string and boolean fields.
pub fn report(stats: &JsValue) -> Report {
    let entries = js_sys::try_iter(stats)
        .ok()
        .flatten()
        .into_iter()
        .flatten()
        .filter_map(|pair| pair.ok())
        .filter_map(|pair| pair.dyn_into::<Array>().ok())
        .filter_map(|pair| pair.get(1).dyn_into::<Object>().ok())
        .map(|entry| {
            let mut out = crate::stats::Entry::default();
            for field in Object::entries(&entry).iter() {
                let field: Array = field.unchecked_into();
                let Some(key) = field.get(0).as_string() else {
                    continue;
                };
                let value = field.get(1);
                if let Some(n) = value.as_f64() {
                    out.insert(key, Value::Num(n));
                } else if let Some(s) = value.as_string() {
                    out.insert(key, Value::Text(s));
                } else if let Some(b) = value.as_bool() {
                    out.insert(key, Value::Flag(b));
                }
            }
            out
        })
        .collect();
    Report::new(entries)
}
