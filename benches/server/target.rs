//! The servers under load, each started as child processes on free ports of 127.0.0.1, and what
//! the kernel says of them: resident memory (`VmRSS`) and CPU time (`utime + stime`).

use crate::wire::Protocol;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the load runs against: each brought up in turn, then all relaying in turns, in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One `loopback-server` (`--profile server`), rooms in its memory.
    Loopback,
    /// The PeerJS server, npm `peer` 1.0.2, on Node.js.
    PeerJs,
    /// Three `loopback-server`s sharing their rooms through one `redis-server` (`--redis`):
    /// four processes, whose RSS and CPU are summed, Redis's included; the load puts the two
    /// pages of each pair on different instances (see `load::Plan::endpoint`).
    Shared,
}

/// The instances of [`Kind::Shared`].
const INSTANCES: usize = 3;

impl Kind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "loopback" => Some(Kind::Loopback),
            "peerjs" => Some(Kind::PeerJs),
            "shared" => Some(Kind::Shared),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Loopback => "loopback-server",
            Kind::PeerJs => "PeerJS 1.0.2",
            Kind::Shared => "3 × loopback-server + Redis",
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Kind::Loopback | Kind::Shared => Protocol::Loopback,
            Kind::PeerJs => Protocol::PeerJs,
        }
    }
}

/// A target running: its processes and where its pages connect.
pub struct Server {
    pub kind: Kind,
    processes: Vec<Child>,
    /// Where pages connect; a target of several instances has one each.
    pub endpoints: Vec<SocketAddr>,
    /// The command lines, for the report.
    pub commands: Vec<String>,
}

/// How a target is started: the binaries, and the limits the load needs.
pub struct Setup {
    /// `loopback-server`, built with `--profile server`.
    pub loopback: PathBuf,
    /// The PeerJS server's `dist/bin/peerjs.js`, if installed.
    pub peerjs: Option<PathBuf>,
    /// Connections the load opens; the servers' caps are set above it.
    pub connections: usize,
    /// Where the servers' logs go.
    pub logs: PathBuf,
    /// The CPU the servers run on, if the load is pinned (see [`pin`]).
    pub cpu: Option<usize>,
}

/// `loopback-server`'s flags for the load: its defaults, but for the limits that are per client
/// address or in all. They protect one server from one client, and here one client is 10,000
/// pages from eight addresses. Per connection, every limit stays as it is (the message and byte
/// rates, the outbox, the idle and seat timeouts, the pings every 20 s). Rooms of two, as
/// PeerJS's pairs; logs at their default level (a line per join, as PeerJS prints one per
/// connection).
fn loopback_args(listen: SocketAddr, setup: &Setup) -> Vec<String> {
    let cap = (setup.connections + 1000).to_string();
    vec![
        "--listen".into(),
        listen.to_string(),
        "--dist".into(),
        setup.logs.join("no-page").display().to_string(),
        "--room-size".into(),
        "2".into(),
        "--max-connections".into(),
        cap.clone(),
        "--max-connections-per-address".into(),
        cap,
        "--joins-per-minute".into(),
        "1000000".into(),
    ]
}

impl Server {
    pub fn start(kind: Kind, setup: &Setup) -> Self {
        if kind == Kind::Shared {
            return Self::start_shared(setup);
        }
        let port = free_port();
        let listen = SocketAddr::from(([127, 0, 0, 1], port));
        let cap = (setup.connections + 1000).to_string();
        let (program, args): (PathBuf, Vec<String>) = match kind {
            Kind::Loopback | Kind::Shared => (setup.loopback.clone(), loopback_args(listen, setup)),
            // Its CLI's defaults (alive_timeout 60 s, key `peerjs`), on 127.0.0.1, and its
            // concurrent limit (5,000 by default) above the load.
            Kind::PeerJs => {
                let Some(script) = &setup.peerjs else {
                    panic!(
                        "the PeerJS server is not installed: run `scripts/dev bench server`, \
                         which installs peer@1.0.2 and sets LOOPBACK_BENCH_PEERJS, or pass \
                         --targets loopback"
                    );
                };
                (
                    PathBuf::from("node"),
                    vec![
                        script.display().to_string(),
                        "--host".into(),
                        "127.0.0.1".into(),
                        "--port".into(),
                        port.to_string(),
                        "--concurrent_limit".into(),
                        cap,
                    ],
                )
            }
        };
        let log = setup.logs.join(format!("{}.log", slug(kind)));
        let process = spawn(&program, &args, &log, setup.cpu);
        let command = shown(&format!("{} {}", program.display(), args.join(" ")));
        let mut server = Server {
            kind,
            processes: vec![process],
            endpoints: vec![listen],
            commands: vec![command],
        };
        server.wait_ready(&log);
        server
    }

    /// [`Kind::Shared`]: a `redis-server` of its own (no persistence: nothing outlives the run),
    /// then three instances on it, each with its own port and log.
    fn start_shared(setup: &Setup) -> Self {
        let redis_port = free_port();
        let redis_args: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--port",
            &redis_port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "1000",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let redis_log = setup.logs.join("redis.log");
        let redis = spawn(
            Path::new("redis-server"),
            &redis_args,
            &redis_log,
            setup.cpu,
        );
        let mut server = Server {
            kind: Kind::Shared,
            processes: vec![redis],
            endpoints: vec![SocketAddr::from(([127, 0, 0, 1], redis_port))],
            commands: vec![shown(&format!("redis-server {}", redis_args.join(" ")))],
        };
        server.wait_ready(&redis_log);
        server.endpoints.clear();
        let url = format!("redis://127.0.0.1:{redis_port}/");
        for n in 0..INSTANCES {
            let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let mut args = loopback_args(listen, setup);
            args.extend([
                "--redis".into(),
                url.clone(),
                "--instance".into(),
                format!("i{n}"),
            ]);
            let log = setup.logs.join(format!("loopback-server-shared-{n}.log"));
            server
                .processes
                .push(spawn(&setup.loopback, &args, &log, setup.cpu));
            server.commands.push(shown(&format!(
                "{} {}",
                setup.loopback.display(),
                args.join(" ")
            )));
            server.endpoints.push(listen);
            server.wait_ready(&log);
        }
        server
    }

