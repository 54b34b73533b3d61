//! loopback-core: what both of the page's modules are made of. The first module (`start/`), all
//! a visitor downloads before Start works, and the whole page (`loopback-rtc`) take the same
//! state machine, the same errors in the same words and the same stage from here.
//!
//! `no_std`: the first module is, to stay small (README, "Size").
#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// Which button may act now, and what a click does: the plain-Rust state machine.
pub mod controls;
/// Where the camera and microphone come from, and a stream's tracks in words.
pub mod devices;
/// What can go wrong, in words shown to the user.
pub mod error;
/// Properties of browser objects read by name.
pub mod js;
/// The timed step log.
pub mod log;
/// What the page's query string asks for, unchecked: a room or not.
pub mod query;
/// What the tutorial needs of the page: buttons, videos, status line, step log.
pub mod stage;
/// What the page says as the tutorial goes: its status lines and the words for a track.
pub mod words;

pub use error::Error;

/// The User Timing mark of the moment Start works.
pub const START_USABLE: &str = "loopback:start-usable";
