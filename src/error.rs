//! What can go wrong, in words a user can act on, mapped from the browser's `DOMException` names.

use wasm_bindgen::JsValue;

/// Every failure the page reports. The `Display` text is shown on the page as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `NotAllowedError`: the user or a browser policy said no.
    #[error("Camera and microphone access was refused. Allow it from the camera icon in the address bar (or the site settings), then press Start again.")]
    PermissionDenied,
    /// `NotFoundError`: nothing to capture from.
    #[error("No camera or microphone was found. Connect one, then press Start again.")]
    NoDevice,
    /// `NotReadableError`: the device exists but the OS or another program holds it.
    #[error("The camera or microphone is in use by another application (or blocked by the system). Close that application, then press Start again.")]
    DeviceBusy,
    /// `OverconstrainedError`: no device satisfies the constraints.
    #[error("No camera or microphone can satisfy the requested settings ({0}).")]
    Overconstrained(String),
    /// `AbortError`: the request was cut short, often by the device itself.
    #[error("The camera or microphone stopped before it could start. Press Start to try again.")]
    Aborted,
    /// `SecurityError`: media capture is disabled for this document.
    #[error("The browser blocks camera access on this page (security settings or a permissions policy).")]
    Security,
    /// `navigator.mediaDevices` is missing: the page is not a secure context.
    #[error("This page cannot use the camera because it was not opened from a secure origin. Open it over https:// or from http://localhost (or 127.0.0.1).")]
    InsecureContext,
    /// The browser has no `RTCPeerConnection`.
    #[error("This browser does not support WebRTC (RTCPeerConnection is missing). Use a current Chrome, Edge, Firefox or Safari.")]
    NoWebRtc,
    /// The page's markup lacks an element the app needs.
    #[error("The page is missing the element #{0}.")]
    MissingElement(&'static str),
    /// The rest of the page (the call, controls, stats) did not load after the first module.
    #[error("The call did not load ({0}). Start and HangUp work; reload the page to call.")]
    RestNotLoaded(String),
    /// `?room=` holds something that is not a room name.
    #[error("The room in this page's address is not valid ({0}): this page calls itself instead. Use a room link the page offers.")]
    BadRoom(String),
    /// A room that two people are in already.
    #[error("This room is full: two people are in it already. Make a new room link and share it with the person you want to call.")]
    RoomFull,
    /// The way to the other page (server or tabs) is gone.
    #[error("{0} Press Call to try again.")]
    SignalingLost(String),
    /// `relay=1` without a TURN server to relay through.
    #[error("Relay only (relay=1) needs a TURN server, and this page was given none: run the signaling server with --turn-url and --turn-secret, or remove relay=1 from the address.")]
    NoRelayServer,
    /// `getDisplayMedia` is missing.
    #[error("This browser cannot share the screen (getDisplayMedia is missing). Use a current desktop Chrome, Edge or Firefox.")]
    NoScreenShare,
    /// The user closed the browser's screen picker, or a policy refused it.
    #[error("Screen sharing did not start: the browser's picker was closed or sharing is not allowed. The camera stays on.")]
    ShareRefused,
    /// `setSinkId` is missing.
    #[error("This browser cannot choose the speaker: the remote video plays on the system's default output.")]
    NoSpeakerChoice,
    /// The camera could not take a resolution preset; the previous setting stays.
    #[error("The camera cannot deliver {preset} ({why}): it keeps its previous setting.")]
    PresetRefused { preset: String, why: String },
    /// A bitrate cap outside what the page accepts.
    #[error("{0}")]
    BitrateRefused(String),
    /// A chat line that cannot be sent as it is.
    #[error("{0}")]
    ChatRefused(String),
    /// A call step failed; `step` names it, `detail` is the browser's message.
    #[error("{step} failed: {detail}")]
    CallStep { step: &'static str, detail: String },
    /// Anything else the browser threw, with its own name and message.
    #[error("The browser reported {name}: {message}")]
    Browser { name: String, message: String },
}

impl Error {
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
            other => other.to_string(),
        };
        Error::CallStep { step, detail }
    }
}

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
