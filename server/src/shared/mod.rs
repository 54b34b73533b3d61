//! Rooms shared by several server instances through Redis: any instance serves any room, by
//! rules that hold whatever the instances do at once.
//!
//! Each step that reads a room and changes it is one Lua script ([`rooms`]), atomic in Redis: two
//! instances joining the last free seat at once get one seat and one "full". A seat is a key with
//! an expiry that its instance keeps renewing; an instance that dies stops renewing, its seats
//! expire, and the next join or sweep of the room takes them out and tells those left. Roles come
//! from ranks as in one server's memory ([`loopback_signal::polite`]), so the two ends of every
//! pair read opposite roles from the same two numbers.
//!
//! What a page is to be told waits in its seat's inbox, a Redis Stream (bounded, expiring), with
//! pub/sub only as the wake-up of the instance holding the seat ([`hub`]). Signals are numbered
//! in the inbox, so a page whose socket moves to another instance resumes from the count it
//! has; a step asked again after Redis's connection dropped is recognized, never taken twice. A
//! room's keys share the hash tag `{room}`; the renewal keeps the seats of many rooms in one
//! script, so the instances need a standalone Redis (or a primary with replicas), not a Cluster.

/// One instance's side: its connections, a reader per seat, wake-ups and renewals.
pub mod hub;
/// The rooms in Redis, a Lua script a step.
pub mod rooms;

pub use hub::SharedHub;
pub use rooms::{Joined, Member, Person, SharedRooms, StoreError, Swept};
