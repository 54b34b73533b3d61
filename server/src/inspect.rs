//! Relayed signals taken for what they claim to be: a description whose SDP parses, a candidate
//! line that parses, and no candidate at an address the operator forbids (link-local and cloud
//! metadata addresses by default), so that a page cannot make the other page's browser probe
//! them. A forbidden candidate is dropped (in a description, its line is taken out): the call
//! goes on through the others; a malformed signal is refused.

use loopback_signal::Signal;
use std::net::IpAddr;
use std::str::FromStr;

/// A range of addresses: `192.0.2.0/24`, `fe80::/10`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an address range like 192.0.2.0/24"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {bits}"))?,
            None => bits,
        };
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            let shift = width - prefix;
            if shift >= 128 {
                0
            } else {
                bits >> shift
            }
        }
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let (n, a) = (u32::from(network), u32::from(address));
                masked(n.into(), self.prefix, 32) == masked(a.into(), self.prefix, 32)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let (n, a) = (u128::from(network), u128::from(address));
                masked(n, self.prefix, 128) == masked(a, self.prefix, 128)
            }
            // An IPv4 address written as IPv6 (::ffff:169.254.169.254) is that IPv4 address.
            (IpAddr::V4(_), IpAddr::V6(address)) => address
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// The ranges no candidate may point at unless the operator says otherwise: link-local (where
/// cloud metadata services answer, 169.254.169.254) and AWS's IPv6 metadata address.
pub const DENIED_BY_DEFAULT: [&str; 3] = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254"];

/// [`DENIED_BY_DEFAULT`] as ranges.
pub fn default_denied() -> Vec<Cidr> {
    DENIED_BY_DEFAULT
        .iter()
        .filter_map(|range| range.parse().ok())
        .collect()
}

/// What becomes of a signal.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Relay this (a description may have lost forbidden candidate lines).
    Relay(Signal),
    /// A candidate at a forbidden address: dropped, not an error (the page did nothing wrong
    /// by gathering it).
    Drop,
    /// Not what it claims to be: the reason, for the error reply.
    Refuse(&'static str),
}

/// Inspects `signal` against `denied`.
pub fn inspect(signal: Signal, denied: &[Cidr]) -> Verdict {
    match signal {
        Signal::Description { sdp_type, sdp } => match description(&sdp, denied) {
            Ok(sdp) => Verdict::Relay(Signal::Description { sdp_type, sdp }),
            Err(why) => Verdict::Refuse(why),
        },
        Signal::Candidate {
            ref candidate,
            ref sdp_mid,
            ref username_fragment,
            ..
        } => {
            if sdp_mid.as_ref().is_some_and(|mid| !token(mid, 32)) {
                return Verdict::Refuse("the candidate's sdpMid is not a media id");
            }
            if username_fragment
                .as_ref()
                .is_some_and(|u| !ice_chars(u, 256))
            {
                return Verdict::Refuse("the candidate's usernameFragment is not one");
            }
            // An empty candidate ends a generation of candidates.
            if candidate.is_empty() {
                return Verdict::Relay(signal);
            }
            match candidate_line(candidate) {
                Err(why) => Verdict::Refuse(why),
                Ok(address) if forbidden(address, denied) => Verdict::Drop,
                Ok(_) => Verdict::Relay(signal),
            }
        }
        other => Verdict::Relay(other),
    }
}

fn forbidden(address: Option<IpAddr>, denied: &[Cidr]) -> bool {
    address.is_some_and(|address| denied.iter().any(|range| range.contains(address)))
}

/// An SDP as browsers write it: `v=0` first, then `x=value` lines (CR LF or LF), an origin, a
/// session name and at least one media section, and candidates that parse. Returns it without
/// the candidate lines at forbidden addresses.
fn description(sdp: &str, denied: &[Cidr]) -> Result<String, &'static str> {
    let crlf = sdp.contains("\r\n");
    let lines: Vec<&str> = sdp
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let lines = match lines.split_last() {
        Some((&"", rest)) => rest,
        _ => &lines[..],
    };
    if lines.first() != Some(&"v=0") {
        return Err("a description's SDP starts with v=0");
    }
    let mut kept = Vec::with_capacity(lines.len());
    let (mut origin, mut name, mut media) = (false, false, false);
    for line in lines {
        let bytes = line.as_bytes();
        let well_formed = bytes.len() >= 2
            && bytes[0].is_ascii_lowercase()
            && bytes[1] == b'='
            && !line.chars().any(char::is_control);
        if !well_formed {
            return Err("a description's SDP has a line that is not type=value");
        }
        origin |= line.starts_with("o=");
        name |= line.starts_with("s=");
        media |= line.starts_with("m=");
        if let Some(candidate) = line.strip_prefix("a=") {
            if candidate.starts_with("candidate:") {
                let address = candidate_line(candidate)?;
                if forbidden(address, denied) {
                    continue;
                }
            }
        }
        kept.push(*line);
    }
    if !(origin && name && media) {
        return Err("a description's SDP needs an origin, a session name and a media section");
    }
    let end = if crlf { "\r\n" } else { "\n" };
    let mut sdp = kept.join(end);
    sdp.push_str(end);
    Ok(sdp)
}

