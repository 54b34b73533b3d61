//! A short tone on the chosen output, and whether the person heard it.

use crate::verdict::{Check, Outcome, Verdict};
use serde::Serialize;

/// What the speaker check measured: the output the tone went to, and the answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured {
    /// Whether the page can choose the output (`setSinkId`); without it the tone plays on the
    /// system's default.
    pub can_choose: bool,
    /// The output chosen (its id, never its label), or `None` for the default.
    pub output: Option<String>,
    /// Whether the tone could be played at all, and why not.
    pub play_error: Option<String>,
    /// "I heard it" (true), "I did not" (false), or no answer.
    pub heard: Option<bool>,
}

/// The speaker's verdict.
pub fn judge(m: &Measured) -> Outcome {
    let outcome = |verdict, sentence: &str| Outcome::new(Check::Speaker, verdict, sentence).with(m);
    if let Some(error) = &m.play_error {
        return outcome(
            Verdict::Fail,
            &format!("The tone could not be played ({error}): check the output device."),
        );
    }
    match m.heard {
        Some(true) => outcome(Verdict::Pass, "You heard the tone: the speaker works."),
        Some(false) if m.can_choose => outcome(
            Verdict::Fail,
            "You did not hear the tone: check the volume and mute, and that the right output is \
             chosen above.",
        ),
        Some(false) => outcome(
            Verdict::Fail,
            "You did not hear the tone: check the volume and mute, and the system's default \
             output (this browser cannot choose another).",
        ),
        None => outcome(
            Verdict::Skipped,
            "Not answered: play the tone and say whether you heard it.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(heard: Option<bool>, can_choose: bool) -> Measured {
        Measured {
            can_choose,
            output: None,
            play_error: None,
            heard,
        }
    }

    #[test]
    fn the_answer_is_the_verdict() {
        assert_eq!(judge(&answered(Some(true), true)).verdict, Verdict::Pass);
        assert_eq!(judge(&answered(Some(false), true)).verdict, Verdict::Fail);
        assert!(judge(&answered(Some(false), false))
            .sentence
            .contains("cannot choose"));
        assert_eq!(judge(&answered(None, true)).verdict, Verdict::Skipped);
        let broken = Measured {
            play_error: Some("NotAllowedError".into()),
            ..answered(None, true)
        };
        assert_eq!(judge(&broken).verdict, Verdict::Fail);
    }
}
