//! The candidates each ICE server gave: parsed from their SDP lines, every `icecandidateerror`
//! explained in words, each server's verdict, and what the reflexive addresses say of the NAT.

use crate::verdict::{Check, Outcome, Verdict};
use serde::Serialize;

/// The kind of server a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Stun,
    Turn,
    Turns,
}

/// How a TURN server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

/// An ICE server's URL, as `RTCIceServer.urls` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IceUrl {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    pub transport: Transport,
}

/// Why a URL typed in is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadUrl {
    Scheme,
    Host,
    Port,
    Transport,
}

impl std::fmt::Display for BadUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadUrl::Scheme => "an ICE server's URL starts with stun:, turn: or turns:",
            BadUrl::Host => "the URL names no host",
            BadUrl::Port => "the port is not a number from 1 to 65535",
            BadUrl::Transport => "?transport= is udp or tcp",
        })
    }
}

impl IceUrl {
    /// Reads `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]`, `turns:…` (IPv6 hosts
    /// in brackets).
    pub fn parse(url: &str) -> Result<Self, BadUrl> {
        let url = url.trim();
        let (scheme, rest) = url.split_once(':').ok_or(BadUrl::Scheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" | "stuns" => Scheme::Stun,
            "turn" => Scheme::Turn,
            "turns" => Scheme::Turns,
            _ => return Err(BadUrl::Scheme),
        };
        let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, port) = if let Some(v6) = address.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(BadUrl::Host)?;
            (host, after.strip_prefix(':'))
        } else {
            match address.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (address, None),
            }
        };
        if host.is_empty() || host.contains('/') {
            return Err(BadUrl::Host);
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(BadUrl::Port)?,
            None if scheme == Scheme::Turns => 5349,
            None => 3478,
        };
        let transport = match (scheme, query.strip_prefix("transport=")) {
            (Scheme::Turns, _) => Transport::Tls,
            (_, None) if query.is_empty() => Transport::Udp,
            (Scheme::Turn, Some("udp")) => Transport::Udp,
            (Scheme::Turn, Some("tcp")) => Transport::Tcp,
            _ => return Err(BadUrl::Transport),
        };
        Ok(Self {
            scheme,
            host: host.to_owned(),
            port,
            transport,
        })
    }
}

/// A candidate's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Host,
    Srflx,
    Prflx,
    Relay,
}

/// A gathered candidate, from its `candidate:` line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub kind: Kind,
    /// udp or tcp, between the two peers.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    /// The address it stands for (a reflexive or relayed candidate's base), if the browser tells.
    pub related: Option<(String, u16)>,
    /// When it arrived, ms after gathering started.
    pub arrived_ms: f64,
    /// The server it came from (`RTCIceCandidate.url`), where the browser tells.
    pub url: Option<String>,
}

/// Reads a candidate's SDP line (`candidate:… 1 udp 2122260223 192.0.2.1 54400 typ host …`).
pub fn parse_candidate(line: &str, arrived_ms: f64, url: Option<String>) -> Option<Candidate> {
    let line = line.trim().strip_prefix("a=").unwrap_or(line.trim());
    let fields: Vec<&str> = line
        .strip_prefix("candidate:")?
        .split_whitespace()
        .collect();
    let protocol = fields.get(2)?.to_ascii_lowercase();
    let address = (*fields.get(4)?).to_owned();
    let port = fields.get(5)?.parse().ok()?;
    if *fields.get(6)? != "typ" {
        return None;
    }
    let kind = match *fields.get(7)? {
        "host" => Kind::Host,
        "srflx" => Kind::Srflx,
        "prflx" => Kind::Prflx,
        "relay" => Kind::Relay,
        _ => return None,
    };
    let after = |key: &str| {
        fields
            .iter()
            .position(|f| *f == key)
            .and_then(|i| fields.get(i + 1))
    };
    let related = match (after("raddr"), after("rport").and_then(|p| p.parse().ok())) {
        (Some(a), Some(p)) => Some(((*a).to_owned(), p)),
        _ => None,
    };
    Some(Candidate {
        kind,
        protocol,
        address,
        port,
        related,
        arrived_ms,
        url,
    })
}

