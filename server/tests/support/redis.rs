//! A `redis-server` of a test's own on a free port of 127.0.0.1 (`scripts/dev test` installs
//! Debian's; nothing runs as a service), stopped when dropped. Shared by the server's tests and
//! the page's end-to-end tests (`#[path]`).
// Each test binary uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    pub port: u16,
    /// Where it keeps an append-only file of every write, if it persists.
    dir: Option<PathBuf>,
    child: Option<Child>,
}

impl Redis {
    /// One that keeps nothing on disk.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// One that writes every change to an append-only file in `dir` before answering, so that
    /// stopped and started again it has its rooms.
    pub fn start_persistent(dir: &Path) -> Self {
        Self::launch(Some(dir.to_path_buf()))
    }

    fn launch(dir: Option<PathBuf>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.run();
        redis
    }

    /// Starts it (again).
    pub fn run(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--protected-mode", "yes"]);
        match &self.dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server, which `scripts/dev test` installs (Debian's redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it at once, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A plain connection for what a test does to Redis behind the servers' backs.
    pub fn admin(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("a connection to the test's redis-server")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
