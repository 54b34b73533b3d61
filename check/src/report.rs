//! Every check's outcome together: the summary a person reads and copies, and the JSON report
//! to download (its schema is `docs/check-report.schema.json`).

use crate::verdict::{worst, Outcome, Verdict};
use serde::Serialize;

/// The report's format; bumped when a field changes meaning.
pub const SCHEMA: u32 = 1;

/// A camera, microphone or speaker the browser listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Device {
    /// `videoinput`, `audioinput` or `audiooutput`.
    pub kind: String,
    /// Its label, only if the person allowed labels in the report.
    pub label: Option<String>,
}

impl Device {
    /// The device as the report shows it: the label only `with_labels`.
    pub fn new(kind: &str, label: &str, with_labels: bool) -> Self {
        Self {
            kind: kind.to_owned(),
            label: (with_labels && !label.is_empty()).then(|| label.to_owned()),
        }
    }
}

/// Where the checks ran.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Environment {
    /// This page's version.
    pub page: String,
    pub user_agent: String,
    /// Whether the page was served by the loopback server (its TURN credentials were used).
    pub served_by_server: bool,
    pub devices: Vec<Device>,
}

/// The whole check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub schema: u32,
    /// When it ran, as the browser's `toISOString()`.
    pub taken_at: String,
    /// How long the whole check took, ms.
    pub duration_ms: f64,
    pub verdict: Verdict,
    pub environment: Environment,
    pub checks: Vec<Outcome>,
}

impl Report {
    pub fn new(
        taken_at: String,
        duration_ms: f64,
        environment: Environment,
        checks: Vec<Outcome>,
    ) -> Self {
        Self {
            schema: SCHEMA,
            taken_at,
            duration_ms,
            verdict: worst(checks.iter().map(|c| c.verdict)),
            environment,
            checks,
        }
    }

    /// What the page shows and copies: a line a check, worst first within the page's order.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "Check this machine: {} ({}; {:.0} s)\n",
            match self.verdict {
                Verdict::Pass => "everything works",
                Verdict::Warning => "works, with limits",
                Verdict::Fail => "something does not work",
                Verdict::Skipped => "nothing could be checked",
            },
            self.taken_at,
            self.duration_ms / 1000.0
        );
        for c in &self.checks {
            out.push_str(&format!(
                "{} {}: {}\n",
                c.verdict.mark(),
                c.check.title(),
                c.sentence
            ));
        }
        out.push_str(&format!("Browser: {}\n", self.environment.user_agent));
        out
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{camera, connectivity, microphone, network, speaker, throughput};
    use serde_json::Value;

    /// A report with one of every check, as a run that measured everything would make.
    fn full() -> Report {
        let cam = camera::Measured {
            resolutions: camera::LADDER
                .iter()
                .map(|&r| camera::Opened {
                    asked: r,
                    delivered: Some(r),
                    fps: Some(30.0),
                    first_frame_ms: Some(120.0),
                    error: None,
                })
                .collect(),
            picture: camera::Picture {
                samples: vec![
                    camera::FrameSample {
                        luma: 80.0,
                        spread: 30.0
                    };
                    2
                ],
                differences: vec![2.0, 2.0],
            },
        };
        let mut meter = microphone::Meter::default();
        meter.add(&[0.2, -0.2, 0.1, -0.1]);
        let mic = microphone::Measured {
            error: None,
            channels: 1,
            sample_rate: 48_000,
            seconds: 2.0,
            level: meter.level(),
        };
        let spk = speaker::Measured {
            can_choose: true,
            output: None,
            play_error: None,
            heard: None,
        };
        let cand = network::parse_candidate(
            "candidate:1 1 udp 41885439 127.0.0.1 50000 typ relay raddr 127.0.0.1 rport 40000",
            30.0,
            Some("turn:127.0.0.1:3478".into()),
        );
        let server = network::ServerMeasured {
            url: "turn:127.0.0.1:3478".into(),
            own: true,
            candidates: cand.into_iter().collect(),
            errors: vec![network::CandidateError {
                url: "turn:127.0.0.1:3478".into(),
                code: 701,
                text: "STUN binding request timed out.".into(),
                address: Some("::1".into()),
                port: Some(50001),
            }],
            complete: true,
            gather_ms: 80.0,
        };
        let path = connectivity::PathMeasured {
            path: connectivity::Path::Relay,
            connected: true,
            state: "connected".into(),
            setup_ms: Some(50.0),
            sent_there: 5,
            arrived_there: 5,
            sent_back: 5,
            arrived_back: 5,
            rtt_ms: Some(0.5),
            local_type: Some("relay".into()),
            remote_type: Some("relay".into()),
            not_tried: None,
            gathered: vec!["relay".into()],
        };
        let data = throughput::DataMeasured {
            seconds: 3.0,
            bytes: 9_000_000,
            chunk: 65_536,
            pauses: 3,
        };
        let video = throughput::VideoMeasured {
            seconds: 20.0,
            peak_kbps: 2_000.0,
            final_kbps: 1_900.0,
            rtt_ms: None,
            loss_percent: 0.0,
            nacks: 0,
            plis: 1,
            frames_per_second: 30.0,
            width: 1280,
            height: 720,
            limited_by: None,
        };
        Report::new(
            "2026-12-06T17:00:00.000Z".into(),
            41_000.0,
            Environment {
                page: "0.1.0".into(),
                user_agent: "Mozilla/5.0".into(),
                served_by_server: true,
                devices: vec![
                    Device::new("videoinput", "Front camera", false),
                    Device::new("audioinput", "Built-in", true),
                ],
            },
            vec![
                camera::judge(&cam),
                microphone::judge(&mic),
                speaker::judge(&spk),
                network::judge(std::slice::from_ref(&server), None, Some(true)),
                connectivity::judge(&path),
                throughput::judge(&data, &video),
            ],
        )
    }

    #[test]
    fn the_summary_has_a_line_per_check_and_the_worst_verdict() {
        let r = full();
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.summary());
        let s = r.summary();
        assert!(s.starts_with("Check this machine: everything works"), "{s}");
        assert!(s.contains("SKIP Speaker: Not answered"));
        assert_eq!(
            s.lines().filter(|l| l.starts_with("PASS ")).count(),
            5,
            "{s}"
        );
    }

    #[test]
    fn labels_are_left_out_unless_allowed() {
        let r = full();
        assert_eq!(r.environment.devices[0].label, None);
        assert_eq!(r.environment.devices[1].label.as_deref(), Some("Built-in"));
    }

    fn schema() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/check-report.schema.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_report_fits_its_schema() {
        let schema = schema();
        let report: Value = serde_json::from_str(&full().json()).expect("the report is JSON");
        let mut errors = Vec::new();
        crate::schema::validate(&schema, &schema, &report, "report", &mut errors);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn the_schema_test_catches_what_does_not_fit() {
        let schema = schema();
        let mut report: Value = serde_json::from_str(&full().json()).expect("JSON");
        report["verdict"] = "great".into();
        report["checks"][0]["check"] = 7.into();
        report["environment"]["extra"] = true.into();
        if let Some(o) = report.as_object_mut() {
            o.remove("taken_at");
        }
        let mut errors = Vec::new();
        crate::schema::validate(&schema, &schema, &report, "report", &mut errors);
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }
}