/// An `icecandidateerror` as the browser gave it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CandidateError {
    pub url: String,
    pub code: u16,
    pub text: String,
    /// The local address it was tried from, if told (Chromium hides it unless a candidate from
    /// it was gathered).
    pub address: Option<String>,
    pub port: Option<u16>,
}

/// An error in words: whether it matters, and what it means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// Whether it stops this server from working, on its own.
    pub fatal: bool,
    pub sentence: String,
}

/// What an `icecandidateerror` means (RFC 5389 and 5766 codes; 701 is the browser's own).
pub fn explain(e: &CandidateError) -> Explained {
    let url = &e.url;
    let (fatal, sentence) = match e.code {
        701 if timed_out(&e.text) => (
            false,
            format!(
                "No answer from {url} from one of this machine's addresses (701, timed out): \
                 normal for an address with no route to it (IPv6, a VPN); if no address got an \
                 answer, the port is blocked or nothing listens there."
            ),
        ),
        701 => (
            false,
            format!(
                "{url} could not be reached from one of this machine's addresses (701{}): not \
                 an error on its own; it matters only if this server gave no candidate at all.",
                if e.text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e.text.trim_end_matches('.'))
                }
            ),
        ),
        400 => (true, format!("{url} did not understand the request (400): it may not be a STUN or TURN server.")),
        401 => (
            true,
            format!(
                "{url} refused the credentials (401): the username or credential is wrong, or \
                 the TURN server's shared secret or realm is not the one that made them \
                 (short-lived credentials also expire)."
            ),
        ),
        403 => (true, format!("{url} forbade this request (403): the server's rules deny this user or address.")),
        420 => (true, format!("{url} does not know an attribute the browser sent (420).")),
        437 | 438 => (false, format!("{url} asked to try again ({}): the browser does so by itself.", e.code)),
        441 => (true, format!("{url} refused the credentials for this allocation (441, wrong credentials).")),
        442 => (true, format!("{url} does not relay over this transport (442): use turn:…?transport=udp, or another port.")),
        486 => (true, format!("{url} refused another relay for this user (486, allocation quota reached).")),
        508 => (true, format!("{url} has no capacity left for another relay (508).")),
        300 => (false, format!("{url} sent the browser to another server (300).")),
        code => (true, format!("{url} answered {code}: {}.", e.text)),
    };
    Explained { fatal, sentence }
}

fn timed_out(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("timed out") || text.contains("timeout")
}

/// What gathering with one ICE server found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerMeasured {
    pub url: String,
    /// Given by the page's own server (its TURN credentials), or entered by the person.
    pub own: bool,
    pub candidates: Vec<Candidate>,
    pub errors: Vec<CandidateError>,
    /// Gathering ended (`complete`), rather than being cut off at the time allowed.
    pub complete: bool,
    pub gather_ms: f64,
}

/// The candidate type the server's kind should give.
fn wanted(scheme: Scheme) -> Kind {
    match scheme {
        Scheme::Stun => Kind::Srflx,
        Scheme::Turn | Scheme::Turns => Kind::Relay,
    }
}

