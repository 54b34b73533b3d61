//! Gathering is not connecting: a connection in the page through each path, carrying data both
//! ways, with its round trip.

use crate::verdict::{Check, Outcome, Verdict};
use serde::Serialize;

/// The path a connection is made to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Any candidates: what a call between two browsers of one machine or network uses.
    Direct,
    /// Relay candidates only (`iceTransportPolicy: "relay"`), through the TURN server.
    Relay,
}

/// What one connection did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathMeasured {
    pub path: Path,
    /// Reached `connected`.
    pub connected: bool,
    /// The last `connectionState` seen.
    pub state: String,
    /// From creating the peers to the data channel open, ms.
    pub setup_ms: Option<f64>,
    /// Messages that went each way: the first peer's to the second, and back.
    pub sent_there: u32,
    pub arrived_there: u32,
    pub sent_back: u32,
    pub arrived_back: u32,
    /// Median round trip of the messages, ms.
    pub rtt_ms: Option<f64>,
    /// The chosen pair's candidate types, as the stats name them.
    pub local_type: Option<String>,
    pub remote_type: Option<String>,
    /// Why it could not be tried (no TURN server, the browser refused).
    pub not_tried: Option<String>,
    /// The types of the candidates the first peer gathered (`host`, `srflx`, `relay`…).
    pub gathered: Vec<String>,
}

impl PathMeasured {
    /// A path before anything was measured on it.
    pub fn new(path: Path) -> Self {
        Self {
            path,
            connected: false,
            state: "new".into(),
            setup_ms: None,
            sent_there: 0,
            arrived_there: 0,
            sent_back: 0,
            arrived_back: 0,
            rtt_ms: None,
            local_type: None,
            remote_type: None,
            not_tried: None,
            gathered: Vec::new(),
        }
    }
}

/// One path's verdict.
pub fn judge(m: &PathMeasured) -> Outcome {
    let outcome =
        |verdict, sentence: String| Outcome::new(Check::Connectivity, verdict, sentence).with(m);
    let through = match m.path {
        Path::Direct => "directly",
        Path::Relay => "through the TURN server",
    };
    if let Some(why) = &m.not_tried {
        return outcome(Verdict::Skipped, format!("Not tried {through}: {why}."));
    }
    if !m.connected {
        let sentence = match m.path {
            Path::Direct => format!(
                "This browser could not connect even to itself (state {}): WebRTC is blocked, by \
                 a policy or an extension that hides this machine's addresses.",
                m.state
            ),
            Path::Relay if !m.gathered.iter().any(|t| t == "relay") => {
                "The TURN server gave no relay address, so nothing could go through it: the \
                 network check says why."
                    .to_owned()
            }
            Path::Relay => format!(
                "The TURN server gave relay addresses but carried nothing (state {}): its relay \
                 ports (UDP 49152–65535 by default) are blocked, or its external address is not \
                 set (coturn's external-ip).",
                m.state
            ),
        };
        return outcome(Verdict::Fail, sentence);
    }
    let both = m.arrived_there > 0 && m.arrived_back > 0;
    if !both {
        return outcome(
            Verdict::Fail,
            format!(
                "Connected {through}, but data went only one way ({} of {} there, {} of {} \
                 back): a firewall lets packets out and not in.",
                m.arrived_there, m.sent_there, m.arrived_back, m.sent_back
            ),
        );
    }
    let lost = m.sent_there + m.sent_back - m.arrived_there - m.arrived_back;
    let rtt = m
        .rtt_ms
        .map(|r| format!(", round trip {r:.1} ms"))
        .unwrap_or_default();
    let pair = match (&m.local_type, &m.remote_type) {
        (Some(l), Some(r)) => format!(" ({l} ↔ {r})"),
        _ => String::new(),
    };
    if lost > 0 {
        return outcome(
            Verdict::Warning,
            format!("Connected {through}{pair}, but {lost} of the messages were lost{rtt}."),
        );
    }
    outcome(
        Verdict::Pass,
        format!("Data went both ways {through}{pair}{rtt}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(path: Path) -> PathMeasured {
        PathMeasured {
            path,
            connected: true,
            state: "connected".into(),
            setup_ms: Some(40.0),
            sent_there: 10,
            arrived_there: 10,
            sent_back: 10,
            arrived_back: 10,
            rtt_ms: Some(0.8),
            local_type: Some("relay".into()),
            remote_type: Some("relay".into()),
            not_tried: None,
            gathered: vec!["host".into(), "relay".into()],
        }
    }

    #[test]
    fn data_both_ways_passes_with_its_round_trip() {
        let o = judge(&through(Path::Relay));
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(o
            .sentence
            .contains("through the TURN server (relay ↔ relay), round trip 0.8 ms"));
    }

    #[test]
    fn one_way_data_and_no_connection_fail() {
        let m = PathMeasured {
            arrived_back: 0,
            ..through(Path::Relay)
        };
        assert!(judge(&m).sentence.contains("only one way"));
        let m = PathMeasured {
            connected: false,
            state: "failed".into(),
            ..through(Path::Relay)
        };
        let o = judge(&m);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.sentence.contains("relay ports"));
        let m = PathMeasured {
            gathered: vec!["host".into()],
            ..m
        };
        assert!(judge(&m).sentence.contains("gave no relay address"));
        let m = PathMeasured {
            connected: false,
            ..through(Path::Direct)
        };
        assert!(judge(&m).sentence.contains("itself"));
    }

    #[test]
    fn loss_warns_and_untried_paths_are_skipped() {
        let m = PathMeasured {
            arrived_there: 9,
            ..through(Path::Direct)
        };
        assert_eq!(judge(&m).verdict, Verdict::Warning);
        let m = PathMeasured {
            not_tried: Some("no TURN server".into()),
            ..through(Path::Relay)
        };
        assert_eq!(judge(&m).verdict, Verdict::Skipped);
    }
}
