//! Perfect negotiation's decisions, in plain Rust: which incoming description to apply, which
//! colliding offer to ignore, and whether a failed candidate matters.
//!
//! Both ends run the same code. When both offer at once (glare), the impolite peer ignores the
//! other's offer and the polite one gives way: applying the incoming offer rolls its own back.
//! This is the pattern of the W3C WebRTC specification's example and MDN's "Perfect negotiation".

/// The negotiation state one peer keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiation {
    polite: bool,
    /// An offer of ours is being made (`setLocalDescription()` pending).
    making_offer: bool,
    /// The last incoming offer was ignored: candidates that follow it will fail, harmlessly.
    ignore_offer: bool,
    /// An incoming answer is being applied: its `stable` state is as good as reached.
    applying_answer: bool,
}

/// What to do with an incoming description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Set it as the remote description, then, for an offer, answer it.
    Apply { answer: bool },
    /// A colliding offer, and this peer is the impolite one: its own offer stands.
    Ignore,
}

impl Negotiation {
    pub fn new(polite: bool) -> Self {
        Self {
            polite,
            making_offer: false,
            ignore_offer: false,
            applying_answer: false,
        }
    }

    pub fn polite(&self) -> bool {
        self.polite
    }

    /// The room gave this end the other role (after the server forgot the seats, the roles are
    /// dealt anew; they still differ).
    pub fn set_polite(&mut self, polite: bool) {
        self.polite = polite;
    }

    /// The ICE username fragment of a session description (its first `a=ice-ufrag`): a new one
    /// in an offer means the other end restarted ICE.
    pub fn ice_ufrag(sdp: &str) -> Option<&str> {
        sdp.lines()
            .find_map(|line| line.trim_end().strip_prefix("a=ice-ufrag:"))
    }

    /// `negotiationneeded` fired and an offer is being made.
    pub fn offer_started(&mut self) {
        self.making_offer = true;
    }

    /// The offer is made (or failed).
    pub fn offer_finished(&mut self) {
        self.making_offer = false;
    }

    /// Whether an offer of this page's own may start now, outside `negotiationneeded` (a new
    /// codec order): only in a `stable` state with no offer under way, or the offer would
    /// cross an exchange in progress.
    pub fn may_offer(&self, stable: bool) -> bool {
        stable && !self.making_offer
    }

    /// Whether this peer orders the codecs: the one that made the call's first offer
    /// (`offered_first`, known once the first answer is set; before that, the one offering).
    pub fn orders_codecs(offered_first: Option<bool>, offering: bool) -> bool {
        offered_first.unwrap_or(offering)
    }

    /// A description arrived; `stable` says whether the peer's `signalingState` is `stable`.
    pub fn description(&mut self, offer: bool, stable: bool) -> Incoming {
        let ready_for_offer = !self.making_offer && (stable || self.applying_answer);
        let collision = offer && !ready_for_offer;
        self.ignore_offer = !self.polite && collision;
        if self.ignore_offer {
            return Incoming::Ignore;
        }
        self.applying_answer = !offer;
        Incoming::Apply { answer: offer }
    }

    /// The incoming description is set (or failed to be).
    pub fn description_applied(&mut self) {
        self.applying_answer = false;
    }

    /// Whether a candidate that failed to be added is worth reporting: not when it belongs to an
    /// offer this peer ignored.
    pub fn candidate_failure_matters(&self) -> bool {
        !self.ignore_offer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_in_a_stable_state_is_answered() {
        for polite in [false, true] {
            let mut n = Negotiation::new(polite);
            assert_eq!(n.description(true, true), Incoming::Apply { answer: true });
        }
    }

    #[test]
    fn in_a_collision_the_impolite_peer_keeps_its_offer() {
        let mut n = Negotiation::new(false);
        n.offer_started();
        assert_eq!(n.description(true, true), Incoming::Ignore);
        assert!(
            !n.candidate_failure_matters(),
            "its candidates fail harmlessly"
        );
        n.offer_finished();
        // Its offer was made: the other side's answer comes and is applied.
        assert_eq!(
            n.description(false, false),
            Incoming::Apply { answer: false }
        );
    }

    #[test]
    fn in_a_collision_the_polite_peer_gives_way() {
        let mut n = Negotiation::new(true);
        n.offer_started();
        // Applying the other's offer rolls its own back.
        assert_eq!(n.description(true, true), Incoming::Apply { answer: true });
        n.offer_finished();
        let mut n = Negotiation::new(true);
        // Its offer is out (have-local-offer): still a collision, still gives way.
        assert_eq!(n.description(true, false), Incoming::Apply { answer: true });
        assert!(n.candidate_failure_matters());
    }

    #[test]
    fn an_offer_right_behind_an_answer_being_applied_is_no_collision() {
        let mut n = Negotiation::new(false);
        assert_eq!(
            n.description(false, false),
            Incoming::Apply { answer: false }
        );
        // The answer is not applied yet (signalingState still have-local-offer) but will be.
        assert_eq!(n.description(true, false), Incoming::Apply { answer: true });
        n.description_applied();
        assert_eq!(
            n.description(true, false),
            Incoming::Ignore,
            "now it is one"
        );
    }

    #[test]
    fn ignoring_lasts_only_until_the_next_description() {
        let mut n = Negotiation::new(false);
        n.offer_started();
        assert_eq!(n.description(true, true), Incoming::Ignore);
        n.offer_finished();
        assert_eq!(n.description(true, true), Incoming::Apply { answer: true });
        assert!(n.candidate_failure_matters());
    }

    #[test]
    fn an_own_offer_waits_for_a_stable_state_and_no_offer_under_way() {
        let mut n = Negotiation::new(true);
        assert!(n.may_offer(true));
        assert!(!n.may_offer(false), "mid-exchange");
        n.offer_started();
        assert!(!n.may_offer(true), "an offer under way");
        n.offer_finished();
        assert!(n.may_offer(true));
    }

    #[test]
    fn an_offer_names_its_ice_username_fragment() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:Xy7q\r\na=ice-pwd:secret\r\n";
        assert_eq!(Negotiation::ice_ufrag(sdp), Some("Xy7q"));
        assert_eq!(Negotiation::ice_ufrag("v=0\r\n"), None);
        let mut n = Negotiation::new(true);
        n.set_polite(false);
        assert!(!n.polite());
    }

    #[test]
    fn the_peer_that_offered_first_orders_the_codecs() {
        assert!(
            Negotiation::orders_codecs(None, true),
            "making the first offer"
        );
        assert!(
            !Negotiation::orders_codecs(None, false),
            "answering the first offer"
        );
        assert!(
            Negotiation::orders_codecs(Some(true), false),
            "answering a later offer"
        );
        assert!(
            !Negotiation::orders_codecs(Some(false), true),
            "offering later"
        );
    }
}
