//! The signaling server under load, against the PeerJS server: `scripts/dev bench server`.
//!
//! Each target in turn is started on a free port of 127.0.0.1 and given N WebSockets from eight
//! 127.0.0.x addresses (two pages a room, or a PeerJS pair), which it then holds idle with their
//! keepalives while its RSS and CPU are read; the targets already up keep their pages, quiet.
//! Then, at each rate asked, the targets take turns relaying a browser's offers, answers and
//! candidates, 2 s at a time, every signal timed from the sender's write to the receiver's
//! read. The load runs on one core and the servers on the other (see `target::pin`). Results
//! are printed as a table and written to `bench/server-results.json`.
//!
//! ```text
//! cargo bench --bench server -- [--connections 10000] [--rate 2000[,8000…]] [--seconds 20]
//!     [--idle 10] [--targets loopback,peerjs,shared] [--keepalive clients|least]
//! ```
//!
//! `--seconds` is each target's relay time at each rate. `scripts/dev bench server [flags]`
//! builds `loopback-server` with `--profile server` and installs PeerJS (npm `peer@1.0.2`)
//! first, and passes its flags on.

mod agent;
mod load;
#[path = "../common/machine.rs"]
mod machine;
mod report;
mod target;
mod wire;

use agent::{Agent, Spec};
use load::{Keepalive, Ramp, Relay};
use machine::machine;
use report::{Measured, Phase};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use target::{Kind, Server, Setup};

/// Addresses a target's pages connect from: one address has about 28,000 ports, and eight
/// leave room for 200,000 connections.
const SOURCES: u8 = 8;

struct Options {
    connections: usize,
    rates: Vec<u32>,
    seconds: u64,
    idle: u64,
    targets: Vec<Kind>,
    keepalive: Keepalive,
}

