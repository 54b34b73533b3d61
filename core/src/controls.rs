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
    /// The two peers exist (negotiating or connected). While the call has lost its way to the
    /// other person and the page repairs it, [`Controls::is_reconnecting`] says so.
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

/// Which of the call's other controls may act now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tools {
    /// The camera and microphone pickers: before Start they choose what Start opens, after it
    /// they switch the live devices (a camera chosen while sharing shows when sharing stops);
    /// not while the camera is being asked for.
    pub devices: bool,
    /// The camera's resolution preset.
    pub resolution: bool,
    /// Mute the microphone.
    pub mute: bool,
    /// Turn the camera off.
    pub camera_off: bool,
    /// Share the screen, or stop sharing it.
    pub share: bool,
    /// The codec and the bitrate cap: chosen ahead of a call or changed during one, not while
    /// it reconnects (a codec change renegotiates, which needs signaling).
    pub sending: bool,
    /// Restart ICE: only in a call, and not while the page reconnects it by itself.
    pub ice_restart: bool,
    /// Chat and ping: only while the call's data channel is open.
    pub chat: bool,
}

/// The toggles the page shows as pressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Toggles {
    pub muted: bool,
    pub camera_off: bool,
    pub sharing: bool,
}

/// Screen sharing, which takes a moment to start: the browser asks the user what to share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Share {
    #[default]
    Off,
    Asking,
    On,
}

/// What a click on the share button asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareClick {
    /// Ask the browser for a screen and report back with this ticket.
    Start(Ticket),
    /// Put the camera back.
    Stop,
}

/// The state machine behind the buttons.
#[derive(Debug)]
pub struct Controls {
    phase: Phase,
    generation: u64,
    muted: bool,
    camera_off: bool,
    share: Share,
    /// The call lost its way to the other person: a bool, not a phase, because in every other
    /// way it is still the call (HangUp, the media controls, the chat as its channel goes).
    reconnecting: bool,
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
            muted: false,
            camera_off: false,
            share: Share::Off,
            reconnecting: false,
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

    /// The buttons while only the page's first module is there: Call waits for the rest of the
    /// page, which makes the call.
    pub fn buttons_before_the_call(&self) -> Buttons {
        Buttons {
            call: false,
            ..self.buttons()
        }
    }

    /// The other controls, given whether the call's data channel is open.
    pub fn tools(&self, channel_open: bool) -> Tools {
        let live = matches!(self.phase, Phase::Ready | Phase::InCall);
        let camera = live && self.share == Share::Off;
        Tools {
            devices: self.phase != Phase::Starting,
            resolution: camera,
            mute: live,
            camera_off: camera,
            share: live && self.share != Share::Asking,
            sending: self.phase != Phase::Starting && !self.reconnecting,
            ice_restart: self.phase == Phase::InCall && !self.reconnecting,
            chat: self.phase == Phase::InCall && channel_open,
        }
    }

    pub fn toggles(&self) -> Toggles {
        Toggles {
            muted: self.muted,
            camera_off: self.camera_off,
            sharing: self.share == Share::On,
        }
    }

    /// Mute was clicked: `Some(muted)` to apply, `None` if there is no microphone to mute.
    pub fn toggle_mute(&mut self) -> Option<bool> {
        self.tools(false).mute.then(|| {
            self.muted = !self.muted;
            self.muted
        })
    }

    /// Camera off was clicked: `Some(off)` to apply, `None` if it cannot act now.
    pub fn toggle_camera(&mut self) -> Option<bool> {
        self.tools(false).camera_off.then(|| {
            self.camera_off = !self.camera_off;
            self.camera_off
        })
    }

    /// A change to the live media may start now (a picker, a device that went away, a preset):
    /// `Some` means do it and report back with this ticket through [`Controls::is_live`]. A
    /// camera switched while the screen is shared waits in the camera's place.
    pub fn live_change(&self) -> Option<Ticket> {
        matches!(self.phase, Phase::Ready | Phase::InCall).then_some(Ticket(self.generation))
    }

    /// Whether a change started with `ticket` may still act on the local stream.
    pub fn is_live(&self, ticket: Ticket) -> bool {
        self.is_current(ticket) && matches!(self.phase, Phase::Ready | Phase::InCall)
    }

    /// The share button was clicked.
    pub fn share(&mut self) -> Option<ShareClick> {
        if !self.tools(false).share {
            return None;
        }
        Some(match self.share {
            Share::On => {
                self.share = Share::Off;
                ShareClick::Stop
            }
            _ => {
                self.share = Share::Asking;
                ShareClick::Start(Ticket(self.generation))
            }
        })
    }

    /// The browser answered the screen request. `false`: nobody waits for it, drop the screen.
    pub fn share_answered(&mut self, ticket: Ticket, shared: bool) -> bool {
        let wanted = self.is_live(ticket) && self.share == Share::Asking;
        if wanted {
            self.share = if shared { Share::On } else { Share::Off };
        }
        wanted
    }