/// One server's verdict: did it give what it is for.
pub fn judge_server(m: &ServerMeasured) -> Outcome {
    let outcome =
        |verdict, sentence: String| Outcome::new(Check::Network, verdict, sentence).with(m);
    let url = match IceUrl::parse(&m.url) {
        Ok(url) => url,
        Err(bad) => return outcome(Verdict::Fail, format!("{}: {bad}.", m.url)),
    };
    let kind = wanted(url.scheme);
    let got: Vec<&Candidate> = m.candidates.iter().filter(|c| c.kind == kind).collect();
    if let Some(first) = got.first() {
        let what = match kind {
            Kind::Relay => format!(
                "{} gives relay addresses ({}:{}, after {:.0} ms): gathered, not yet connected; \
                 the connectivity check shows whether it carries data.",
                m.url, first.address, first.port, first.arrived_ms
            ),
            _ => format!(
                "{} answers: this machine's public address is {} (after {:.0} ms).",
                m.url, first.address, first.arrived_ms
            ),
        };
        return outcome(Verdict::Pass, what);
    }
    let explained: Vec<Explained> = m.errors.iter().map(explain).collect();
    if let Some(fatal) = explained.iter().find(|e| e.fatal) {
        return outcome(Verdict::Fail, fatal.sentence.clone());
    }
    let port = format!(
        "{} port {}",
        match url.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS (TCP)",
        },
        url.port
    );
    if m.candidates.iter().all(|c| c.kind != Kind::Host) && m.errors.is_empty() {
        return outcome(
            Verdict::Fail,
            "The browser gathered no candidate at all: WebRTC may be turned off by a policy or \
             an extension."
                .to_owned(),
        );
    }
    // Cut off at the time allowed, or given up by the browser (a refused TCP connection).
    let within = if m.complete {
        String::new()
    } else {
        format!(" within {:.0} s", m.gather_ms / 1000.0)
    };
    outcome(
        Verdict::Fail,
        format!(
            "No answer from {}{within}: {port} is blocked on the way (a firewall), or nothing \
             listens there.",
            m.url
        ),
    )
}

/// What the reflexive candidates say of the way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nat {
    /// A host candidate is itself public: no NAT.
    None,
    /// One public address and port per local one, whoever asks: other networks can reach it.
    EndpointIndependent,
    /// A new public port for each server asked (endpoint-dependent mapping): a peer elsewhere
    /// reaches none of them.
    Symmetric,
    /// Not enough answers to tell (one STUN server, or none answered).
    Unknown,
}

/// Reads the NAT from the candidates of `asked` servers gathered together (the same local
/// address asks each): that address mapped to different public ports by different servers is a
/// symmetric NAT. One port for every server is an endpoint-independent mapping; browsers give a
/// reflexive candidate once per public address and port, so with two servers asked one
/// candidate is that too (if the second answered at all: its silence is the network check's).
pub fn nat(candidates: &[Candidate], asked: usize) -> Nat {
    let reflexive: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.kind == Kind::Srflx)
        .collect();
    if reflexive.is_empty() {
        let public_host = candidates
            .iter()
            .any(|c| c.kind == Kind::Host && c.protocol == "udp" && is_public(&c.address));
        return if public_host { Nat::None } else { Nat::Unknown };
    }
    let mut mapped = std::collections::BTreeMap::<(String, u16), Vec<(String, u16)>>::new();
    for c in &reflexive {
        // A browser that hides this machine's addresses (no camera or microphone allowed yet)
        // gives every reflexive candidate the base 0.0.0.0:0: they cannot be told apart.
        if let Some(base) = c
            .related
            .as_ref()
            .filter(|(a, p)| !unspecified(a) && *p != 0)
        {
            let out = mapped.entry(base.clone()).or_default();
            let public = (c.address.clone(), c.port);
            if !out.contains(&public) {
                out.push(public);
            }
        }
    }
    if mapped.values().any(|out| out.len() > 1) {
        return Nat::Symmetric;
    }
    // With the bases hidden, more public ports than this machine has sockets to map means one
    // socket got two: a symmetric NAT (two interfaces behind a kinder one give one port each).
    let hidden: std::collections::BTreeSet<(&str, u16)> = reflexive
        .iter()
        .filter(|c| {
            c.related
                .as_ref()
                .is_none_or(|(a, p)| unspecified(a) || *p == 0)
        })
        .map(|c| (c.address.as_str(), c.port))
        .collect();
    let sockets: std::collections::BTreeSet<(&str, u16)> = candidates
        .iter()
        .filter(|c| c.kind == Kind::Host && c.protocol == "udp")
        .map(|c| (c.address.as_str(), c.port))
        .collect();
    if hidden.len() > sockets.len().max(1) {
        return Nat::Symmetric;
    }
    if mapped.is_empty() && hidden.is_empty() {
        return Nat::Unknown;
    }
    let servers: std::collections::BTreeSet<&str> =
        reflexive.iter().filter_map(|c| c.url.as_deref()).collect();
    if servers.len() > 1 || asked > 1 {
        Nat::EndpointIndependent
    } else {
        Nat::Unknown
    }
}

