//! The hub: every room and every connected peer's outbox, behind one lock, so that joining,
//! relaying and leaving see the same rooms.

use loopback_signal::{FromServer, JoinError, Joined, Problem, RoomName, Rooms, Signal};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::{mpsc, Notify};

/// A connection's identity for as long as it lasts.
pub type PeerId = u64;

/// How many messages may wait for one peer's socket; a peer that lets more pile up is not reading
/// and loses the excess (and is soon closed as idle).
pub const OUTBOX: usize = 256;

#[derive(Default)]
pub struct Hub {
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    /// Woken whenever a peer disconnects, for [`Hub::all_gone`].
    gone: Notify,
}

#[derive(Default)]
struct Inner {
    rooms: Rooms<PeerId>,
    outboxes: HashMap<PeerId, mpsc::Sender<FromServer>>,
}

impl Inner {
    fn tell(&self, peer: PeerId, message: FromServer) {
        if let Some(outbox) = self.outboxes.get(&peer) {
            if outbox.try_send(message).is_err() {
                tracing::warn!(peer, "outbox full or closed: message dropped");
            }
        }
    }
}

impl Hub {
    /// A new peer and the receiving end of its outbox.
    pub fn connect(&self) -> (PeerId, mpsc::Receiver<FromServer>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(OUTBOX);
        self.lock().outboxes.insert(id, tx);
        (id, rx)
    }

    /// The peer is gone: it leaves its room (the other peer is told) and its outbox goes.
    pub fn disconnect(&self, peer: PeerId, room: Option<&RoomName>) {
        let mut inner = self.lock();
        if let Some(room) = room {
            if let Some(other) = inner.rooms.leave(room, peer) {
                inner.tell(other, FromServer::PeerLeft);
            }
        }
        inner.outboxes.remove(&peer);
        drop(inner);
        self.gone.notify_waiters();
    }

    /// Returns once no peer is connected: after a shutdown, when every connection has closed.
    pub async fn all_gone(&self) {
        loop {
            let notified = self.gone.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a disconnect in between is not missed.
            notified.as_mut().enable();
            if self.peers() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Puts `peer` in `room`; the peer already there is told that someone joined.
    pub fn join(&self, room: &RoomName, peer: PeerId) -> Result<Joined<PeerId>, Problem> {
        let mut inner = self.lock();
        let joined = inner.rooms.join(room, peer).map_err(|e| match e {
            JoinError::Full => Problem::RoomFull,
            JoinError::AlreadyInside => Problem::AlreadyInRoom,
        })?;
        if let Some(other) = joined.other {
            inner.tell(other, FromServer::PeerJoined);
        }
        Ok(joined)
    }

    /// Passes `signal` to the other peer in `room`.
    pub fn relay(&self, room: &RoomName, from: PeerId, signal: Signal) -> Result<(), Problem> {
        let inner = self.lock();
        let other = inner.rooms.other(room, from).ok_or(Problem::NoPeer)?;
        inner.tell(other, FromServer::Signal { signal });
        Ok(())
    }

    /// Takes `peer` out of `room`; the other peer is told.
    pub fn leave(&self, room: &RoomName, peer: PeerId) {
        let mut inner = self.lock();
        if let Some(other) = inner.rooms.leave(room, peer) {
            inner.tell(other, FromServer::PeerLeft);
        }
    }

    /// Rooms with someone in them.
    pub fn rooms(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Peers connected.
    pub fn peers(&self) -> usize {
        self.lock().outboxes.len()
    }

    /// No code panics while holding the lock, but if some day it did, the rooms are still
    /// consistent (every change is one call on `Rooms`): keep serving.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