    /// Waits until every endpoint takes connections.
    fn wait_ready(&mut self, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for endpoint in self.endpoints.clone() {
            while std::net::TcpStream::connect_timeout(&endpoint, Duration::from_millis(200))
                .is_err()
            {
                let exited = self
                    .processes
                    .iter_mut()
                    .any(|p| !matches!(p.try_wait(), Ok(None)));
                if exited || Instant::now() > deadline {
                    let tail = std::fs::read_to_string(log).unwrap_or_default();
                    panic!(
                        "{} did not start on {endpoint}; its log ({}):\n{tail}",
                        self.kind.name(),
                        log.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The resident memory of all its processes, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.processes.iter().map(|p| rss_kib(p.id())).sum()
    }

    /// The CPU time of all its processes so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        self.processes.iter().map(|p| cpu_seconds(p.id())).sum()
    }

    /// Whether all its processes still run.
    pub fn alive(&mut self) -> bool {
        self.processes
            .iter_mut()
            .all(|p| matches!(p.try_wait(), Ok(None)))
    }

    /// Ends its processes (see the `Drop` below).
    pub fn stop(self) {}
}

impl Drop for Server {
    /// SIGKILL: the measurement is over (or failed, and the benchmark's panic must not leave
    /// servers behind), and a graceful shutdown of 10,000 connections would only cost time.
    fn drop(&mut self) {
        for process in &mut self.processes {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// A command line as the report shows it: paths from the repository and the home directory.
fn shown(command: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
    let command = command.replace(root, "");
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() => command.replace(&home, "~"),
        _ => command,
    }
}

fn slug(kind: Kind) -> &'static str {
    match kind {
        Kind::Loopback => "loopback-server",
        Kind::PeerJs => "peerjs",
        Kind::Shared => "shared",
    }
}

fn spawn(program: &Path, args: &[String], log: &Path, cpu: Option<usize>) -> Child {
    let out = std::fs::File::create(log)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", log.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", log.display()));
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(cpu) = cpu {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only sched_setaffinity runs, a plain system call on a
        // mask built on the stack; it allocates nothing and takes no lock. Set there, before
        // exec, it binds every thread the server will start (Node's and tokio's alike).
        unsafe {
            command.pre_exec(move || {
                if set_affinity(cpu) {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
}

/// A port of 127.0.0.1 free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
        .port()
}

/// `VmRSS` of process `pid`, in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// `utime + stime` of process `pid` (all its threads), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name, in parentheses, may hold spaces: count the fields after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields
        .get(11..13)
        .map(|t| t.iter().filter_map(|f| f.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / per_second as f64
}

/// Raises this process's open-file limit to `wanted`, or as far as it may (the hard limit,
/// which only root can raise), and returns the limit it got. Children inherit it: the servers
/// get the same.
pub fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct given, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            panic!("getrlimit: {}", std::io::Error::last_os_error());
        }
        let hard = limit.rlim_max;
        if wanted > hard {
            limit.rlim_cur = wanted;
            limit.rlim_max = wanted;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                return wanted;
            }
        }
        limit.rlim_cur = hard.min(wanted.max(limit.rlim_cur));
        limit.rlim_max = hard;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            panic!("setrlimit: {}", std::io::Error::last_os_error());
        }
    }
    limit.rlim_cur
}

/// The CPUs this process may run on.
pub fn cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain bits; sched_getaffinity fills it for this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|cpu| libc::CPU_ISSET(*cpu, &set))
            .collect()
    }
}

/// Binds the calling thread, and the threads and processes it starts later, to `cpu`.
pub fn set_affinity(cpu: usize) -> bool {
    // SAFETY: as in `cpus`; the set is built here and only read by the kernel.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Pins the load to one CPU and returns another for the servers, when there are two: each
/// server then has a core of its own (PeerJS's JavaScript runs on one thread anyway, and ours
/// gets one tokio worker), and the load never competes with it for a core.
pub fn pin() -> Option<(usize, usize)> {
    let cpus = cpus();
    let (&load, &server) = (cpus.first()?, cpus.get(1)?);
    set_affinity(load).then_some((load, server))
}

/// What the machine's CPUs have done so far, in seconds of CPU: every process's work (user,
/// nice, system; not the kernel's interrupt work, which on loopback is mostly the load's own
/// packets), and the time the hypervisor gave them to other machines (steal: a virtual CPU
/// that does not run, so everything on it, the load and the servers, stalls meanwhile).
pub fn machine_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest time is counted in user already).
    let sum = |fields: &[usize]| -> u64 { fields.iter().filter_map(|i| ticks.get(*i)).sum() };
    // SAFETY: as in `cpu_seconds`.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (
        sum(&[0, 1, 2]) as f64 / per_second,
        sum(&[7]) as f64 / per_second,
    )
}
