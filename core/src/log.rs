//! The step log: every WebRTC step as it happens, timed in milliseconds since Start or Call.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use web_sys::{Document, Element};

/// Formats one entry: the time since the log's origin, rounded to the millisecond, then the text.
pub fn entry(ms: f64, text: &str) -> String {
    let ms = if ms.is_finite() && ms > 0.0 {
        // `f64::round` is std's (no_std has no libm). For a positive time this rounds a half up
        // as it does, but for a few halves float error puts on the other side: a millisecond.
        (ms + 0.5) as u64
    } else {
        0
    };
    ["+", &decimal(ms), " ms ", text].concat()
}

/// `n` in decimal, without `core::fmt`: the first module loads before Start works, and
/// formatting machinery is a good part of its bytes.
pub fn decimal(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

/// Milliseconds on the page's monotonic clock.
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// The `<ol>` that shows the steps, with the instant its times count from.
pub struct StepLog {
    list: Element,
    document: Document,
    origin: Cell<f64>,
}

impl StepLog {
    pub fn new(list: Element, document: Document) -> Self {
        Self {
            list,
            document,
            origin: Cell::new(now()),
        }
    }

    /// Empties the log and counts the following steps from now.
    pub fn restart(&self) {
        self.list.set_text_content(None);
        self.origin.set(now());
    }

    /// Counts the following steps from now, keeping what is already shown.
    pub fn reset_clock(&self) {
        self.origin.set(now());
    }

    /// Milliseconds since the origin.
    pub fn elapsed(&self) -> f64 {
        now() - self.origin.get()
    }

    /// Appends a step; returns its time so callers can reuse the figure.
    pub fn step(&self, text: &str) -> f64 {
        let ms = self.elapsed();
        if let Ok(item) = self.document.create_element("li") {
            item.set_text_content(Some(&entry(ms, text)));
            // The log is a record, not a control: failing to show a line must not stop the call.
            let _ = self.list.append_child(&item);
        }
        ms
    }
}

#[cfg(test)]
mod tests {
    use super::entry;

    #[test]
    fn entries_show_whole_milliseconds() {
        assert_eq!(entry(12.4, "offer created"), "+12 ms offer created");
        assert_eq!(entry(12.5, "x"), "+13 ms x");
        assert_eq!(entry(1234.0, "x"), "+1234 ms x");
    }

    #[test]
    fn decimals_match_the_standard_formatting() {
        for n in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            assert_eq!(super::decimal(n), n.to_string());
        }
    }

    #[test]
    fn clock_oddities_show_zero_not_garbage() {
        assert_eq!(entry(-3.0, "x"), "+0 ms x");
        assert_eq!(entry(f64::NAN, "x"), "+0 ms x");
    }
}
