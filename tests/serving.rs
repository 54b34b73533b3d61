//! The built page as the project's server sends it: every file of `dist/` in each encoding a
//! browser may accept (brotli, gzip, none), from the copies `loopback-precompress` made at build
//! time, decoding to the file's own bytes, with the headers a browser and a cache need.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::io::Read;
use support::{dist, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One response: its head's lines, lower-cased names, and its body's bytes.
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` with `Accept-Encoding: accept` (none if empty), over a socket of its own.
async fn get(server: &Server, path: &str, accept: &str) -> Response {
    let addr = server.running.addr;
    let accept = if accept.is_empty() {
        String::new()
    } else {
        format!("Accept-Encoding: {accept}\r\n")
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read");
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8(bytes[..split].to_vec()).expect("a text head");
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// The page's files (not their compressed copies), by name.
fn page_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dist())
        .expect("dist/")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| !loopback_precompress::is_copy(name))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "current_thread")]
async fn every_file_goes_compressed_to_a_browser_that_accepts_it() {
    let server = Server::start(&dist()).await;
    let files = page_files();
    for kind in ["index.html", ".css", "_bg.wasm", "loopback-start-", ".svg"] {
        assert!(
            files.iter().any(|f| f.contains(kind)),
            "{kind} in {files:?}"
        );
    }
    let mut paths: Vec<(String, String)> = files
        .iter()
        .map(|name| (format!("/{name}"), name.clone()))
        .collect();
    // The page as people open it: its address with a room, or none.
    paths.push(("/".into(), "index.html".into()));
    paths.push(("/?room=abc".into(), "index.html".into()));
    let mut total = [0usize; 3];
    for (path, name) in &paths {
        let file = std::fs::read(dist().join(name)).expect("the file");
        // What Chromium and Firefox send, then each encoding alone, then none at all.
        for (accept, encoding) in [
            ("gzip, deflate, br, zstd", Some("br")),
            ("br", Some("br")),
            ("gzip", Some("gzip")),
            ("br;q=0, gzip", Some("gzip")),
            ("identity", None),
            ("", None),
        ] {
            let response = get(&server, path, accept).await;
            let what = format!("{path} with Accept-Encoding {accept:?}");
            assert!(
                response.status.starts_with("HTTP/1.1 200"),
                "{what}: {}",
                response.status
            );
            assert_eq!(response.header("content-encoding"), encoding, "{what}");
            let decoded = match encoding {
                Some("br") => unbrotli(&response.body),
                Some(_) => gunzip(&response.body),
                None => response.body.clone(),
            };
            assert!(decoded == file, "{what}: not the file's bytes");
            assert_eq!(
                response.header("content-length"),
                Some(response.body.len().to_string().as_str()),
                "{what}"
            );
            let vary = response
                .header("vary")
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(vary.contains("accept-encoding"), "{what}: Vary {vary:?}");
            // The type is the file's, whatever the encoding: `application/wasm` above all,
            // which streaming compilation requires.
            let expected_type = match name.rsplit('.').next() {
                Some("wasm") => "application/wasm",
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("html") => "text/html",
                Some("svg") => "image/svg+xml",
                other => panic!("a file of an unknown kind in dist/: {other:?}"),
            };
            let content_type = response.header("content-type").unwrap_or_default();
            assert!(
                content_type.starts_with(expected_type),
                "{what}: {content_type}"
            );
            let cache = response.header("cache-control").unwrap_or_default();
            let kept = if name == "index.html" {
                "no-cache"
            } else {
                "immutable"
            };
            assert!(cache.contains(kept), "{what}: Cache-Control {cache}");
            if path != "/" && path != "/?room=abc" && accept.starts_with("gzip, deflate") {
                total[0] += file.len();
                total[1] += response.body.len();
            }
            if path != "/" && path != "/?room=abc" && accept == "gzip" {
                total[2] += response.body.len();
            }
        }
    }
    println!(
        "dist/, every file once: {} bytes as built, {} brotli, {} gzip",
        total[0], total[1], total[2]
    );
    assert!(
        total[1] * 3 < total[0],
        "brotli takes the page to under a third"
    );
}
