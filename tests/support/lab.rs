//! The network lab: machines as Linux network namespaces on this one machine, homes behind NAT
//! routers, an "internet" segment holding the signaling server and coturn, and the faults a real
//! network has (loss, a narrow uplink, an outage, a new public address).
//!
//! The vocabulary is RFC 4787's, as in pion's `vnet`: a test names the network it needs and gets
//! it built, with names of its own (so a failed run or a second run never collides), and torn down
//! when the [`Lab`] is dropped, also when the test fails. Everything is real kernel networking
//! (veth pairs, a bridge, nftables NAT, `tc`), so the browsers' own ICE stacks meet it.
//!
//! ```text
//!            internet segment 10.99.0.0/24 (bridge in `<lab>-inet`)
//!     server + coturn 10.99.0.1 ──┬──────────────┬───────────────┐
//!                   router 1 10.99.0.11   router 2 10.99.0.12   (or a machine right on it:
//!                        │ NAT                 │ NAT             10.99.0.21, 10.99.0.22)
//!              home 1 192.168.1.0/24   home 2 192.168.2.0/24
//!                   machine 192.168.1.2     machine 192.168.2.2
//! ```
//!
//! A group call's lab has a third machine the same way (router 10.99.0.13, home 192.168.3.0/24).
//!
//! Only private addresses, only inside namespaces the lab made, and no route out of the lab:
//! everything on the internet segment (the server's namespace, the routers, a machine right on
//! it) routes what is not on the segment into a sink of its own namespace, where packets vanish
//! (see [`sink`]), and a home's default route is its router. The lab needs root (CAP_NET_ADMIN)
//! and `ip`, `nft` and `tc`; [`Lab::unavailable`] says in one line why it cannot be built here.
//!
//! The sink stands for the rest of the internet. A host on the internet has a default route, so
//! a send to an address nobody routes (another home's 192.168.x.y, which ICE hands to the other
//! end as a host candidate) succeeds locally and the packet is lost upstream. Without a default
//! route the kernel refuses such a send at once (`ENETUNREACH`), which no real server ever sees,
//! and coturn 4.6 answers a refused send on a relay socket by closing the whole allocation: the
//! checks Chromium sends from its relay candidate to the other end's host candidates killed the
//! relay a second after a call through TURN connected (no video, `disconnected` 6 s later).

use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The address of the signaling server and of coturn, on the internet segment.
pub const SERVER_IP: &str = "10.99.0.1";

/// How a machine reaches the internet segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nat {
    /// No router: the machine is on the internet segment itself (or, for two of them, both on
    /// one LAN with the server).
    None,
    /// A home router whose masquerade keeps the source port where it can: endpoint-independent
    /// mapping, address-and-port-dependent filtering (a "port-restricted cone", most home
    /// routers).
    PortPreserving,
    /// A router that picks a random port for every new flow: address-and-port-dependent mapping
    /// (a "symmetric NAT", as on many mobile networks and corporate firewalls). Two machines
    /// behind such routers cannot reach each other without a relay.
    Symmetric,
}

/// The name of each lab's namespaces: this process's id and a counter.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// The namespaces of every lab start with this, then the pid of the process that made them.
const PREFIX: &str = "lrlab";

/// One machine's side of the lab.
#[derive(Clone, Debug)]
struct Machine {
    /// Its network namespace: where its browser runs.
    netns: String,
    /// The namespace holding its uplink: its router's, or its own without a router.
    uplink_netns: String,
    nat: Nat,
    /// Its router's outside address (or its own, without a router).
    public_ip: String,
}

/// A built lab; dropping it tears it down.
pub struct Lab {
    name: String,
    namespaces: Vec<String>,
    machines: Vec<Machine>,
    /// How many times each machine's public address was changed.
    renumbered: Vec<u8>,
}

/// Runs `program args…`, panicking with its output if it fails: a lab step that fails is a broken
/// lab, not a finding.
fn run(program: &str, args: &[&str]) {
    try_run(program, args).unwrap_or_else(|e| panic!("network lab: {e}"));
}

fn try_run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// `ip -n NETNS args…`
fn ip(netns: &str, args: &[&str]) {
    let mut all = vec!["-n", netns];
    all.extend_from_slice(args);
    run("ip", &all);
}

/// Runs `program args…` inside `netns`.
fn exec(netns: &str, program: &str, args: &[&str]) {
    let mut all = vec!["netns", "exec", netns, program];
    all.extend_from_slice(args);
    run("ip", &all);
}

