//! The figures of each target, side by side as a Markdown table and as
//! `bench/server-results.json`.

use crate::load::{Ramp, Relay};
use crate::target::Kind;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Everything measured of one target.
pub struct Measured {
    pub kind: Kind,
    pub commands: Vec<String>,
    pub ramp: Ramp,
    /// Connections open at the end of the idle phase, when its RSS was read.
    pub held_idle: usize,
    /// Connections open after the last relay phase.
    pub held_end: usize,
    pub rss_before_kib: u64,
    pub rss_held_kib: u64,
    /// The server's CPU while its connections were idle (keepalives only), % of one core.
    pub idle_cpu: f64,
    /// Every other process's CPU meanwhile (the kernel's work for them included).
    pub idle_others: f64,
    /// The hypervisor's time for other machines meanwhile.
    pub idle_steal: f64,
    pub phases: Vec<Phase>,
    pub problems: BTreeMap<String, u64>,
    pub lost: BTreeMap<String, u64>,
    /// Whether the server was still running at the end.
    pub survived: bool,
}

/// One relay phase at a set rate.
pub struct Phase {
    pub rate: u32,
    pub seconds: f64,
    pub relay: Relay,
    /// The server's CPU over the phase, % of one core.
    pub cpu: f64,
    /// The load generator's own CPU over the phase, % of one core: near 100 % its clock, not
    /// the server, would set the figures.
    pub load_cpu: f64,
    /// Every other process's CPU meanwhile, % of one core.
    pub others: f64,
    /// The hypervisor's time for other machines meanwhile, % of one core.
    pub steal: f64,
}

impl Measured {
    /// What each idle connection costs: the RSS it added, over the connections held.
    pub fn per_connection_kib(&self) -> f64 {
        let added = self.rss_held_kib.saturating_sub(self.rss_before_kib) as f64;
        added / self.held_idle.max(1) as f64
    }

    pub fn joins_per_second(&self) -> f64 {
        if self.ramp.seconds > 0.0 {
            self.ramp.entered as f64 / self.ramp.seconds
        } else {
            0.0
        }
    }
}

/// The `q` quantile of `sorted` (nearest rank), NaN if empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `n` with thin groups of three digits: 10,000.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// The table: a row per figure, a column per target.
pub fn table(measured: &[Measured], connections: usize) -> String {
    let mut rows: Vec<(String, Vec<String>)> = vec![
        (
            format!("connections held (of {})", thousands(connections as u64)),
            measured
                .iter()
                .map(|m| {
                    let mut held = thousands(m.held_idle as u64);
                    if m.held_end != m.held_idle {
                        held += &format!(", {} at the end", thousands(m.held_end as u64));
                    }
                    held
                })
                .collect(),
        ),
        (
            "RSS before → with them".into(),
            measured
                .iter()
                .map(|m| {
                    format!(
                        "{:.1} → {:.1} MiB",
                        m.rss_before_kib as f64 / 1024.0,
                        m.rss_held_kib as f64 / 1024.0
                    )
                })
                .collect(),
        ),
        (
            "**RSS per idle connection**".into(),
            measured
                .iter()
                .map(|m| format!("**{:.1} KiB**", m.per_connection_kib()))
                .collect(),
        ),
        (
            "joins per second (connect, WebSocket, seat)".into(),
            measured
                .iter()
                .map(|m| thousands(m.joins_per_second().round() as u64))
                .collect(),
        ),
        (
            "connect to seat, p50 / p99 (ms)".into(),
            measured
                .iter()
                .map(|m| {
                    format!(
                        "{} / {}",
                        ms(quantile(&m.ramp.enter_ms, 0.5)),
                        ms(quantile(&m.ramp.enter_ms, 0.99))
                    )
                })
                .collect(),
        ),
        (
            "CPU, connections idle (keepalives only)".into(),
            measured
                .iter()
                .map(|m| format!("{:.0} %", m.idle_cpu))
                .collect(),
        ),
    ];
    let rates: Vec<u32> = measured
        .first()
        .map(|m| m.phases.iter().map(|p| p.rate).collect())
        .unwrap_or_default();
    for (i, rate) in rates.iter().enumerate() {
        let at = format!("{}/s", thousands(u64::from(*rate)));
        rows.push((
            format!("**relay at {at}: p50 / p99 / p999 (ms)**"),
            measured
                .iter()
                .map(|m| match m.phases.get(i).map(|p| &p.relay.ms) {
                    Some(l) => format!(
                        "{} / **{}** / {}",
                        ms(quantile(l, 0.5)),
                        ms(quantile(l, 0.99)),
                        ms(quantile(l, 0.999))
                    ),
                    None => "–".into(),
                })
                .collect(),
        ));
        rows.push((
            format!("relayed of sent at {at}"),
            measured
                .iter()
                .map(|m| match m.phases.get(i) {
                    Some(p) => format!(
                        "{} of {}",
                        thousands(p.relay.received),
                        thousands(p.relay.sent)
                    ),
                    None => "–".into(),
                })
                .collect(),
        ));
        rows.push((
            format!("CPU relaying at {at} (load generator's)"),
            measured
                .iter()
                .map(|m| match m.phases.get(i) {
                    Some(p) => format!("{:.0} % ({:.0} %)", p.cpu, p.load_cpu),
                    None => "–".into(),
                })
                .collect(),
        ));
        rows.push((
            format!("check at {at}: the load's longest stall; others' CPU, steal"),
            measured
                .iter()
                .map(|m| match m.phases.get(i) {
                    Some(p) => format!(
                        "{:.1} ms; {:.0} %, {:.0} %",
                        p.relay.stall_ms, p.others, p.steal
                    ),
                    None => "–".into(),
                })
                .collect(),
        ));
    }
    let mut out = String::from("| figure |");
    for m in measured {
        out += &format!(" {} |", m.kind.name());
    }
    out += "\n| --- |";
    out += &" --- |".repeat(measured.len());
    out.push('\n');
    for (name, cells) in rows {
        out += &format!("| {name} | {} |\n", cells.join(" | "));
    }
    out
}

