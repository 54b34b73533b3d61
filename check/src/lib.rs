//! loopback-check: what each figure of "Check this machine" means. The page measures (the
//! camera's frames, the microphone's samples, the candidates each ICE server gave, a connection
//! through each path); this crate turns the figures into pass, warning or fail, one sentence
//! saying what it means and what to do, and the report a person copies or downloads.

/// The camera at each common resolution: size, frame rate, first frame, black or frozen.
pub mod camera;
/// A connection in the page through each path, carrying data both ways.
pub mod connectivity;
/// Two seconds of the microphone: level, silence, clipping.
pub mod microphone;
/// The candidates each ICE server gave, their errors explained, and the NAT they show.
pub mod network;
/// Every check's outcome together: the summary to copy and the JSON to download.
pub mod report;
/// The report's schema, checked: what the tests hold reports to.
pub mod schema;
/// A tone on the chosen output, and the person's answer.
pub mod speaker;
/// A data channel as fast as flow control allows, and a video call ramping up.
pub mod throughput;
/// Pass, warning, fail or skipped, with its sentence and figures.
pub mod verdict;

pub use verdict::{Check, Outcome, Verdict};