impl Options {
    fn parse() -> Self {
        let mut options = Options {
            connections: 10_000,
            rates: vec![2_000],
            seconds: 20,
            idle: 10,
            targets: vec![Kind::Loopback, Kind::PeerJs, Kind::Shared],
            keepalive: Keepalive::Clients,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |what: &str| {
                args.next()
                    .unwrap_or_else(|| panic!("{arg} needs {what}"))
                    .clone()
            };
            let number = |text: String| -> u64 {
                text.replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{arg}: {text:?} is not a whole number"))
            };
            match arg.as_str() {
                "--connections" => options.connections = number(value("a count")) as usize,
                "--rate" => {
                    options.rates = value("messages per second, or a list: 2000,8000")
                        .split(',')
                        .map(|r| u32::try_from(number(r.to_owned())).unwrap_or(u32::MAX))
                        .collect()
                }
                "--seconds" => options.seconds = number(value("seconds")),
                "--idle" => options.idle = number(value("seconds")),
                "--targets" => {
                    options.targets = value("loopback,peerjs")
                        .split(',')
                        .map(|t| {
                            Kind::parse(t).unwrap_or_else(|| {
                                panic!("--targets: {t:?}: loopback, peerjs or shared")
                            })
                        })
                        .collect()
                }
                "--keepalive" => {
                    let name = value("clients or least");
                    options.keepalive = Keepalive::parse(&name)
                        .unwrap_or_else(|| panic!("--keepalive: {name:?}: clients or least"));
                }
                // cargo bench passes --bench.
                "--bench" => {}
                other => panic!("unknown flag {other:?} (see benches/server/main.rs)"),
            }
        }
        assert!(
            options.connections >= 2 && options.connections % 2 == 0,
            "--connections: an even number of pages, two per room"
        );
        options
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, spec] = args.as_slice() {
        if flag == "--agent" {
            return agent::main(spec);
        }
    }
    let options = Options::parse();
    // Each server holds a socket per connection, and so does each target's agent (see
    // `agent`), besides a few files of their own.
    let needed = options.connections as u64 + 1000;
    let files = target::raise_fd_limit(needed);
    assert!(
        files >= needed,
        "{} connections need {needed} open files in each server and each of the load's \
         processes, and the hard limit is {files} (`ulimit -Hn`): raise it (as root), or ask \
         for fewer",
        options.connections
    );
    let ports = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| {
            let mut ends = range
                .split_whitespace()
                .filter_map(|n| n.parse::<u64>().ok());
            Some(ends.next()?.abs_diff(ends.next()?) + 1)
        })
        .unwrap_or(28_232);
    assert!(
        options.connections as u64 <= u64::from(SOURCES) * ports,
        "{} connections from {SOURCES} addresses of {ports} ports each do not fit",
        options.connections
    );
    let pinned = target::pin();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let logs = root.join("target/bench-server");
    std::fs::create_dir_all(&logs)
        .unwrap_or_else(|e| panic!("cannot make {}: {e}", logs.display()));
    let setup = Setup {
        loopback: std::env::var_os("LOOPBACK_BENCH_SERVER")
            .map_or_else(|| root.join("target/server/loopback-server"), PathBuf::from),
        peerjs: std::env::var_os("LOOPBACK_BENCH_PEERJS").map(PathBuf::from),
        connections: options.connections,
        logs,
        cpu: pinned.map(|(_, server)| server),
    };
    assert!(
        setup.loopback.is_file(),
        "{} is missing: build it with `cargo build --profile server -p loopback-server` (or \
         run `scripts/dev bench server`)",
        setup.loopback.display()
    );
    println!(
        "{} connections, relay at {} msg/s for {} s each, keepalive: {}; open files: {files}; \
         {}",
        report::thousands(options.connections as u64),
        options
            .rates
            .iter()
            .map(|r| report::thousands(u64::from(*r)))
            .collect::<Vec<_>>()
            .join(", "),
        options.seconds,
        options.keepalive.name(),
        match pinned {
            Some((load, server)) => format!("the load on CPU {load}, each server on CPU {server}"),
            None => "not pinned (one CPU)".to_owned(),
        }
    );
    let mut ups: Vec<Up> = Vec::new();
    for (n, kind) in options.targets.iter().enumerate() {
        // The others hold their pages meanwhile, quiet: a target's ramp and idle figures are
        // its own.
        for up in &mut ups {
            up.agent.call("pause");
        }
        ups.push(bring_up(*kind, n, &setup, &options));
    }
    let mut phases: Vec<Vec<Phase>> = ups.iter().map(|_| Vec::new()).collect();
    for &rate in &options.rates {
        for (target, phase) in relay(&mut ups, rate, options.seconds)
            .into_iter()
            .enumerate()
        {
            phases[target].push(phase);
        }
    }
    let measured: Vec<Measured> = ups
        .into_iter()
        .zip(phases)
        .map(|(up, phases)| up.finish(phases))
        .collect();

    println!("\n{}", report::table(&measured, options.connections));
    for line in report::ratios(&measured) {
        println!("{line}");
    }
    for m in &measured {
        for (what, map) in [
            ("could not get in", &m.ramp.refused),
            ("heard", &m.problems),
            ("lost", &m.lost),
        ] {
            for (why, times) in map {
                println!("{}: {what}: {why} ({times}×)", m.kind.name());
            }
        }
        if !m.survived {
            println!("{}: the server had exited by the end", m.kind.name());
        }
    }
    let machine = machine();
    println!("\nMeasured on {machine}.");
    let settings = json!({
        "machine": machine,
        "connections": options.connections,
        "rates": options.rates,
        "seconds": options.seconds,
        "idle_seconds": options.idle,
        "keepalive": options.keepalive.name(),
        "source_addresses": SOURCES,
        "open_files": files,
        "pinned": pinned.map(|(load, server)| json!({"load": load, "servers": server})),
        "node": node_version(),
    });
    let out = root.join("bench/server-results.json");
    let text = serde_json::to_string_pretty(&report::json(&measured, settings))
        .unwrap_or_else(|e| panic!("results: {e}"));
    std::fs::write(&out, text + "\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    println!("Written to {}", out.display());
}

/// A target running, its pages in and idle.
struct Up {
    kind: Kind,
    server: Server,
    /// The process holding its pages.
    agent: Agent,
    ramp: Ramp,
    rss_before_kib: u64,
    rss_held_kib: u64,
    held_idle: usize,
    idle: Percents,
}

