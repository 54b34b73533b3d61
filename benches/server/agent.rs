//! The load's processes: one per target, this same program started with `--agent`, holding that
//! target's pages and doing what the benchmark tells it on its stdin, a JSON line back for each.
//!
//! One process per target because a process may hold only so many sockets (`ulimit -Hn`, 20,000
//! here, which only root may raise): 10,000 pages to each of two targets held at once, so that
//! they can take turns relaying, do not fit in one. Sender and receiver of every signal are in
//! the same agent, so its stamps need no clock shared between processes.

use crate::load::{self, Fleet, Keepalive, Plan};
use crate::wire::Protocol;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// What an agent is to load.
pub struct Spec {
    pub protocol: Protocol,
    pub endpoints: Vec<SocketAddr>,
    pub sources: Vec<Ipv4Addr>,
    /// Where the warm-up pair connects from.
    pub warm_source: Ipv4Addr,
    pub connections: usize,
    pub keepalive: Keepalive,
    pub run: String,
}

impl Spec {
    fn to_json(&self) -> Value {
        let protocol = match self.protocol {
            Protocol::Loopback => "loopback",
            Protocol::PeerJs => "peerjs",
        };
        json!({
            "protocol": protocol,
            "endpoints": self.endpoints.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "sources": self.sources.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "warm_source": self.warm_source.to_string(),
            "connections": self.connections,
            "keepalive": self.keepalive.name(),
            "run": self.run,
        })
    }

    fn from_json(spec: &Value) -> Self {
        let text = |key: &str| {
            spec[key]
                .as_str()
                .unwrap_or_else(|| panic!("agent spec: no {key}"))
        };
        let list = |key: &str| -> Vec<String> {
            spec[key]
                .as_array()
                .unwrap_or_else(|| panic!("agent spec: no {key}"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let parse = |what: &str, text: &str| -> Ipv4Addr {
            text.parse()
                .unwrap_or_else(|e| panic!("agent spec: {what} {text:?}: {e}"))
        };
        Spec {
            protocol: match text("protocol") {
                "loopback" => Protocol::Loopback,
                _ => Protocol::PeerJs,
            },
            endpoints: list("endpoints")
                .iter()
                .map(|e| {
                    e.parse()
                        .unwrap_or_else(|err| panic!("agent spec: endpoint {e:?}: {err}"))
                })
                .collect(),
            sources: list("sources").iter().map(|s| parse("source", s)).collect(),
            warm_source: parse("warm source", text("warm_source")),
            connections: spec["connections"].as_u64().unwrap_or(0) as usize,
            keepalive: Keepalive::parse(text("keepalive")).unwrap_or(Keepalive::Clients),
            run: text("run").to_owned(),
        }
    }
}

/// An agent running, seen from the benchmark.
pub struct Agent {
    child: Child,
    commands: ChildStdin,
    replies: BufReader<ChildStdout>,
}

impl Agent {
    /// Starts an agent for `spec` and waits for its warm-up pair to be in and signaling.
    pub fn start(spec: &Spec) -> Self {
        let program =
            std::env::current_exe().unwrap_or_else(|e| panic!("this program's path: {e}"));
        let mut child = Command::new(program)
            .arg("--agent")
            .arg(spec.to_json().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the load's agent: {e}"));
        let (Some(commands), Some(replies)) = (child.stdin.take(), child.stdout.take()) else {
            panic!("the agent's pipes");
        };
        let mut agent = Agent {
            child,
            commands,
            replies: BufReader::new(replies),
        };
        agent.reply();
        agent
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `command` and returns the agent's answer.
    pub fn call(&mut self, command: &str) -> Value {
        writeln!(self.commands, "{command}")
            .and_then(|()| self.commands.flush())
            .unwrap_or_else(|e| panic!("the agent is gone (see above): {e}"));
        self.reply()
    }

    fn reply(&mut self) -> Value {
        let mut line = String::new();
        match self.replies.read_line(&mut line) {
            Ok(n) if n > 0 => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("the agent said {line:?}: {e}")),
            _ => panic!("the agent ended (see above)"),
        }
    }

    /// Lets go of its pages and waits for it to end.
    pub fn stop(mut self) {
        self.call("stop");
        let _ = self.child.wait();
    }
}

/// The agent itself: `--agent <spec>`.
pub fn main(spec: &str) {
    let spec: Value =
        serde_json::from_str(spec).unwrap_or_else(|e| panic!("agent spec {spec:?}: {e}"));
    let spec = Spec::from_json(&spec);
    // Commands come on stdin, read by a thread of their own so the runtime never blocks.
    let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("no tokio runtime: {e}"));
    tokio::task::LocalSet::new().block_on(&runtime, async move {
        // One pair first, in and signaling, so that what a server allocates once (its first
        // connection's code paths, buffers, pools) is not counted against the load.
        let mut warm = load::open(&Plan {
            connections: 2,
            protocol: spec.protocol,
            endpoints: spec.endpoints.clone(),
            sources: vec![spec.warm_source],
            keepalive: spec.keepalive,
            run: format!("{}w", spec.run),
        })
        .await;
        let (sent, stall) = warm.send(100, Duration::from_millis(200)).await;
        let warmed = warm.collect(sent, stall).await;
        assert!(
            warmed.received == sent && sent > 0,
            "the warm-up pair could not signal ({} of {sent}): {:?} {:?}",
            warmed.received,
            warm.ramp.refused,
            warm.problems()
        );
        say(json!({"warm": sent}));
        let mut fleet: Option<Fleet> = None;
        while let Some(command) = commands.recv().await {
            let words: Vec<&str> = command.split_whitespace().collect();
            let reply = match (words.as_slice(), &mut fleet) {
                (["open"], None) => {
                    let opened = load::open(&Plan {
                        connections: spec.connections,
                        protocol: spec.protocol,
                        endpoints: spec.endpoints.clone(),
                        sources: spec.sources.clone(),
                        keepalive: spec.keepalive,
                        run: spec.run.clone(),
                    })
                    .await;
                    let ramp = &opened.ramp;
                    let reply = json!({"asked": ramp.asked, "entered": ramp.entered,
                        "seconds": ramp.seconds, "enter_ms": ramp.enter_ms,
                        "refused": ramp.refused});
                    fleet = Some(opened);
                    reply
                }
                ([pause @ ("pause" | "resume")], Some(fleet)) => {
                    fleet.pause(*pause == "pause");
                    warm.pause(*pause == "pause");
                    json!({})
                }
                (["relay", rate, ms], Some(fleet)) => {
                    let rate: u32 = rate.parse().unwrap_or(0);
                    let ms: u64 = ms.parse().unwrap_or(0);
                    let (sent, stall) = fleet.send(rate, Duration::from_millis(ms)).await;
                    let relay = fleet.collect(sent, stall).await;
                    json!({"sent": relay.sent, "received": relay.received,
                        "stall_ms": relay.stall_ms, "ms": relay.ms})
                }
                (["state"], Some(fleet)) => json!({"held": fleet.held(),
                    "problems": fleet.problems(), "lost": fleet.lost()}),
                (["stop"], _) => {
                    if let Some(fleet) = fleet.take() {
                        fleet.stop().await;
                    }
                    say(json!({}));
                    return;
                }
                _ => panic!("the agent cannot {command:?} now"),
            };
            say(reply);
        }
    });
    // The benchmark is gone: so are its pages, with this process.
}

fn say(reply: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{reply}").and_then(|()| out.flush());
}