/// Whether an address is the unspecified one (what a browser that hides addresses gives).
fn unspecified(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

/// Whether an IPv4 address is one the internet routes (not private, loopback, link-local or
/// shared); IPv6 and names count as not public here.
fn is_public(address: &str) -> bool {
    match address.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || (a == 100 && (64..128).contains(&b)))
        }
        Err(_) => false,
    }
}

/// The network's verdict over every server: whether calls with other networks can connect.
/// `together` is a gathering with every server at once (for the NAT's kind; `None` with one
/// server, whose own gathering serves); `relay_works` is the connectivity check's answer for
/// the TURN path (`None`: no TURN server).
pub fn judge(
    servers: &[ServerMeasured],
    together: Option<&ServerMeasured>,
    relay_works: Option<bool>,
) -> Outcome {
    let all: Vec<Candidate> = match together {
        Some(t) => t.candidates.clone(),
        None => servers.iter().flat_map(|s| s.candidates.clone()).collect(),
    };
    // Servers that gave a reflexive address on their own: only those can speak for the NAT.
    let answered = servers
        .iter()
        .filter(|s| s.candidates.iter().any(|c| c.kind == Kind::Srflx))
        .count();
    let found = nat(&all, if together.is_some() { answered } else { 1 });
    let figures = serde_json::json!({
        "nat": found,
        "together": together.map(|t| &t.candidates),
        "relay_works": relay_works,
        "servers": servers.iter().map(|s| {
            let o = judge_server(s);
            serde_json::json!({"url": s.url, "verdict": o.verdict, "sentence": o.sentence,
                "candidates": s.candidates, "errors": s.errors.iter().map(|e| {
                    serde_json::json!({"error": e, "explained": explain(e)})
                }).collect::<Vec<_>>()})
        }).collect::<Vec<_>>(),
    });
    let outcome = |verdict, sentence: &str| {
        let mut o = Outcome::new(Check::Network, verdict, sentence);
        o.figures = figures.clone();
        o
    };
    if servers.is_empty() {
        return outcome(
            Verdict::Skipped,
            "No ICE server to ask: enter a STUN or TURN server above to check the network.",
        );
    }
    let reflexive = all.iter().any(|c| c.kind == Kind::Srflx);
    match (found, relay_works) {
        (Nat::Symmetric, Some(true)) => outcome(
            Verdict::Pass,
            "This machine is behind a symmetric NAT: direct connections to other networks will \
             fail, but calls go through the TURN server, which works.",
        ),
        (Nat::Symmetric, _) => outcome(
            Verdict::Fail,
            "This machine is behind a symmetric NAT: direct connections to other networks will \
             fail; a TURN server is needed.",
        ),
        (_, Some(true)) => outcome(
            Verdict::Pass,
            "Calls can connect: directly where the other side allows it, and through the TURN \
             server where not.",
        ),
        (_, Some(false)) if reflexive => outcome(
            Verdict::Warning,
            "Direct connections can work, but the TURN server does not relay: calls from \
             stricter networks will fail. See the connectivity check.",
        ),
        (_, _) if !reflexive => outcome(
            Verdict::Fail,
            "No STUN server answered: this network blocks UDP on the way out, or the servers \
             are unreachable. Calls to other networks need a TURN server over TCP or TLS.",
        ),
        (Nat::None | Nat::EndpointIndependent, None) => outcome(
            Verdict::Pass,
            "Direct connections to other networks can work from here (no TURN server was \
             checked, which stricter networks need).",
        ),
        (_, _) => outcome(
            Verdict::Warning,
            "Direct connections may work: one STUN server cannot tell the NAT's kind, and no \
             TURN server was checked for networks where they do not.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(line: &str, url: &str) -> Candidate {
        parse_candidate(line, 12.0, Some(url.into())).expect("a candidate line")
    }

    #[test]
    fn urls_are_read_as_the_trickle_ice_page_takes_them() {
        let u = IceUrl::parse("turn:turn.example.org?transport=tcp").unwrap();
        assert_eq!(
            (u.scheme, u.port, u.transport),
            (Scheme::Turn, 3478, Transport::Tcp)
        );
        let u = IceUrl::parse("turns:[2001:db8::1]:443").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.transport),
            ("2001:db8::1", 443, Transport::Tls)
        );
        assert_eq!(IceUrl::parse("stun:10.0.0.1:19302").unwrap().port, 19302);
        assert_eq!(IceUrl::parse("http://x"), Err(BadUrl::Scheme));
        assert_eq!(IceUrl::parse("stun:"), Err(BadUrl::Host));
        assert_eq!(IceUrl::parse("stun:h:0"), Err(BadUrl::Port));
        assert_eq!(
            IceUrl::parse("stun:h?transport=tcp"),
            Err(BadUrl::Transport)
        );
    }

    #[test]
    fn candidate_lines_are_parsed() {
        let x = c(
            "candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 50000 generation 0 ufrag x",
            "stun:s:3478",
        );
        assert_eq!(x.kind, Kind::Srflx);
        assert_eq!((x.address.as_str(), x.port), ("203.0.113.7", 61000));
        assert_eq!(x.related, Some(("10.0.0.2".into(), 50000)));
        assert!(parse_candidate("candidate:1 1 udp 1 h 1 typ weird", 0.0, None).is_none());
        assert!(parse_candidate("", 0.0, None).is_none());
        let host = parse_candidate(
            "a=candidate:1 1 TCP 1 x.local 9 typ host tcptype active",
            0.0,
            None,
        );
        assert_eq!(host.map(|h| h.protocol), Some("tcp".into()));
    }

    #[test]
    fn error_701_is_not_fatal_and_401_names_the_secret_and_realm() {
        let e = |code, text: &str| CandidateError {
            url: "turn:t:3478".into(),
            code,
            text: text.into(),
            address: None,
            port: None,
        };
        let x = explain(&e(701, "STUN binding request timed out."));
        assert!(!x.fatal && x.sentence.contains("timed out"));
        assert!(!explain(&e(701, "STUN host lookup received error.")).fatal);
        let x = explain(&e(401, "Unauthorized"));
        assert!(x.fatal && x.sentence.contains("secret") && x.sentence.contains("realm"));
        assert!(explain(&e(599, "odd")).sentence.contains("599"));
    }

    fn server(
        url: &str,
        candidates: Vec<Candidate>,
        errors: Vec<CandidateError>,
    ) -> ServerMeasured {
        ServerMeasured {
            url: url.into(),
            own: true,
            candidates,
            errors,
            complete: true,
            gather_ms: 5000.0,
        }
    }

    const HOST: &str = "candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host generation 0";

    #[test]
    fn a_turn_server_with_the_wrong_secret_fails_with_401_explained() {
        let s = server(
            "turn:127.0.0.1:3478",
            vec![c(HOST, "")],
            vec![CandidateError {
                url: "turn:127.0.0.1:3478".into(),
                code: 401,
                text: "Unauthorized".into(),
                address: None,
                port: None,
            }],
        );
        let o = judge_server(&s);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.sentence.contains("401"));
    }

    #[test]
    fn a_port_with_nothing_listening_is_a_timeout_in_words() {
        let s = server(
            "turn:127.0.0.1:9?transport=tcp",
            vec![c(HOST, "")],
            vec![CandidateError {
                url: "turn:127.0.0.1:9?transport=tcp".into(),
                code: 701,
                text: "TURN host lookup received error.".into(),
                address: None,
                port: None,
            }],
        );
        let o = judge_server(&s);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.sentence.contains("TCP port 9 is blocked"),
            "{}",
            o.sentence
        );
    }

    #[test]
    fn relay_candidates_pass_as_gathered_not_connected() {
        let relay = c(
            "candidate:9 1 udp 41885439 198.51.100.9 49152 typ relay raddr 203.0.113.7 rport 61000 generation 0",
            "turn:t:3478",
        );
        let o = judge_server(&server("turn:t:3478", vec![c(HOST, ""), relay], vec![]));
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(o.sentence.contains("not yet connected"));
    }

    fn srflx(port: u16, url: &str) -> Candidate {
        c(
            &format!("candidate:2 1 udp 1677729535 203.0.113.7 {port} typ srflx raddr 10.0.0.2 rport 50000"),
            url,
        )
    }

    #[test]
    fn two_servers_seeing_two_ports_is_a_symmetric_nat() {
        let cands = vec![
            c(HOST, ""),
            srflx(61000, "stun:a:3478"),
            srflx(61001, "stun:a:3479"),
        ];
        assert_eq!(nat(&cands, 2), Nat::Symmetric);
        let same = vec![
            c(HOST, ""),
            srflx(61000, "stun:a:3478"),
            srflx(61000, "stun:a:3479"),
        ];
        assert_eq!(nat(&same, 2), Nat::EndpointIndependent);
        // The browser gave the shared mapping once.
        assert_eq!(nat(&same[..2], 2), Nat::EndpointIndependent);
        assert_eq!(nat(&same[..2], 1), Nat::Unknown);
        let public = "candidate:1 1 udp 2122260223 198.51.100.20 50000 typ host";
        assert_eq!(nat(&[c(public, "")], 1), Nat::None);
    }

    #[test]
    fn hidden_addresses_and_a_silent_server_claim_no_nat() {
        // Before a camera or microphone is allowed, browsers hide the base: 0.0.0.0:0 for all.
        let hidden = |port: u16, url: &str| {
            c(
                &format!("candidate:2 1 udp 1677729535 203.0.113.7 {port} typ srflx raddr 0.0.0.0 rport 0"),
                url,
            )
        };
        // Two interfaces, one port each behind a kind NAT: not symmetric.
        let second_host = "candidate:3 1 udp 2122260223 10.0.1.2 50000 typ host";
        let two_interfaces = [
            c(HOST, ""),
            c(second_host, ""),
            hidden(61000, "stun:a:3478"),
            hidden(62000, "stun:a:3478"),
        ];
        assert_eq!(nat(&two_interfaces, 2), Nat::EndpointIndependent);
        assert_eq!(nat(&two_interfaces, 1), Nat::Unknown);
        // One socket, two public ports: symmetric, bases hidden or not.
        let one_socket = [
            c(HOST, ""),
            hidden(61000, "stun:a:3478"),
            hidden(61001, "stun:a:3479"),
        ];
        assert_eq!(nat(&one_socket, 2), Nat::Symmetric);
        // Two servers asked, one of them silent: one answer cannot speak for the mapping.
        let one = server(
            "stun:a:3478",
            vec![c(HOST, ""), srflx(61000, "stun:a:3478")],
            vec![],
        );
        let silent = server("stun:b:3478", vec![c(HOST, "")], vec![]);
        let together = server(
            "together",
            vec![c(HOST, ""), srflx(61000, "stun:a:3478")],
            vec![],
        );
        let o = judge(&[one, silent], Some(&together), None);
        assert_eq!(o.figures["nat"], "unknown", "{}", o.sentence);
        assert_eq!(o.verdict, Verdict::Warning, "{}", o.sentence);
    }

    #[test]
    fn behind_a_symmetric_nat_turn_decides() {
        let stun = vec![
            server(
                "stun:a:3478",
                vec![c(HOST, ""), srflx(61000, "stun:a:3478")],
                vec![],
            ),
            server(
                "stun:a:3479",
                vec![c(HOST, ""), srflx(61001, "stun:a:3479")],
                vec![],
            ),
        ];
        let together = server(
            "together",
            vec![
                c(HOST, ""),
                srflx(61002, "stun:a:3478"),
                srflx(61003, "stun:a:3479"),
            ],
            vec![],
        );
        let o = judge(&stun, Some(&together), None);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o
            .sentence
            .contains("direct connections to other networks will fail; a TURN server is needed"));
        assert_eq!(
            judge(&stun, Some(&together), Some(true)).verdict,
            Verdict::Pass
        );
        assert_eq!(o.figures["nat"], "symmetric");
    }

    #[test]
    fn no_reflexive_answer_and_no_servers_say_so() {
        let blocked = vec![server("stun:a:3478", vec![c(HOST, "")], vec![])];
        assert!(judge(&blocked, None, None).sentence.contains("blocks UDP"));
        assert_eq!(judge(&[], None, None).verdict, Verdict::Skipped);
    }
}
