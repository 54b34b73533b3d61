//! The page's decisions: which button may act now and what each click does, in plain Rust.
//!
//! Every piece of asynchronous work (asking for the camera, setting up a call) is started with a
//! [`Ticket`]. When the work finishes, its result is handed back with that ticket; a ticket from
//! before the latest HangUp is stale and its result is refused, so a late promise can never revive
//! a call the user has already ended.

/// Where the page is in the Start → Call → HangUp story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nothing held: Start may be pressed.
    Idle,
    /// getUserMedia is pending.
    Starting,
    /// The local stream is live and no call is up.
    Ready,
    /// The two peers exist (negotiating or connected).
    InCall,
}

/// Which of the three buttons are enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buttons {
    pub start: bool,
    pub call: bool,
    pub hang_up: bool,
}

/// Proof that a piece of async work belongs to the current session; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// What the caller must do after [`Controls::hang_up`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HangUp {
    /// Nothing was held or pending: the click does nothing.
    Ignored,
    /// Release whatever is held (call, stream) and reset the page.
    Release,
}

/// The state machine behind the buttons.
#[derive(Debug)]
pub struct Controls {
    phase: Phase,
    generation: u64,
}

impl Default for Controls {
    fn default() -> Self {
        Self::new()
    }
}

impl Controls {
    pub fn new() -> Self {
        Self {
            phase: Phase::Idle,
            generation: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// HangUp is enabled whenever something is held or pending, so the user can always let go of
    /// the camera, not only during a call.
    pub fn buttons(&self) -> Buttons {
        match self.phase {
            Phase::Idle => Buttons {
                start: true,
                call: false,
                hang_up: false,
            },
            Phase::Starting => Buttons {
                start: false,
                call: false,
                hang_up: true,
            },
            Phase::Ready => Buttons {
                start: false,
                call: true,
                hang_up: true,
            },
            Phase::InCall => Buttons {
                start: false,
                call: false,
                hang_up: true,
            },
        }
    }

    /// Start was clicked. `Some` means: ask for the camera and report back with this ticket.
    pub fn start(&mut self) -> Option<Ticket> {
        self.begin(Phase::Idle, Phase::Starting)
    }

    /// The camera answered with a stream. `false` means the stream is unwanted (the user hung up
    /// meanwhile) and must be stopped at once.
    pub fn media_ready(&mut self, ticket: Ticket) -> bool {
        self.settle(ticket, Phase::Starting, Phase::Ready)
    }

    /// The camera request failed. `false` means nobody is waiting for it any more: say nothing.
    pub fn media_failed(&mut self, ticket: Ticket) -> bool {
        self.settle(ticket, Phase::Starting, Phase::Idle)
    }

    /// Call was clicked. `Some` means: build the two peers and negotiate with this ticket.
    pub fn call(&mut self) -> Option<Ticket> {
        self.begin(Phase::Ready, Phase::InCall)
    }

    /// The call ended without a HangUp here: setting it up failed, or the other person left.
    /// `true` means it is the current call: tear it down, keep the local stream, and let the user
    /// press Call again.
    pub fn call_ended(&mut self, ticket: Ticket) -> bool {
        self.settle(ticket, Phase::InCall, Phase::Ready)
    }

    /// HangUp was clicked (or the page is going away). Every ticket handed out so far goes stale.
    pub fn hang_up(&mut self) -> HangUp {
        if self.phase == Phase::Idle {
            return HangUp::Ignored;
        }
        self.phase = Phase::Idle;
        self.generation += 1;
        HangUp::Release
    }

    /// Whether work started with `ticket` may still act on the page.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        ticket.0 == self.generation
    }

    /// A click that starts async work: only from `from`.
    fn begin(&mut self, from: Phase, to: Phase) -> Option<Ticket> {
        (self.phase == from).then(|| {
            self.phase = to;
            Ticket(self.generation)
        })
    }

    /// Async work reporting back: only while its ticket is current and the page still waits in
    /// `from`.
    fn settle(&mut self, ticket: Ticket, from: Phase, to: Phase) -> bool {
        let wanted = self.is_current(ticket) && self.phase == from;
        if wanted {
            self.phase = to;
        }
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Buttons = Buttons {
        start: true,
        call: false,
        hang_up: false,
    };

    fn ready() -> Controls {
        let mut c = Controls::new();
        let t = c.start().unwrap();
        assert!(c.media_ready(t));
        c
    }

    #[test]
    fn starts_idle_with_only_start_enabled() {
        let c = Controls::new();
        assert_eq!(c.phase(), Phase::Idle);
        assert_eq!(c.buttons(), IDLE);
    }

    #[test]
    fn start_then_media_enables_call_and_hang_up() {
        let mut c = Controls::new();
        let t = c.start().unwrap();
        assert_eq!(
            c.buttons(),
            Buttons {
                start: false,
                call: false,
                hang_up: true
            }
        );
        assert!(c.media_ready(t));
        assert_eq!(c.phase(), Phase::Ready);
        assert_eq!(
            c.buttons(),
            Buttons {
                start: false,
                call: true,
                hang_up: true
            }
        );
    }

    #[test]
    fn double_start_asks_for_the_camera_once() {
        let mut c = Controls::new();
        assert!(c.start().is_some());
        assert!(c.start().is_none());
    }

    #[test]
    fn media_failure_returns_to_idle() {
        let mut c = Controls::new();
        let t = c.start().unwrap();
        assert!(c.media_failed(t));
        assert_eq!(c.buttons(), IDLE);
        assert!(c.start().is_some(), "the user may try again");
    }

    #[test]
    fn stream_arriving_after_hang_up_is_refused() {
        let mut c = Controls::new();
        let t = c.start().unwrap();
        assert_eq!(c.hang_up(), HangUp::Release);
        assert!(!c.media_ready(t));
        assert!(!c.media_failed(t));
        assert_eq!(c.buttons(), IDLE);
    }

    #[test]
    fn stale_stream_cannot_satisfy_a_newer_start() {
        let mut c = Controls::new();
        let old = c.start().unwrap();
        c.hang_up();
        let new = c.start().unwrap();
        assert!(!c.media_ready(old));
        assert_eq!(c.phase(), Phase::Starting);
        assert!(c.media_ready(new));
    }

    #[test]
    fn call_only_from_ready_and_only_once() {
        let mut c = Controls::new();
        assert!(c.call().is_none());
        let mut c = ready();
        assert!(c.call().is_some());
        assert!(c.call().is_none());
        assert_eq!(
            c.buttons(),
            Buttons {
                start: false,
                call: false,
                hang_up: true
            }
        );
    }

    #[test]
    fn failed_call_keeps_the_stream_and_allows_another_call() {
        let mut c = ready();
        let t = c.call().unwrap();
        assert!(c.call_ended(t));
        assert_eq!(c.phase(), Phase::Ready);
        assert!(c.call().is_some());
    }

    #[test]
    fn late_call_failure_after_hang_up_is_ignored() {
        let mut c = ready();
        let t = c.call().unwrap();
        c.hang_up();
        assert!(!c.is_current(t));
        assert!(!c.call_ended(t));
        assert_eq!(c.buttons(), IDLE);
    }

    #[test]
    fn hang_up_when_idle_is_ignored() {
        let mut c = Controls::new();
        assert_eq!(c.hang_up(), HangUp::Ignored);
        let mut c = ready();
        assert_eq!(c.hang_up(), HangUp::Release);
        assert_eq!(c.hang_up(), HangUp::Ignored);
    }

    #[test]
    fn call_then_hang_up_in_the_same_tick() {
        let mut c = ready();
        let t = c.call().unwrap();
        assert_eq!(c.hang_up(), HangUp::Release);
        assert!(!c.is_current(t));
        assert!(c.call().is_none(), "no call without a new Start");
    }

    #[test]
    fn twenty_cycles_leave_it_idle() {
        let mut c = Controls::new();
        let mut seen = Vec::new();
        for _ in 0..20 {
            let s = c.start().unwrap();
            assert!(c.media_ready(s));
            let t = c.call().unwrap();
            seen.push(t);
            assert_eq!(c.hang_up(), HangUp::Release);
        }
        assert_eq!(c.buttons(), IDLE);
        assert!(seen.iter().all(|t| !c.is_current(*t)));
    }
}