/// Loads an nftables ruleset into `netns`.
fn nft(netns: &str, ruleset: &str) {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("network lab: nft: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(ruleset.as_bytes())
            .unwrap_or_else(|e| panic!("network lab: nft: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("network lab: nft: {e}"));
    assert!(
        output.status.success(),
        "network lab: nft in {netns}: {}\n{ruleset}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `f` on a thread of its own inside `netns` and returns its result: a socket it makes
/// stays in that namespace for its whole life, wherever it is used afterwards. This is how the
/// test reaches a server or a WebDriver inside the lab, and how the signaling server listens
/// there, without any address or route in the test's own namespace.
pub fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let file =
            std::fs::File::open(&path).unwrap_or_else(|e| panic!("network lab: {path}: {e}"));
        // SAFETY: setns(2) moves only this thread, which is ours and ends after `f`, into the
        // namespace; the descriptor is valid for the call.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "network lab: setns {path}: {}",
            std::io::Error::last_os_error()
        );
        f()
    })
    .join()
    .unwrap_or_else(|_| panic!("network lab: a thread in {netns} panicked"))
}

impl Lab {
    /// Why the lab cannot be built on this machine, if it cannot: not root, or no namespaces,
    /// `nft` or `tc`.
    pub fn unavailable() -> Option<String> {
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("the network lab needs root (network namespaces, nftables)".into());
        }
        for tool in ["nft", "tc"] {
            if Command::new(tool).arg("-V").output().is_err()
                && Command::new(tool).arg("--version").output().is_err()
            {
                return Some(format!(
                    "the network lab needs `{tool}` (the README's test command installs it)"
                ));
            }
        }
        let probe = format!("{PREFIX}{}probe", std::process::id());
        if let Err(e) = try_run("ip", &["netns", "add", &probe]) {
            return Some(format!("network namespaces cannot be made here ({e})"));
        }
        let _ = try_run("ip", &["netns", "del", &probe]);
        None
    }

    /// Builds a lab with a machine per entry of `homes` (two, or three for a group call), each
    /// reaching the internet segment as its entry says.
    pub fn build<const N: usize>(homes: [Nat; N]) -> Lab {
        const {
            assert!(
                N >= 1 && N <= 9,
                "home n is 192.168.n.0/24, router 10.99.0.1n"
            )
        };
        sweep_stale();
        let name = format!(
            "{PREFIX}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            namespaces: Vec::new(),
            machines: Vec::new(),
            renumbered: vec![0; homes.len()],
            name: name.clone(),
        };
        let inet = lab.netns("inet");
        exec(
            &inet,
            "sysctl",
            &["-qw", "net.ipv6.conf.all.disable_ipv6=1"],
        );
        ip(&inet, &["link", "add", "br0", "type", "bridge"]);
        ip(&inet, &["link", "set", "br0", "up"]);
        ip(
            &inet,
            &["addr", "add", &format!("{SERVER_IP}/24"), "dev", "br0"],
        );
        sink(&inet);
        for (i, nat) in homes.iter().enumerate() {
            let n = i + 1;
            let machine = lab.netns(&format!("m{n}"));
            let port = format!("p{n}");
            if *nat == Nat::None {
                // The machine's own interface is its uplink.
                let public_ip = format!("10.99.0.{}", 20 + n);
                lab.wire(&machine, "wan", &inet, &port, &public_ip);
                sink(&machine);
                // Multicast stays on the segment, as on a LAN whose default route is its own
                // interface: Firefox finds the other machine's `.local` host candidates by mDNS.
                ip(&machine, &["route", "add", "224.0.0.0/4", "dev", "wan"]);
                lab.machines.push(Machine {
                    uplink_netns: machine.clone(),
                    netns: machine,
                    nat: *nat,
                    public_ip,
                });
                nft(&lab.machines[i].uplink_netns, &impairments());
                continue;
            }
            let router = lab.netns(&format!("r{n}"));
            let public_ip = format!("10.99.0.{}", 10 + n);
            lab.wire(&router, "wan", &inet, &port, &public_ip);
            sink(&router);
            ip(
                &router,
                &["link", "add", "lan", "type", "veth", "peer", "name", "eth0"],
            );
            ip(&router, &["link", "set", "eth0", "netns", &machine]);
            let home = format!("192.168.{n}");
            ip(
                &router,
                &["addr", "add", &format!("{home}.1/24"), "dev", "lan"],
            );
            ip(&router, &["link", "set", "lan", "up"]);
            ip(
                &machine,
                &["addr", "add", &format!("{home}.2/24"), "dev", "eth0"],
            );
            ip(&machine, &["link", "set", "eth0", "up"]);
            ip(
                &machine,
                &["route", "add", "default", "via", &format!("{home}.1")],
            );
            exec(&router, "sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
            let masquerade = match nat {
                Nat::Symmetric => "masquerade random,fully-random",
                _ => "masquerade",
            };
            nft(
                &router,
                &format!(
                    "table ip nat {{\n chain post {{\n  type nat hook postrouting priority 100;\n  oifname \"wan\" {masquerade}\n }}\n}}\n{FIREWALL}{}",
                    impairments()
                ),
            );
            lab.machines.push(Machine {
                netns: machine,
                uplink_netns: router,
                nat: *nat,
                public_ip,
            });
        }
        lab
    }

    /// A new namespace of this lab, with its loopback up (WebDrivers listen there).
    fn netns(&mut self, role: &str) -> String {
        let netns = format!("{}-{role}", self.name);
        run("ip", &["netns", "add", &netns]);
        self.namespaces.push(netns.clone());
        ip(&netns, &["link", "set", "lo", "up"]);
        // IPv4 only: no link-local IPv6 addresses to gather candidates on.
        exec(
            &netns,
            "sysctl",
            &["-qw", "net.ipv6.conf.all.disable_ipv6=1"],
        );
        netns
    }

    /// A veth pair from `netns`'s `name` (address `address`/24) to a port of the internet's bridge.
    fn wire(&self, netns: &str, name: &str, inet: &str, port: &str, address: &str) {
        ip(
            netns,
            &["link", "add", name, "type", "veth", "peer", "name", port],
        );
        ip(netns, &["link", "set", port, "netns", inet]);
        ip(inet, &["link", "set", port, "master", "br0"]);
        ip(inet, &["link", "set", port, "up"]);
        ip(
            netns,
            &["addr", "add", &format!("{address}/24"), "dev", name],
        );
        ip(netns, &["link", "set", name, "up"]);
    }

    /// The namespace of the internet segment, where the server and coturn run.
    pub fn internet(&self) -> &str {
        &self.namespaces[0]
    }

    /// The namespace of machine `i` (from 0), where its browser runs.
    pub fn machine(&self, i: usize) -> &str {
        &self.machines[i].netns
    }

    pub fn nat(&self, i: usize) -> Nat {
        self.machines[i].nat
    }

    /// Machine `i`'s public address: its router's outside address, or its own.
    pub fn public_ip(&self, i: usize) -> &str {
        &self.machines[i].public_ip
    }

    /// Cuts machine `i`'s uplink both ways: every packet through it is dropped, as when a cable
    /// is pulled or the Wi-Fi is gone.
    pub fn cut(&self, i: usize) {
        exec(
            &self.machines[i].uplink_netns,
            "nft",
            &["add", "rule", "inet", "lab", "outage", "drop"],
        );
    }

    /// Ends a [`Lab::cut`].
    pub fn restore(&self, i: usize) {
        exec(
            &self.machines[i].uplink_netns,
            "nft",
            &["flush", "chain", "inet", "lab", "outage"],
        );
    }

    /// Drops `percent` % of the packets through machine `i`'s uplink, each way, at random.
    pub fn loss(&self, i: usize, percent: u8) {
        exec(
            &self.machines[i].uplink_netns,
            "nft",
            &[
                "add",
                "rule",
                "inet",
                "lab",
                "loss",
                "numgen",
                "random",
                "mod",
                "100",
                "<",
                &percent.to_string(),
                "drop",
            ],
        );
    }

    /// Narrows machine `i`'s uplink (what it sends) to `kbit` kbit/s, with a queue of about
    /// 400 ms, as a home router's would be.
    pub fn narrow(&self, i: usize, kbit: u32) {
        tbf(&self.machines[i].uplink_netns, "wan", kbit);
    }

    /// Narrows machine `i`'s downlink (what reaches it from the internet) to `kbit` kbit/s, with
    /// the same queue: on the internet's side of its uplink, its port of the bridge.
    pub fn narrow_down(&self, i: usize, kbit: u32) {
        tbf(self.internet(), &format!("p{}", i + 1), kbit);
    }

    /// Gives machine `i`'s router a new outside address, as when a home's provider hands it a
    /// new one: the flows it had are gone (the kernel drops a masquerade's mappings with the
    /// address they used). Returns the new address.
    pub fn renumber(&mut self, i: usize) -> String {
        let machine = &self.machines[i];
        assert_ne!(machine.nat, Nat::None, "only a router is renumbered");
        self.renumbered[i] += 1;
        let new = format!("10.99.0.{}", 100 + 10 * i + usize::from(self.renumbered[i]));
        let netns = machine.uplink_netns.clone();
        // The old one first: deleting an interface's primary address deletes the others of its
        // subnet with it.
        let old = format!("{}/24", machine.public_ip);
        ip(&netns, &["addr", "del", &old, "dev", "wan"]);
        ip(&netns, &["addr", "add", &format!("{new}/24"), "dev", "wan"]);
        self.machines[i].public_ip = new.clone();
        new
    }
}

/// Gives `netns` (on the internet segment) a default route into a sink of its own: what it sends
/// to an address that is not on the lab's internet goes out and is lost, as on the real internet,
/// instead of being refused by its own kernel (see the module docs).
///
/// The sink is a veth pair with both ends in `netns` (this kernel may have no `dummy` module), the
/// default route a gateway on it with a made-up MAC address: the frames reach the other end, which
/// drops them as not its own. No address on it, so a browser gathers no candidate there; no
/// neighbour discovery, so no "host unreachable" comes back either.
fn sink(netns: &str) {
    ip(
        netns,
        &[
            "link", "add", "sink", "type", "veth", "peer", "name", "sink-end",
        ],
    );
    ip(netns, &["link", "set", "sink", "up"]);
    ip(netns, &["link", "set", "sink-end", "up"]);
    ip(
        netns,
        &[
            "neigh",
            "add",
            SINK_GATEWAY,
            "lladdr",
            "02:00:00:00:5e:00",
            "dev",
            "sink",
            "nud",
            "permanent",
        ],
    );
    ip(
        netns,
        &[
            "route",
            "add",
            "default",
            "via",
            SINK_GATEWAY,
            "dev",
            "sink",
            "onlink",
        ],
    );
}

/// The made-up gateway of every [`sink`]: outside every address the lab uses.
const SINK_GATEWAY: &str = "10.98.0.1";

/// A home router's firewall: what comes from outside is let in only as the reply to a flow from
/// inside, and anything else is dropped without a word (no ICMP "port unreachable"), as home
/// routers do.
const FIREWALL: &str = "table inet firewall {
 chain input {
  type filter hook input priority 10;
  iifname \"wan\" ct state new drop
 }
 chain forward {
  type filter hook forward priority 10;
  iifname \"wan\" ct state new drop
 }
}
";