/// Starts target `kind`, the `n`th of the run, and brings its pages in: its RSS before, the
/// ramp, then its RSS and CPU with them idle.
fn bring_up(kind: Kind, n: usize, setup: &Setup, options: &Options) -> Up {
    println!("\n==> {}", kind.name());
    let server = Server::start(kind, setup);
    // Each target its own block of source addresses.
    let block = 10 * (n as u8 + 1);
    let address = |i: u8| Ipv4Addr::new(127, 0, 0, block + i);
    let mut agent = Agent::start(&Spec {
        protocol: kind.protocol(),
        endpoints: server.endpoints.clone(),
        sources: (0..SOURCES).map(address).collect(),
        warm_source: address(SOURCES),
        connections: options.connections,
        keepalive: options.keepalive,
        run: format!("b{}t{n}", std::process::id()),
    });
    std::thread::sleep(Duration::from_secs(1));
    let rss_before_kib = server.rss_kib();

    let opened = agent.call("open");
    let ramp = Ramp {
        asked: opened["asked"].as_u64().unwrap_or(0) as usize,
        entered: opened["entered"].as_u64().unwrap_or(0) as usize,
        seconds: opened["seconds"].as_f64().unwrap_or(0.0),
        enter_ms: numbers(&opened["enter_ms"]),
        refused: counts(&opened["refused"]),
    };
    println!(
        "{} of {} pages in, in {:.2} s ({:.0} joins/s)",
        report::thousands(ramp.entered as u64),
        report::thousands(ramp.asked as u64),
        ramp.seconds,
        ramp.entered as f64 / ramp.seconds.max(1e-9)
    );

    // Idle: nothing but the keepalives, then the memory the connections hold.
    let usage = Usage::start(&server, &agent);
    std::thread::sleep(Duration::from_secs(options.idle));
    let idle = usage.spent(&server, &agent).percents();
    let rss_held_kib = server.rss_kib();
    let held_idle = agent.call("state")["held"].as_u64().unwrap_or(0) as usize;
    println!(
        "held {}: RSS {:.1} → {:.1} MiB, {:.2} KiB each; CPU idle {:.0} %",
        report::thousands(held_idle as u64),
        rss_before_kib as f64 / 1024.0,
        rss_held_kib as f64 / 1024.0,
        (rss_held_kib.saturating_sub(rss_before_kib)) as f64 / held_idle.max(1) as f64,
        idle.server
    );
    machine_warning(idle);
    Up {
        kind,
        server,
        agent,
        ramp,
        rss_before_kib,
        rss_held_kib,
        held_idle,
        idle,
    }
}