/// A candidate line (RFC 8839: `candidate:foundation component transport priority address port
/// typ type` and extensions, in pairs). Returns its address when it is one (an mDNS name, which
/// browsers use to hide host addresses, is none).
fn candidate_line(line: &str) -> Result<Option<IpAddr>, &'static str> {
    const BAD: &str = "a candidate line does not parse";
    let fields: Vec<&str> = line
        .strip_prefix("candidate:")
        .ok_or(BAD)?
        .split(' ')
        .collect();
    if fields.len() < 8 || !fields.len().is_multiple_of(2) || fields.len() > 40 {
        return Err(BAD);
    }
    let number = |text: &str, max: u64| text.parse::<u64>().ok().filter(|n| *n <= max).is_some();
    let known_type = matches!(fields[7], "host" | "srflx" | "prflx" | "relay");
    let valid = ice_chars(fields[0], 32)
        && number(fields[1], 256)
        && (fields[2].eq_ignore_ascii_case("udp") || fields[2].eq_ignore_ascii_case("tcp"))
        && number(fields[3], u64::from(u32::MAX))
        && number(fields[5], 65_535)
        && fields[6] == "typ"
        && known_type
        && fields[8..].iter().all(|f| token(f, 256));
    if !valid {
        return Err(BAD);
    }
    let address = fields[4];
    if let Ok(address) = address.parse::<IpAddr>() {
        return Ok(Some(address));
    }
    let hostname = address.len() <= 253
        && address.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if hostname {
        Ok(None)
    } else {
        Err(BAD)
    }
}