/// The table every uplink carries: a chain for outages and one for loss, both empty until a test
/// fills them, on the uplink's traffic only (not on a machine's loopback, where its WebDriver
/// listens).
fn impairments() -> String {
    let hooks = ["forward", "input", "output"]
        .iter()
        .map(|hook| {
            format!(
                " chain {hook} {{\n  type filter hook {hook} priority 0;\n  iifname \"wan\" jump outage\n  oifname \"wan\" jump outage\n  iifname \"wan\" jump loss\n  oifname \"wan\" jump loss\n }}\n"
            )
        })
        .collect::<String>();
    format!("table inet lab {{\n chain outage {{\n }}\n chain loss {{\n }}\n{hooks}}}\n")
}

impl Drop for Lab {
    /// Deleting a namespace deletes its interfaces, routes and rules; what runs inside (browsers,
    /// coturn) belongs to the values the test dropped before the lab.
    fn drop(&mut self) {
        for netns in self.namespaces.iter().rev() {
            let _ = try_run("ip", &["netns", "del", netns]);
        }
    }
}

/// Deletes the namespaces of labs whose process is gone (a run killed before it could clean up).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        if !pid.is_empty() && !alive {
            let _ = try_run("ip", &["netns", "del", &name]);
        }
    }
}

/// The project's signaling server on the lab's internet segment, over HTTPS with a certificate
/// made on the spot, as the README's LAN recipe runs it (`--self-signed`): in this process, so
/// that the test can count its rooms and restart it.
pub async fn serve(
    lab: &Lab,
    config: loopback_server::Config,
) -> (loopback_server::Running, String) {
    serve_on(lab, config, SERVER_PORT).await
}

