//! A page as the server's socket tests play it: a WebSocket that sends messages, and candidates
//! told apart by a number.
// Each test binary uses the part it needs.
#![allow(dead_code)]

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// A candidate signal, told apart by `n`.
pub fn candidate(n: usize) -> Value {
    json!({"kind": "candidate", "candidate": format!("candidate:{n} 1 udp 2122260223 192.0.2.1 {} typ host", 50000 + n)})
}

/// Sends candidate `n` to peer `to`.
pub async fn signal(socket: &mut Socket, to: u64, n: usize) {
    send(
        socket,
        json!({"type": "signal", "to": to, "signal": candidate(n)}),
    )
    .await;
}