/// ICE's characters (letters, digits, `+`, `/`), at least one, at most `max`.
fn ice_chars(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A token of printable characters without spaces, at least one, at most `max`.
fn token(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopback_signal::SdpType;

    fn denied() -> Vec<Cidr> {
        let denied = default_denied();
        assert_eq!(denied.len(), DENIED_BY_DEFAULT.len());
        denied
    }

    fn candidate(line: &str) -> Signal {
        Signal::Candidate {
            candidate: line.to_owned(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: Some("aB3+/x".into()),
        }
    }

    #[test]
    fn ranges_parse_and_contain() {
        let link_local: Cidr = "169.254.0.0/16".parse().unwrap();
        assert!(link_local.contains("169.254.169.254".parse().unwrap()));
        assert!(link_local.contains("::ffff:169.254.169.254".parse().unwrap()));
        assert!(!link_local.contains("169.255.0.1".parse().unwrap()));
        let one: Cidr = "fd00:ec2::254".parse().unwrap();
        assert!(one.contains("fd00:ec2::254".parse().unwrap()));
        assert!(!one.contains("fd00:ec2::253".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "fe80::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn browsers_candidates_pass_and_forbidden_ones_are_dropped() {
        for line in [
            // Chromium, with an mDNS name for the host address.
            "candidate:3442447574 1 udp 2122260223 4b8f4c38-5f0b-4fd4-9e7b-2b0f7b3c1c1a.local 54400 typ host generation 0 ufrag aB3+ network-cost 999",
            // Firefox.
            "candidate:0 1 UDP 2122252543 192.0.2.7 50000 typ host",
            "candidate:1 1 TCP 2105524479 192.0.2.7 9 typ host tcptype active",
            "candidate:2 1 UDP 1686052863 198.51.100.1 50000 typ srflx raddr 192.0.2.7 rport 50000",
            "candidate:3 1 udp 16777215 2001:db8::1 3478 typ relay raddr 0.0.0.0 rport 0",
        ] {
            assert_eq!(inspect(candidate(line), &denied()), Verdict::Relay(candidate(line)), "{line}");
        }
        for line in [
            "candidate:4 1 udp 2122260223 169.254.169.254 80 typ host",
            "candidate:5 1 udp 2122260223 fe80::1 5000 typ host",
            "candidate:6 1 udp 2122260223 ::ffff:169.254.169.254 80 typ host",
        ] {
            assert_eq!(inspect(candidate(line), &denied()), Verdict::Drop, "{line}");
        }
        assert_eq!(
            inspect(candidate(""), &denied()),
            Verdict::Relay(candidate(""))
        );
        // The operator may forbid more, or nothing.
        let mine = vec!["10.0.0.0/8".parse().unwrap()];
        let private = "candidate:7 1 udp 1 10.1.2.3 5000 typ host";
        assert_eq!(inspect(candidate(private), &mine), Verdict::Drop);
        let metadata = "candidate:4 1 udp 2122260223 169.254.169.254 80 typ host";
        assert!(matches!(
            inspect(candidate(metadata), &[]),
            Verdict::Relay(_)
        ));
    }

    #[test]
    fn what_is_not_a_candidate_is_refused() {
        for line in [
            "hello",
            "candidate:",
            "candidate:1 1 udp 1 192.0.2.7 5000 typ",
            "candidate:1 1 sctp 1 192.0.2.7 5000 typ host",
            "candidate:1 1 udp 1 192.0.2.7 99999 typ host",
            "candidate:1 1 udp 1 192.0.2.7 5000 typ nonsense",
            "candidate:1 1 udp 1 bad_host! 5000 typ host",
            "candidate:1 1 udp 1 192.0.2.7 5000 typ host generation",
            "candidate:1 1 udp 1 192.0.2.7 5000 typ host\r\na=evil",
        ] {
            assert!(
                matches!(inspect(candidate(line), &denied()), Verdict::Refuse(_)),
                "{line:?}"
            );
        }
        let odd_mid = Signal::Candidate {
            candidate: String::new(),
            sdp_mid: Some("a b".into()),
            sdp_m_line_index: None,
            username_fragment: None,
        };
        assert!(matches!(inspect(odd_mid, &denied()), Verdict::Refuse(_)));
    }

    fn offer(sdp: &str) -> Signal {
        Signal::Description {
            sdp_type: SdpType::Offer,
            sdp: sdp.to_owned(),
        }
    }

    const SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.7 5000 typ host\r\na=candidate:2 1 udp 2122260223 169.254.169.254 80 typ host\r\na=rtpmap:111 opus/48000/2\r\n";

    #[test]
    fn descriptions_parse_and_lose_forbidden_candidates() {
        let Verdict::Relay(Signal::Description { sdp, .. }) = inspect(offer(SDP), &denied()) else {
            panic!("refused");
        };
        assert!(sdp.contains("192.0.2.7 5000"));
        assert!(!sdp.contains("169.254.169.254"), "{sdp}");
        assert_eq!(
            sdp,
            SDP.replace(
                "a=candidate:2 1 udp 2122260223 169.254.169.254 80 typ host\r\n",
                ""
            )
        );
        assert_eq!(
            inspect(offer(SDP), &[]),
            Verdict::Relay(offer(SDP)),
            "nothing denied"
        );
        for bad in [
            "",
            "hello",
            "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 RTP 0\r\n",
            "v=0\r\ns=-\r\nm=audio 9 RTP 0\r\n",
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n",
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 RTP 0\r\nnot a line\r\n",
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 RTP 0\r\na=candidate:garbage\r\n",
        ] {
            assert!(
                matches!(inspect(offer(bad), &denied()), Verdict::Refuse(_)),
                "{bad:?}"
            );
        }
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use loopback_signal::SdpType;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any candidate line or SDP a page sends is relayed, dropped or refused: never a panic,
        /// and what is relayed passes the check again unchanged.
        #[test]
        fn any_signal_gets_a_verdict(
            line in prop_oneof!["candidate:.{0,120}", "candidate:[0-9]{1,3} 1 (udp|tcp) [0-9]{1,10} [0-9a-f:.]{1,40} [0-9]{1,5} typ (host|srflx|relay)( [a-z]{1,8} [0-9a-z]{1,8}){0,3}", ".{0,60}"],
            sdp in prop_oneof!["v=0\r\n([a-z]=.{0,30}\r\n){0,12}", ".{0,200}"],
        ) {
            let denied = default_denied();
            let candidate = Signal::Candidate {
                candidate: line,
                sdp_mid: None,
                sdp_m_line_index: None,
                username_fragment: None,
            };
            if let Verdict::Relay(relayed) = inspect(candidate.clone(), &denied) {
                prop_assert_eq!(&relayed, &candidate);
            }
            let offer = Signal::Description { sdp_type: SdpType::Offer, sdp };
            if let Verdict::Relay(relayed) = inspect(offer, &denied) {
                prop_assert_eq!(inspect(relayed.clone(), &denied), Verdict::Relay(relayed));
            }
        }
    }
}
