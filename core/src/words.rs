//! What the page says as the tutorial goes, the same from either module: its status lines, its
//! first steps, and the words for a track.

use alloc::borrow::ToOwned;
use alloc::string::String;

/// The status line once Start works.
pub const READY: &str = "Ready. Press Start to turn on the camera and microphone.";
/// The status line while the browser asks for the camera.
pub const ASKING: &str = "Asking for the camera and microphone…";
/// The status line after HangUp.
pub const HUNG_UP: &str = "Hung up. Press Start to begin again.";
/// The first step Start logs.
pub const START_STEP: &str = "Start: asking for the camera and microphone";
/// The step HangUp logs when there was no call.
pub const TRACKS_STOPPED: &str = "HangUp: every track stopped";
/// What the step log says before the camera's tracks, and before a failure's words.
pub const STREAM_OBTAINED: &str = "local stream obtained: ";
pub const MEDIA_FAILED: &str = "getUserMedia failed: ";

/// One track in words: its role and its device label.
pub fn describe_track(kind: &str, label: &str) -> String {
    let role = match kind {
        "video" => "camera",
        "audio" => "microphone",
        other => other,
    };
    if label.is_empty() {
        role.to_owned()
    } else {
        [role, " “", label, "”"].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::describe_track;

    #[test]
    fn tracks_are_named_by_role_and_label() {
        assert_eq!(
            describe_track("video", "fake_device_0"),
            "camera “fake_device_0”"
        );
        assert_eq!(describe_track("audio", ""), "microphone");
        assert_eq!(describe_track("other", "x"), "other “x”");
    }
}
