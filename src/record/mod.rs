//! Recording the call: the local camera, the remote video, or both side by side, to a file.

/// What to record, in which format, the recorder's states and its words, in plain Rust.
pub mod plan;
/// The browser's side: the canvas composite, the sound, `MediaRecorder`, the file's object URL.
pub mod recorder;
/// The Record fieldset's elements, shown as the plan says.
pub mod view;
/// A WebM file's duration written into its head, where the browser wrote none.
pub mod webm;
