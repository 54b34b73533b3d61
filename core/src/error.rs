//! What can go wrong, in words a user can act on, mapped from the browser's `DOMException` names.

use alloc::borrow::{Cow, ToOwned};
use alloc::string::String;
use core::fmt;
use wasm_bindgen::JsValue;

/// Every failure the page reports. Its [`message`](Error::message), also its `Display`, is shown
/// on the page as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `NotAllowedError`: the user or a browser policy said no.
    PermissionDenied,
    /// `NotFoundError`: nothing to capture from.
    NoDevice,
    /// `NotReadableError`: the device exists but the OS or another program holds it.
    DeviceBusy,
    /// `OverconstrainedError`: no device satisfies the constraints.
    Overconstrained(String),
    /// `AbortError`: the request was cut short, often by the device itself.
    Aborted,
    /// `SecurityError`: media capture is disabled for this document.
    Security,
    /// `navigator.mediaDevices` is missing: the page is not a secure context.
    InsecureContext,
    /// The browser has no `RTCPeerConnection`.
    NoWebRtc,
    /// The page's markup lacks an element the app needs.
    MissingElement(&'static str),
    /// The rest of the page (the call, controls, stats) did not load after the first module.
    RestNotLoaded(String),
    /// `?room=` holds something that is not a room name.
    BadRoom(String),
    /// A room that holds as many people as it may already.
    RoomFull,
    /// The way to the other page (server or tabs) is gone.
    SignalingLost(String),
    /// `relay=1` without a TURN server to relay through.
    NoRelayServer,
    /// ICE found no path between the two pages and no TURN relay was offered.
    NoDirectPath,
    /// ICE found no path, not even through the TURN relay.
    RelayFailed,
    /// The call was connected, and its path could not be restored.
    ConnectionLost,
    /// `getDisplayMedia` is missing.
    NoScreenShare,
    /// The user closed the browser's screen picker, or a policy refused it.
    ShareRefused,
    /// `setSinkId` is missing.
    NoSpeakerChoice,
    /// `MediaRecorder` is missing, or records none of the formats the page knows.
    NoRecorder,
    /// Record was pressed before the video to record showed a frame.
    NothingToRecord,
    /// The browser's recorder failed; the detail is its own words.
    RecordingFailed(String),
    /// Recording could not start: the browser's name for why.
    RecordingDidNotStart(String),
    /// The camera could not take a resolution preset; the previous setting stays.
    PresetRefused { preset: String, why: String },
    /// A bitrate cap outside what the page accepts.
    BitrateRefused(String),
    /// A chat line that cannot be sent as it is.
    ChatRefused(String),
    /// A file that cannot be sent now, and why.
    FileRefused(String),
    /// A call step failed; `step` names it, `detail` is the browser's message.
    CallStep { step: &'static str, detail: String },
    /// Anything else the browser threw, with its own name and message.
    Browser { name: String, message: String },
}

impl Error {
    /// What the page says, in words a user can act on. Joined from pieces, not formatted: the
    /// first module, which shows these before the rest of the page is in, then carries no
    /// `core::fmt` for them.
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            Error::PermissionDenied => Cow::Borrowed("Camera and microphone access was refused. Allow it from the camera icon in the address bar (or the site settings), then press Start again."),
            Error::NoDevice => Cow::Borrowed("No camera or microphone was found. Connect one, then press Start again."),
            Error::DeviceBusy => Cow::Borrowed("The camera or microphone is in use by another application (or blocked by the system). Close that application, then press Start again."),
            Error::Overconstrained(x) => ["No camera or microphone can satisfy the requested settings (", x, ")."].concat().into(),
            Error::Aborted => Cow::Borrowed("The camera or microphone stopped before it could start. Press Start to try again."),
            Error::Security => Cow::Borrowed("The browser blocks camera access on this page (security settings or a permissions policy)."),
            Error::InsecureContext => Cow::Borrowed("This page cannot use the camera because it was not opened from a secure origin. Open it over https:// or from http://localhost (or 127.0.0.1)."),
            Error::NoWebRtc => Cow::Borrowed("This browser does not support WebRTC (RTCPeerConnection is missing). Use a current Chrome, Edge, Firefox or Safari."),
            Error::MissingElement(x) => ["The page is missing the element #", x, "."].concat().into(),
            Error::RestNotLoaded(x) => ["The call did not load (", x, "). Start and HangUp work; reload the page to call."].concat().into(),
            Error::BadRoom(x) => ["The room in this page's address is not valid (", x, "): this page calls itself instead. Use a room link the page offers."].concat().into(),
            Error::RoomFull => Cow::Borrowed("This room is full: as many people as it holds are in it already. Make a new room link and share it with the people you want to call."),
            Error::SignalingLost(x) => [x, " Press Call to try again."].concat().into(),
            Error::NoDirectPath => Cow::Borrowed("No direct path to the other person was found: both of you are behind routers (NATs) that let no direct call through, and this page was given no TURN relay. A TURN server is needed: see the README, “Over the internet”, to run coturn with the signaling server."),
            Error::RelayFailed => Cow::Borrowed("The call could not connect, not even through the TURN relay: check that the TURN server is reachable (UDP 3478 and its relay ports) and that its secret is the signaling server's. Press Call to try again."),
            Error::ConnectionLost => Cow::Borrowed("The connection to the other person was lost and could not be restored. Press Call to try again."),
            Error::NoRelayServer => Cow::Borrowed("Relay only (relay=1) needs a TURN server, and this page was given none: run the signaling server with --turn-url and --turn-secret, or remove relay=1 from the address."),
            Error::NoScreenShare => Cow::Borrowed("This browser cannot share the screen (getDisplayMedia is missing). Use a current desktop Chrome, Edge or Firefox."),
            Error::ShareRefused => Cow::Borrowed("Screen sharing did not start: the browser's picker was closed or sharing is not allowed. The camera stays on."),
            Error::NoSpeakerChoice => Cow::Borrowed("This browser cannot choose the speaker: the remote video plays on the system's default output."),
            Error::NoRecorder => Cow::Borrowed("This browser cannot record the call (MediaRecorder is missing, or it records no format this page knows). Use a current Chrome, Edge or Firefox."),
            Error::NothingToRecord => Cow::Borrowed("The video to record shows no picture yet: wait until it plays, then press Record again."),
            Error::RecordingDidNotStart(x) => ["The recording did not start (", x, "). Press Record to try again, or choose another format."].concat().into(),
            Error::RecordingFailed(x) => ["Recording failed (", x, "). Whatever was recorded before is offered below; press Record to try again."].concat().into(),
            Error::PresetRefused { preset, why } => ["The camera cannot deliver ", preset, " (", why, "): it keeps its previous setting."].concat().into(),
            Error::BitrateRefused(x) => Cow::Borrowed(x),
            Error::ChatRefused(x) | Error::FileRefused(x) => Cow::Borrowed(x),
            Error::CallStep { step, detail } => [step, " failed: ", detail].concat().into(),
            Error::Browser { name, message } => ["The browser reported ", name, ": ", message].concat().into(),
        }
    }

    /// Maps an exception's `name` (and `message`, kept for the names without a fixed meaning).
    pub fn from_name(name: &str, message: &str) -> Self {
        match name {
            // Old Chrome and spec drafts used the second spelling of each.
            "NotAllowedError" | "PermissionDeniedError" => Error::PermissionDenied,
            "NotFoundError" | "DevicesNotFoundError" => Error::NoDevice,
            "NotReadableError" | "TrackStartError" => Error::DeviceBusy,
            "OverconstrainedError" | "ConstraintNotSatisfiedError" => {
                Error::Overconstrained(if message.is_empty() {
                    "unknown constraint".to_owned()
                } else {
                    message.to_owned()
                })
            }
            "AbortError" => Error::Aborted,
            "SecurityError" => Error::Security,
            _ => Error::Browser {
                name: if name.is_empty() { "an error" } else { name }.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// Wraps a failure of one named step of a call (`"Create offer"`, …).
    pub fn in_step(step: &'static str, err: Error) -> Self {
        let detail = match err {
            Error::Browser { name, message } if message.is_empty() => name,
            Error::Browser { message, .. } => message,
            other => other.message().into_owned(),
        };
        Error::CallStep { step, detail }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for Error {}

impl From<JsValue> for Error {
    /// Reads `name` and `message` from whatever was thrown: a `DOMException`, an `Error`, an
    /// `OverconstrainedError` (whose useful part is `constraint`), or a bare value.
    fn from(value: JsValue) -> Self {
        let text = |key: &str| crate::js::string(&value, key);
        let name = text("name");
        let mut message = text("message");
        if name == "OverconstrainedError" {
            let constraint = text("constraint");
            if !constraint.is_empty() {
                message = constraint;
            }
        }
        if name.is_empty() && message.is_empty() {
            // A thrown string says itself; anything else has nothing readable to show.
            message = value
                .as_string()
                .unwrap_or_else(|| "no details given".to_owned());
        }
        Error::from_name(&name, &message)
    }
}

/// Turns `Result<T, JsValue>` into this crate's `Result` in one call.
pub trait JsResultExt<T> {
    /// The failure of a named call step.
    fn step(self, step: &'static str) -> Result<T, Error>;
}

impl<T> JsResultExt<T> for Result<T, JsValue> {
    fn step(self, step: &'static str) -> Result<T, Error> {
        self.map_err(|e| Error::in_step(step, e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_getusermedia_failure_to_its_own_words() {
        assert_eq!(
            Error::from_name("NotAllowedError", "x"),
            Error::PermissionDenied
        );
        assert_eq!(Error::from_name("NotFoundError", ""), Error::NoDevice);
        assert_eq!(Error::from_name("NotReadableError", ""), Error::DeviceBusy);
        assert_eq!(Error::from_name("AbortError", ""), Error::Aborted);
        assert_eq!(Error::from_name("SecurityError", ""), Error::Security);
        assert_eq!(
            Error::from_name("OverconstrainedError", "width"),
            Error::Overconstrained("width".into())
        );
    }

    #[test]
    fn legacy_chrome_names_map_like_the_standard_ones() {
        assert_eq!(
            Error::from_name("PermissionDeniedError", ""),
            Error::PermissionDenied
        );
        assert_eq!(
            Error::from_name("DevicesNotFoundError", ""),
            Error::NoDevice
        );
        assert_eq!(Error::from_name("TrackStartError", ""), Error::DeviceBusy);
    }

    #[test]
    fn messages_tell_the_user_what_to_do() {
        assert!(Error::PermissionDenied.to_string().contains("Allow"));
        assert!(Error::NoDevice
            .to_string()
            .contains("No camera or microphone"));
        assert!(Error::DeviceBusy
            .to_string()
            .contains("another application"));
        assert!(Error::InsecureContext.to_string().contains("localhost"));
        assert!(Error::from_name("OverconstrainedError", "")
            .to_string()
            .contains("unknown constraint"));
    }

    #[test]
    fn messages_with_details_put_them_in_their_place() {
        let cases = [
            (
                Error::MissingElement("status"),
                "The page is missing the element #status.",
            ),
            (
                Error::RestNotLoaded("404".into()),
                "The call did not load (404). Start and HangUp work; reload the page to call.",
            ),
            (
                Error::BadRoom("a b".into()),
                "The room in this page's address is not valid (a b): this page calls itself \
                 instead. Use a room link the page offers.",
            ),
            (
                Error::SignalingLost("The server closed.".into()),
                "The server closed. Press Call to try again.",
            ),
            (
                Error::PresetRefused {
                    preset: "720p".into(),
                    why: "width".into(),
                },
                "The camera cannot deliver 720p (width): it keeps its previous setting.",
            ),
            (Error::ChatRefused("Too long.".into()), "Too long."),
            (
                Error::RecordingFailed("EncodingError".into()),
                "Recording failed (EncodingError). Whatever was recorded before is offered \
                 below; press Record to try again.",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.message(), text);
            assert_eq!(error.to_string(), text, "Display says the same");
        }
    }

    #[test]
    fn unknown_names_keep_the_browser_words() {
        let e = Error::from_name("InvalidStateError", "The peer is closed.");
        assert_eq!(
            e.to_string(),
            "The browser reported InvalidStateError: The peer is closed."
        );
        assert_eq!(
            Error::from_name("", "boom").to_string(),
            "The browser reported an error: boom"
        );
    }

    #[test]
    fn a_failing_step_names_the_step_and_the_cause() {
        let e = Error::in_step(
            "Set remote description",
            Error::from_name("InvalidStateError", "wrong state"),
        );
        assert_eq!(e.to_string(), "Set remote description failed: wrong state");
        let e = Error::in_step("Create offer", Error::from_name("OperationError", ""));
        assert_eq!(e.to_string(), "Create offer failed: OperationError");
    }
}