    /// The shared screen's track ended by itself (the browser's own "stop sharing").
    pub fn share_ended(&mut self) -> bool {
        let was_on = self.share == Share::On;
        if was_on {
            self.share = Share::Off;
        }
        was_on
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
        let ended = self.settle(ticket, Phase::InCall, Phase::Ready);
        self.reconnecting &= !ended;
        ended
    }

    /// The call of `ticket` lost its way to the other person and the page is repairing it.
    /// `false`: it is not the current call.
    pub fn reconnecting(&mut self, ticket: Ticket) -> bool {
        self.set_reconnecting(ticket, true)
    }

    /// The call of `ticket` found its way back. `false`: it is not the current call.
    pub fn reconnected(&mut self, ticket: Ticket) -> bool {
        self.set_reconnecting(ticket, false)
    }

    pub fn is_reconnecting(&self) -> bool {
        self.reconnecting
    }

    /// HangUp was clicked (or the page is going away). Every ticket handed out so far goes stale.
    pub fn hang_up(&mut self) -> HangUp {
        if self.phase == Phase::Idle {
            return HangUp::Ignored;
        }
        self.phase = Phase::Idle;
        self.generation += 1;
        // The next Start opens new tracks, which start enabled, and shares nothing.
        self.muted = false;
        self.camera_off = false;
        self.share = Share::Off;
        self.reconnecting = false;
        HangUp::Release
    }

