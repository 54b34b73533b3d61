//! Properties of browser objects read by name, where web-sys has no binding or only an enum.

use alloc::string::String;
use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// `target[key]`; `undefined` where reading it throws.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[key]` where it is there: neither `undefined` nor `null`.
pub fn present(target: &JsValue, key: &str) -> Option<JsValue> {
    Some(get(target, key)).filter(|v| !v.is_undefined() && !v.is_null())
}

/// A string property; empty where it is absent or not a string.
pub fn string(target: &JsValue, key: &str) -> String {
    get(target, key).as_string().unwrap_or_default()
}

/// A number property, where it is one.
pub fn number(target: &JsValue, key: &str) -> Option<f64> {
    get(target, key).as_f64()
}

/// A method of `target`, where the browser has it.
pub fn method(target: &JsValue, key: &str) -> Option<Function> {
    get(target, key).dyn_into().ok()
}

/// A global constructor's prototype method (`HTMLMediaElement.prototype.setSinkId`), where the
/// browser has it: what feature detection asks.
pub fn prototype_method(constructor: &str, key: &str) -> Option<Function> {
    method(&get(&get(&js_sys::global(), constructor), "prototype"), key)
}