/// How PeerJS compares with one `loopback-server`, against issue 18's goals (both at least 2×).
pub fn ratios(measured: &[Measured]) -> Vec<String> {
    let (Some(ours), Some(peerjs)) = (
        measured.iter().find(|m| m.kind == Kind::Loopback),
        measured.iter().find(|m| m.kind == Kind::PeerJs),
    ) else {
        return Vec::new();
    };
    // Figures taken while other work ran say nothing of the servers.
    let noisy = [ours, peerjs]
        .iter()
        .any(|m| m.idle_others > 10.0 || m.phases.iter().any(|p| p.others > 10.0));
    let verdict = |ratio: f64| match (noisy, ratio >= 2.0) {
        (true, _) => "unknown: other processes were busy, run again on a quiet machine",
        (false, true) => "met",
        (false, false) => "not met",
    };
    let memory = peerjs.per_connection_kib() / ours.per_connection_kib();
    let mut lines = vec![format!(
        "RSS per idle connection: PeerJS / loopback-server = {memory:.2}× (goal ≥ 2×: {})",
        verdict(memory)
    )];
    for (theirs, mine) in peerjs.phases.iter().zip(&ours.phases) {
        let p99 = quantile(&theirs.relay.ms, 0.99) / quantile(&mine.relay.ms, 0.99);
        lines.push(format!(
            "relay p99 at {}/s: PeerJS / loopback-server = {p99:.2}× (goal ≥ 2×: {})",
            thousands(u64::from(mine.rate)),
            verdict(p99)
        ));
    }
    if let Some(shared) = measured.iter().find(|m| m.kind == Kind::Shared) {
        for (theirs, mine) in shared.phases.iter().zip(&ours.phases) {
            let p99 = quantile(&theirs.relay.ms, 0.99) / quantile(&mine.relay.ms, 0.99);
            let met = match (noisy, p99 <= 1.5) {
                (true, _) => "unknown: other processes were busy, run again on a quiet machine",
                (false, true) => "met",
                (false, false) => "not met",
            };
            lines.push(format!(
                "relay p99 at {}/s: three instances over Redis / one = {p99:.2}× (goal ≤ 1.5×: {met})",
                thousands(u64::from(mine.rate)),
            ));
        }
    }
    lines
}

/// The results file's content.
pub fn json(measured: &[Measured], settings: Value) -> Value {
    let targets: Vec<Value> = measured
        .iter()
        .map(|m| {
            let phases: Vec<Value> = m
                .phases
                .iter()
                .map(|p| {
                    let l = &p.relay.ms;
                    json!({
                        "rate": p.rate, "seconds": p.seconds,
                        "sent": p.relay.sent, "received": p.relay.received,
                        "ms": {"p50": quantile(l, 0.5), "p90": quantile(l, 0.9),
                            "p99": quantile(l, 0.99), "p999": quantile(l, 0.999),
                            "max": l.last().copied()},
                        "cpu_percent": p.cpu, "load_cpu_percent": p.load_cpu,
                        "others_cpu_percent": p.others, "steal_percent": p.steal,
                        "load_stall_ms": p.relay.stall_ms,
                    })
                })
                .collect();
            json!({
                "target": m.kind.name(),
                "commands": m.commands,
                "asked": m.ramp.asked,
                "entered": m.ramp.entered,
                "refused": m.ramp.refused,
                "held_idle": m.held_idle,
                "held_end": m.held_end,
                "ramp_seconds": m.ramp.seconds,
                "joins_per_second": m.joins_per_second(),
                "enter_ms": {"p50": quantile(&m.ramp.enter_ms, 0.5),
                    "p99": quantile(&m.ramp.enter_ms, 0.99)},
                "rss_before_kib": m.rss_before_kib,
                "rss_held_kib": m.rss_held_kib,
                "rss_per_connection_kib": m.per_connection_kib(),
                "idle_cpu_percent": m.idle_cpu,
                "idle_others_cpu_percent": m.idle_others,
                "idle_steal_percent": m.idle_steal,
                "relay": phases,
                "problems": m.problems,
                "lost": m.lost,
                "survived": m.survived,
            })
        })
        .collect();
    json!({ "settings": settings, "targets": targets, "ratios": ratios(measured) })
}