    /// Whether work started with `ticket` may still act on the page.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        ticket.0 == self.generation
    }

    fn set_reconnecting(&mut self, ticket: Ticket, on: bool) -> bool {
        let current = self.is_current(ticket) && self.phase == Phase::InCall;
        if current {
            self.reconnecting = on;
        }
        current
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
    fn before_the_call_loads_start_and_hang_up_work_and_call_waits() {
        let mut c = Controls::new();
        assert_eq!(c.buttons_before_the_call(), IDLE);
        let t = c.start().unwrap();
        let starting = c.buttons_before_the_call();
        assert_eq!(
            (starting.start, starting.call, starting.hang_up),
            (false, false, true)
        );
        assert!(c.media_ready(t));
        let ready = c.buttons_before_the_call();
        assert_eq!(
            (ready.start, ready.call, ready.hang_up),
            (false, false, true)
        );
        assert!(c.buttons().call, "once the call is there, Call works");
        assert_eq!(c.hang_up(), HangUp::Release);
        assert_eq!(c.buttons_before_the_call(), IDLE);
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

    #[test]
    fn tools_follow_the_phase() {
        let mut c = Controls::new();
        let idle = c.tools(false);
        assert!(idle.devices && idle.sending);
        assert!(!idle.resolution && !idle.mute && !idle.camera_off && !idle.share);
        assert!(!idle.ice_restart && !idle.chat);
        let t = c.start().unwrap();
        assert_eq!(c.tools(true), Tools::default(), "nothing while asking");
        assert!(c.media_ready(t));
        let ready = c.tools(true);
        assert!(ready.devices && ready.resolution && ready.mute && ready.share);
        assert!(!ready.ice_restart && !ready.chat, "no call yet");
        c.call().unwrap();
        assert!(c.tools(false).ice_restart);
        assert!(!c.tools(false).chat, "the channel is not open yet");
        assert!(c.tools(true).chat);
    }

    fn in_call() -> (Controls, Ticket) {
        let mut c = ready();
        let t = c.call().unwrap();
        (c, t)
    }

    #[test]
    fn only_the_current_call_reconnects() {
        let mut c = ready();
        let t = c.live_change().unwrap();
        assert!(!c.reconnecting(t), "no call yet");
        assert!(!c.is_reconnecting());
        let (mut c, t) = in_call();
        assert!(!c.is_reconnecting());
        assert!(c.reconnecting(t));
        assert!(c.is_reconnecting());
        assert_eq!(c.phase(), Phase::InCall, "still the call");
        assert!(c.reconnected(t));
        assert!(!c.is_reconnecting());
        // A call that is over cannot start reconnecting, or stop.
        c.hang_up();
        assert!(!c.reconnecting(t));
        assert!(!c.reconnected(t));
        assert!(!c.is_reconnecting());
    }

    #[test]
    fn a_late_reconnecting_from_an_earlier_call_is_refused() {
        let (mut c, old) = in_call();
        c.hang_up();
        let s = c.start().unwrap();
        assert!(c.media_ready(s));
        let new = c.call().unwrap();
        assert!(!c.reconnecting(old));
        assert!(!c.is_reconnecting());
        assert!(c.reconnecting(new));
    }

    #[test]
    fn while_reconnecting_the_buttons_are_the_calls() {
        let (mut c, t) = in_call();
        let calling = c.buttons();
        c.reconnecting(t);
        assert_eq!(c.buttons(), calling);
        assert_eq!(
            c.buttons(),
            Buttons {
                start: false,
                call: false,
                hang_up: true
            },
            "the user can always leave"
        );
        assert!(c.call().is_none());
        assert!(c.start().is_none());
    }

    #[test]
    fn while_reconnecting_what_needs_signaling_waits() {
        let (mut c, t) = in_call();
        let calling = c.tools(true);
        assert!(calling.sending && calling.ice_restart);
        c.reconnecting(t);
        let tools = c.tools(true);
        assert!(!tools.sending, "a codec change renegotiates");
        assert!(!tools.ice_restart, "the page restarts ICE itself");
        assert_eq!(
            Tools {
                sending: true,
                ice_restart: true,
                ..tools
            },
            calling,
            "devices, resolution, mute, camera off, share and chat stay"
        );
        assert!(!c.tools(false).chat, "chat follows the data channel");
        assert_eq!(c.toggle_mute(), Some(true));
        assert_eq!(c.toggle_camera(), Some(true));
        assert!(c.live_change().is_some(), "replaceTrack needs no signaling");
        assert!(matches!(c.share(), Some(ShareClick::Start(_))));
        c.reconnected(t);
        assert!(c.tools(true).sending);
        assert!(c.tools(true).ice_restart);
    }

    #[test]
    fn hang_up_and_the_end_of_the_call_stop_reconnecting() {
        let (mut c, t) = in_call();
        c.reconnecting(t);
        assert_eq!(c.hang_up(), HangUp::Release);
        assert!(!c.is_reconnecting());
        assert!(c.tools(false).sending, "idle: the codec may be chosen");
        let (mut c, t) = in_call();
        c.reconnecting(t);
        assert!(c.call_ended(t));
        assert!(!c.is_reconnecting());
        let ready = c.tools(false);
        assert!(ready.sending && !ready.ice_restart);
        let t = c.call().unwrap();
        assert!(!c.is_reconnecting(), "the next call starts connected");
        assert!(c.tools(false).ice_restart);
        // A refused call_ended leaves it as it was.
        c.reconnecting(t);
        c.hang_up();
        assert!(!c.call_ended(t));
        assert!(!c.is_reconnecting());
    }

    #[test]
    fn toggles_act_on_live_media_and_reset_at_hang_up() {
        let mut c = Controls::new();
        assert_eq!(c.toggle_mute(), None, "nothing to mute");
        assert_eq!(c.toggle_camera(), None);
        let mut c = ready();
        assert_eq!(c.toggle_mute(), Some(true));
        assert_eq!(c.toggle_camera(), Some(true));
        assert_eq!(c.toggle_mute(), Some(false));
        assert_eq!(
            c.toggles(),
            Toggles {
                muted: false,
                camera_off: true,
                sharing: false
            }
        );
        c.hang_up();
        assert_eq!(c.toggles(), Toggles::default());
    }

    #[test]
    fn sharing_asks_once_and_puts_the_camera_controls_aside() {
        let mut c = ready();
        let Some(ShareClick::Start(t)) = c.share() else {
            panic!("share starts")
        };
        assert!(
            !c.tools(false).share,
            "a second click while the browser asks"
        );
        assert_eq!(c.share(), None);
        assert!(c.share_answered(t, true));
        assert!(c.toggles().sharing);
        let tools = c.tools(false);
        assert!(!tools.resolution && !tools.camera_off);
        assert!(tools.mute && tools.share && tools.devices);
        assert!(c.live_change().is_some(), "a device switch while sharing");
        assert_eq!(c.share(), Some(ShareClick::Stop));
        assert!(!c.toggles().sharing);
        assert!(c.tools(false).resolution);
        // The browser's own "stop sharing" ends it too, once.
        let Some(ShareClick::Start(t)) = c.share() else {
            panic!()
        };
        assert!(c.share_answered(t, true));
        assert!(c.share_ended());
        assert!(!c.share_ended());
    }

    #[test]
    fn a_screen_or_device_that_comes_after_hang_up_is_refused() {
        let mut c = ready();
        let switch = c.live_change().unwrap();
        let Some(ShareClick::Start(t)) = c.share() else {
            panic!()
        };
        c.hang_up();
        assert!(!c.share_answered(t, true));
        assert!(!c.toggles().sharing);
        assert!(!c.is_live(switch));
        assert_eq!(c.live_change(), None, "idle: the picker only chooses");
        // A refused screen request leaves the camera as it was.
        let mut c = ready();
        let Some(ShareClick::Start(t)) = c.share() else {
            panic!()
        };
        assert!(c.share_answered(t, false));
        assert_eq!(c.toggles(), Toggles::default());
        assert!(c.tools(false).share);
    }
}