fn numbers(list: &Value) -> Vec<f64> {
    list.as_array()
        .map(|l| l.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

fn counts(map: &Value) -> BTreeMap<String, u64> {
    map.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

impl Up {
    /// Its figures, and its end.
    fn finish(mut self, phases: Vec<Phase>) -> Measured {
        let state = self.agent.call("state");
        let measured = Measured {
            kind: self.kind,
            commands: self.server.commands.clone(),
            held_idle: self.held_idle,
            held_end: state["held"].as_u64().unwrap_or(0) as usize,
            rss_before_kib: self.rss_before_kib,
            rss_held_kib: self.rss_held_kib,
            idle_cpu: self.idle.server,
            idle_others: self.idle.others,
            idle_steal: self.idle.steal,
            phases,
            problems: counts(&state["problems"]),
            lost: counts(&state["lost"]),
            survived: self.server.alive(),
            ramp: self.ramp,
        };
        self.agent.stop();
        self.server.stop();
        measured
    }
}

/// How long each target relays before the next one's turn.
const SLICE: Duration = Duration::from_secs(2);

/// One relay phase per target: `rate` signals a second for `seconds` in all, in slices of
/// [`SLICE`], the targets taking turns (in the other order every other round). This machine is
/// a virtual one whose host takes its CPUs away now and then for tens of milliseconds, more in
/// some minutes than in others; taking turns every 2 s gives every target the same share of
/// that. While one relays, the others' pages send no keepalives (a pause of seconds, which
/// neither server minds), so it has the core to itself but for idle sockets.
fn relay(ups: &mut [Up], rate: u32, seconds: u64) -> Vec<Phase> {
    let rounds = seconds.div_ceil(SLICE.as_secs()).max(1);
    let mut relays: Vec<Relay> = ups
        .iter()
        .map(|_| Relay {
            sent: 0,
            received: 0,
            ms: Vec::new(),
            stall_ms: 0.0,
        })
        .collect();
    let mut spent: Vec<Spent> = ups.iter().map(|_| Spent::default()).collect();
    let command = format!("relay {rate} {}", SLICE.as_millis());
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..ups.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for target in order {
            for (other, up) in ups.iter_mut().enumerate() {
                up.agent
                    .call(if other == target { "resume" } else { "pause" });
            }
            let up = &mut ups[target];
            let usage = Usage::start(&up.server, &up.agent);
            let slice = up.agent.call(&command);
            spent[target].add(usage.spent(&up.server, &up.agent));
            let all = &mut relays[target];
            all.sent += slice["sent"].as_u64().unwrap_or(0);
            all.received += slice["received"].as_u64().unwrap_or(0);
            all.ms.extend(numbers(&slice["ms"]));
            all.stall_ms = all.stall_ms.max(slice["stall_ms"].as_f64().unwrap_or(0.0));
        }
    }
    for up in ups.iter_mut() {
        up.agent.call("resume");
    }
    let mut phases = Vec::new();
    for ((up, mut relay), spent) in ups.iter().zip(relays).zip(spent) {
        relay.ms.sort_by(f64::total_cmp);
        let cpu = spent.percents();
        let q = |q| report::quantile(&relay.ms, q);
        println!(
            "{}: relay at {rate}/s: {} of {} arrived, p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} \
             ms; CPU {:.0} % (the load's {:.0} %, its longest stall {:.1} ms)",
            up.kind.name(),
            relay.received,
            relay.sent,
            q(0.5),
            q(0.99),
            q(0.999),
            cpu.server,
            cpu.load,
            relay.stall_ms
        );
        machine_warning(cpu);
        phases.push(Phase {
            rate,
            seconds: spent.wall,
            relay,
            cpu: cpu.server,
            load_cpu: cpu.load,
            others: cpu.others,
            steal: cpu.steal,
        });
    }
    phases
}

/// CPU time from a moment on: a server's, its load's (its agent's), the whole machine's.
struct Usage {
    at: Instant,
    server: f64,
    load: f64,
    machine: (f64, f64),
}

impl Usage {
    fn start(server: &Server, agent: &Agent) -> Self {
        Usage {
            at: Instant::now(),
            server: server.cpu_seconds(),
            load: target::cpu_seconds(agent.pid()),
            machine: target::machine_seconds(),
        }
    }

    /// What was spent since the start.
    fn spent(&self, server: &Server, agent: &Agent) -> Spent {
        let server_cpu = server.cpu_seconds() - self.server;
        let load = target::cpu_seconds(agent.pid()) - self.load;
        let (busy, steal) = target::machine_seconds();
        Spent {
            wall: self.at.elapsed().as_secs_f64(),
            server: server_cpu,
            load,
            others: (busy - self.machine.0 - server_cpu - load).max(0.0),
            steal: steal - self.machine.1,
        }
    }
}

/// Seconds of time and of CPU over one or more stretches.
#[derive(Clone, Copy, Default)]
struct Spent {
    wall: f64,
    server: f64,
    load: f64,
    others: f64,
    steal: f64,
}

impl Spent {
    fn add(&mut self, more: Spent) {
        self.wall += more.wall;
        self.server += more.server;
        self.load += more.load;
        self.others += more.others;
        self.steal += more.steal;
    }

    fn percents(&self) -> Percents {
        let percent = |cpu: f64| 100.0 * cpu / self.wall.max(1e-9);
        Percents {
            server: percent(self.server),
            load: percent(self.load),
            others: percent(self.others),
            steal: percent(self.steal),
        }
    }
}

/// CPU over a stretch, each as a percentage of one core.
#[derive(Clone, Copy)]
struct Percents {
    server: f64,
    load: f64,
    /// Every other process's.
    others: f64,
    /// The hypervisor's, for other machines.
    steal: f64,
}

/// Says so when other work, or the hypervisor, took more than a tenth of a core meanwhile: then
/// the machine was not the load's and the servers' alone, and the figures say less.
fn machine_warning(cpu: Percents) {
    if cpu.others > 10.0 {
        println!(
            "warning: other processes used {:.0} % of a core meanwhile: these figures are not \
             the servers' alone",
            cpu.others
        );
    }
    if cpu.steal > 10.0 {
        println!(
            "warning: the hypervisor took {:.0} % of a core for other machines meanwhile \
             (steal): both the load and the server stalled while it did",
            cpu.steal
        );
    }
}

fn node_version() -> Option<String> {
    let out = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
