//! What every response tells the browser about its use: no type sniffing, no referrer (a room
//! link is the room's only secret), no framing by other sites, and, behind a real certificate,
//! HTTPS from then on.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// A year of HTTPS only. Sent only with a certificate browsers trust: a host remembered as
/// HTTPS-only offers no way past a certificate warning, which a self-signed LAN setup needs.
pub const HSTS: &str = "max-age=31536000";

/// The headers every response gets.
pub fn fixed() -> [(HeaderName, HeaderValue); 4] {
    [
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // The page's own policy is in its `<meta>`, where `frame-ancestors` has no effect.
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ),
    ]
}

/// Adds [`fixed`] to every response, and [`HSTS`] when `hsts`.
pub async fn add(hsts: bool, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in fixed() {
        headers.entry(name).or_insert(value);
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}
