//! Waiting on the browser: every promise raced against a deadline, since some never settle
//! (Chromium's, once their peer connection is closed; a TURN server that never answers).

use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Why a step did not give its value.
pub enum Waited {
    /// The browser rejected it, with this error.
    Refused(JsValue),
    /// It did not settle in time.
    TimedOut,
}

/// The promise's value, if it settles within `ms`.
pub async fn within(promise: js_sys::Promise, ms: u32) -> Result<JsValue, Waited> {
    let settled = JsFuture::from(promise);
    let late = TimeoutFuture::new(ms);
    futures_util::pin_mut!(settled, late);
    match select(settled, late).await {
        Either::Left((Ok(value), _)) => Ok(value),
        Either::Left((Err(e), _)) => Err(Waited::Refused(e)),
        Either::Right(_) => Err(Waited::TimedOut),
    }
}

pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Milliseconds since the page's time origin.
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}

/// A `DOMException`'s name and message (or the value as text).
pub fn error_name(e: &JsValue) -> (String, String) {
    let get = |key: &str| {
        js_sys::Reflect::get(e, &key.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let name = get("name");
    if name.is_empty() {
        return (String::new(), format!("{e:?}"));
    }
    (name, get("message"))
}

/// A property read by name: where web-sys has no binding, or one that some browsers lack.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

pub fn number(target: &JsValue, key: &str) -> Option<f64> {
    get(target, key).as_f64()
}

pub fn string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string()
}