/// Like [`serve`], on `port`: a second server beside the first.
pub async fn serve_on(
    lab: &Lab,
    config: loopback_server::Config,
    port: u16,
) -> (loopback_server::Running, String) {
    use loopback_server::tls::{self, Certificate};
    let certificate = Certificate::SelfSigned {
        names: vec![SERVER_IP.to_owned()],
    };
    let tls = tls::config(&certificate)
        .unwrap_or_else(|e| panic!("network lab: the server's certificate: {e}"));
    let address = format!("{SERVER_IP}:{port}");
    let listener = in_netns(lab.internet(), move || std::net::TcpListener::bind(address))
        .unwrap_or_else(|e| panic!("network lab: the server's port: {e}"));
    let running = loopback_server::Running::start_tls(listener, config, tls)
        .unwrap_or_else(|e| panic!("network lab: the server: {e}"));
    (running, format!("https://{SERVER_IP}:{port}/"))
}

/// The signaling server's port on the internet segment.
pub const SERVER_PORT: u16 = 8443;

/// A token bucket of `kbit` kbit/s on `dev`'s egress in `netns`, with a queue of about 400 ms, as
/// a home router's would be.
fn tbf(netns: &str, dev: &str, kbit: u32) {
    exec(
        netns,
        "tc",
        &[
            "qdisc",
            "add",
            "dev",
            dev,
            "root",
            "tbf",
            "rate",
            &format!("{kbit}kbit"),
            "burst",
            "16kbit",
            "latency",
            "400ms",
        ],
    );
}
