//! How the page's files are served: how long a browser may keep each one, and in which encoding.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Files named by their content never change under that name: a browser keeps them for a year
/// and does not even ask again, so a repeat visit loads them from its cache at once.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (the page itself above all, which names the others) is asked for again on
/// every load, so a new build is seen at once; an unchanged file costs a 304.
pub const REVALIDATE: &str = "no-cache";

/// The `Cache-Control` for a request's path.
pub fn cache_control(path: &str) -> &'static str {
    if content_named(path.rsplit('/').next().unwrap_or_default()) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// Whether a file name carries the content hash trunk and `scripts/post-build` give it: a 64-bit
/// hash in lowercase hex after a `-`, before the extension or a `_bg` suffix
/// (`style-2bab40d47738c1da.css`, `loopback-rtc-1bf24dc7018ce8e8_bg.wasm`). `scripts/post-build`
/// writes 16 digits; trunk writes its hash unpadded, so one name in 16 has 15 digits, one in 256
/// has 14. Fewer than 12 (one in 65,536) count as no hash: such a file is only asked for again.
fn content_named(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(base, hash)| {
        !base.is_empty()
            && (12..=16).contains(&hash.len())
            && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Sets the `Cache-Control` of every response, unless it has one already. Only a file that is
/// there is kept for good: a 404 for a name the page will soon have (a deploy half done) must not
/// outlive the deploy in the browser's cache.
pub async fn cache_policy(request: Request, next: Next) -> Response {
    let policy = cache_control(request.uri().path());
    let mut response = next.run(request).await;
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    let policy = if found { policy } else { REVALIDATE };
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(policy));
    response
}

/// Says on every answer for a file that it depends on the request's `Accept-Encoding`: the same
/// address is sent as brotli, gzip or as it is (the copies `loopback-precompress` made at build
/// time), so a cache between the server and the browser must not hand one browser's encoding to
/// another. On every answer, the uncompressed ones too: a cache keeps what it got first.
pub async fn vary_by_encoding(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let named = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"));
    if !named {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_named_by_their_content_are_kept() {
        for path in [
            "/style-2bab40d47738c1da.css",
            "/loopback-start-68a5b12ff4c0d612.js",
            "/loopback-rtc-1bf24dc7018ce8e8.js",
            "/loopback-rtc-1bf24dc7018ce8e8_bg.wasm",
            "/sub/favicon-4dff5b414274330c.svg",
            // trunk's unpadded hashes
            "/style-bab40d47738c1da.css",
            "/favicon-ab40d47738c1da.svg",
        ] {
            assert_eq!(cache_control(path), IMMUTABLE, "{path}");
        }
    }

    #[test]
    fn the_page_and_unhashed_files_are_asked_for_again() {
        for path in [
            "/",
            "/index.html",
            "/?room=abc",
            "/app.js",
            "/style.css",
            "/loopback-rtc.js",
            // Not a hash: too short, too long, upper case, not hex, nothing before it.
            "/style-47738c1da.css",
            "/app-1.js",
            "/style-2bab40d47738c1da0.css",
            "/style-2BAB40D47738C1DA.css",
            "/style-2bab40d47738c1dg.css",
            "/-2bab40d47738c1da.css",
            "/2bab40d47738c1da.css",
        ] {
            assert_eq!(cache_control(path), REVALIDATE, "{path}");
        }
    }
}
