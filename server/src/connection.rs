//! One page's WebSocket: its messages read, checked and acted on, the other peer's messages
//! written to it, and its end, however it comes, taking it out of its room.
//!
//! One task owns the socket and selects over four things: a frame from the page, a message for
//! the page, the ping timer (which also finds an idle page), and the server's shutdown.

use crate::guard::{Idle, RateLimit};
use crate::hub::{Hub, PeerId};
use crate::Limits;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use loopback_signal::{FromServer, Problem, RoomName, ToServer};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};

/// How long a closing connection waits for the page's Close.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(2);

/// What a connection needs from the server.
pub struct Context {
    pub hub: Arc<Hub>,
    pub limits: Limits,
    pub turn: Option<crate::turn::Turn>,
    pub shutdown: watch::Receiver<bool>,
}

/// Runs one connection to its end.
pub async fn run(socket: WebSocket, context: Context) {
    let (id, outbox) = context.hub.connect();
    tracing::debug!(peer = id, "connected");
    let mut connection = Connection {
        socket,
        id,
        room: None,
        context,
    };
    let reason = connection.serve(outbox).await;
    tracing::debug!(peer = id, room = ?connection.room, reason, "disconnected");
    connection
        .context
        .hub
        .disconnect(id, connection.room.as_ref());
}

struct Connection {
    socket: WebSocket,
    id: PeerId,
    room: Option<RoomName>,
    context: Context,
}

impl Connection {
    /// Serves until the connection ends; returns why, for the log.
    async fn serve(&mut self, mut outbox: mpsc::Receiver<FromServer>) -> &'static str {
        let limits = self.context.limits;
        let mut rate = RateLimit::new(limits.burst, limits.per_second, Instant::now());
        let mut idle = Idle::new(limits.idle, Instant::now());
        let mut ping = tokio::time::interval(limits.ping);
        let mut shutdown = self.context.shutdown.clone();
        loop {
            tokio::select! {
                frame = self.socket.recv() => {
                    let message = match frame {
                        None => return "closed without a close frame",
                        Some(Err(e)) => {
                            // Oversized messages end here too: say so, if the socket still can.
                            let too_large = e.to_string().contains("too long")
                                || e.to_string().contains("too big");
                            if too_large {
                                self.close(Problem::TooLarge, close_code::SIZE).await;
                                return "message too large";
                            }
                            return "socket error";
                        }
                        Some(Ok(message)) => message,
                    };
                    idle.heard(Instant::now());
                    match message {
                        Message::Text(text) => {
                            if !rate.take(Instant::now()) {
                                self.close(Problem::TooFast, close_code::POLICY).await;
                                return "too many messages";
                            }
                            if !self.handle(&text).await {
                                return "could not write";
                            }
                        }
                        Message::Binary(_) => {
                            if !self.say(FromServer::error(Problem::BadMessage, Some("binary frames are not messages"))).await {
                                return "could not write";
                            }
                        }
                        Message::Close(_) => return "closed by the page",
                        // Pongs answer our pings; pings are answered by the socket itself.
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                Some(message) = outbox.recv() => {
                    if !self.say(message).await {
                        return "could not write";
                    }
                }
                _ = ping.tick() => {
                    if idle.expired(Instant::now()) {
                        self.close(Problem::Idle, close_code::AWAY).await;
                        return "idle";
                    }
                    if self.socket.send(Message::Ping(Default::default())).await.is_err() {
                        return "could not write";
                    }
                }
                _ = shutdown.changed() => {
                    self.close(Problem::ShuttingDown, close_code::AWAY).await;
                    return "server shutting down";
                }
            }
        }
    }

    /// Acts on one text message; `false` if the socket cannot be written any more.
    async fn handle(&mut self, text: &str) -> bool {
        let message = match serde_json::from_str::<ToServer>(text) {
            Ok(message) => message,
            Err(e) => {
                let detail = e.to_string();
                return self
                    .say(FromServer::error(Problem::BadMessage, Some(&detail)))
                    .await;
            }
        };
        let hub = Arc::clone(&self.context.hub);
        let reply = match (message, &self.room) {
            (ToServer::Join { .. }, Some(_)) => {
                Some(FromServer::error(Problem::AlreadyInRoom, None))
            }
            (ToServer::Join { room }, None) => match hub.join(&room, self.id) {
                Ok(joined) => {
                    tracing::info!(peer = self.id, %room, polite = joined.polite, "joined");
                    self.room = Some(room);
                    let ice_servers = self
                        .context
                        .turn
                        .iter()
                        .map(|turn| turn.ice_server(SystemTime::now()))
                        .collect();
                    if !self
                        .say(FromServer::Joined {
                            polite: joined.polite,
                            ice_servers,
                        })
                        .await
                    {
                        return false;
                    }
                    joined.other.map(|_| FromServer::PeerJoined)
                }
                Err(problem) => {
                    tracing::info!(peer = self.id, %room, ?problem, "join refused");
                    Some(FromServer::error(problem, None))
                }
            },
            (ToServer::Signal { .. } | ToServer::Leave, None) => {
                Some(FromServer::error(Problem::NotInRoom, None))
            }
            (ToServer::Signal { signal }, Some(room)) => hub
                .relay(room, self.id, signal)
                .err()
                .map(|problem| FromServer::error(problem, None)),
            (ToServer::Leave, Some(room)) => {
                tracing::info!(peer = self.id, %room, "left");
                hub.leave(room, self.id);
                self.room = None;
                None
            }
        };
        match reply {
            Some(reply) => self.say(reply).await,
            None => true,
        }
    }

    /// Writes one message; `false` if the socket is gone.
    async fn say(&mut self, message: FromServer) -> bool {
        match serde_json::to_string(&message) {
            Ok(text) => self
                .socket
                .send(Message::Text(Utf8Bytes::from(text)))
                .await
                .is_ok(),
            Err(e) => {
                tracing::error!("a server message did not serialize: {e}");
                true
            }
        }
    }

    /// Says why, then closes with `code`.
    async fn close(&mut self, problem: Problem, code: u16) {
        let _ = self.say(FromServer::error(problem, None)).await;
        // A close frame's reason holds at most 123 bytes.
        let mut reason = problem.to_string();
        while reason.len() > 123 {
            reason.pop();
        }
        let reason = Utf8Bytes::from(reason);
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame { code, reason })))
            .await;
        // The closing handshake: wait a moment for the page's Close before dropping the socket.
        // Dropping it at once may reset the connection, and a reset discards what the page had
        // not read yet, this message and its reason included.
        let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}
