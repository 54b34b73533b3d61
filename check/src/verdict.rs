//! A check's outcome: pass, warning, fail or skipped, one sentence, and the figures behind it.

use serde::Serialize;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// It works.
    Pass,
    /// It works, with a limit worth knowing.
    Warning,
    /// It does not work; the sentence says what to do.
    Fail,
    /// It could not run here (the browser lacks something, or the person did not answer); the
    /// sentence says why. Never counted as a pass.
    Skipped,
}

impl Verdict {
    /// The mark a summary line starts with.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warning => "WARN",
            Verdict::Fail => "FAIL",
            Verdict::Skipped => "SKIP",
        }
    }
}

/// The checks, in the order the page runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Camera,
    Microphone,
    Speaker,
    Network,
    Connectivity,
    Throughput,
}

impl Check {
    /// Its title on the page and in the summary.
    pub fn title(self) -> &'static str {
        match self {
            Check::Camera => "Camera",
            Check::Microphone => "Microphone",
            Check::Speaker => "Speaker",
            Check::Network => "Network",
            Check::Connectivity => "Connectivity",
            Check::Throughput => "Throughput",
        }
    }
}

/// One check's result: its verdict, the sentence saying what it means and what to do, and every
/// figure it measured (shown on demand, and in the report).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub check: Check,
    pub verdict: Verdict,
    pub sentence: String,
    pub figures: serde_json::Value,
}

impl Outcome {
    pub fn new(check: Check, verdict: Verdict, sentence: impl Into<String>) -> Self {
        Self {
            check,
            verdict,
            sentence: sentence.into(),
            figures: serde_json::Value::Null,
        }
    }

    /// The same with the figures it was judged on.
    pub fn with(mut self, figures: &impl Serialize) -> Self {
        self.figures = serde_json::to_value(figures).unwrap_or(serde_json::Value::Null);
        self
    }
}

/// The worst of several verdicts (fail over warning over pass); skipped only when all are.
pub fn worst(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts
        .into_iter()
        .filter(|v| *v != Verdict::Skipped)
        .max()
        .unwrap_or(Verdict::Skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_verdict_wins_and_skipped_counts_for_nothing() {
        assert_eq!(worst([Verdict::Pass, Verdict::Warning]), Verdict::Warning);
        assert_eq!(worst([Verdict::Fail, Verdict::Pass]), Verdict::Fail);
        assert_eq!(worst([Verdict::Skipped, Verdict::Pass]), Verdict::Pass);
        assert_eq!(worst([Verdict::Skipped]), Verdict::Skipped);
        assert_eq!(worst([]), Verdict::Skipped);
    }
}
