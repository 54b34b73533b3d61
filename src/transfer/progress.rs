//! How far a file has got, how fast it goes and how long is left, in the words the bar shows.

use std::collections::VecDeque;

/// The rate is read over the last two seconds: long enough to be steady, short enough to follow
/// a link that slows down.
const WINDOW_MS: f64 = 2_000.0;

/// Readings of (time in ms, bytes so far).
#[derive(Debug, Default)]
pub struct Progress {
    readings: VecDeque<(f64, u64)>,
    started: Option<f64>,
}

impl Progress {
    pub fn read(&mut self, now: f64, bytes: u64) {
        self.started.get_or_insert(now);
        self.readings.push_back((now, bytes));
        while self
            .readings
            .front()
            .is_some_and(|&(at, _)| now - at > WINDOW_MS && self.readings.len() > 2)
        {
            self.readings.pop_front();
        }
    }

    /// Bits per second over the window, once there is something to measure.
    pub fn rate(&self) -> Option<f64> {
        let (&(t0, b0), &(t1, b1)) = (self.readings.front()?, self.readings.back()?);
        (t1 - t0 >= 200.0).then(|| (b1.saturating_sub(b0) as f64) * 8_000.0 / (t1 - t0))
    }

    /// Bits per second from the first reading to the last: the figure a finished file leaves.
    pub fn average(&self) -> Option<f64> {
        let (t0, &(t1, bytes)) = (self.started?, self.readings.back()?);
        (t1 > t0).then(|| bytes as f64 * 8_000.0 / (t1 - t0))
    }

    /// "12.0 MiB of 64.0 MiB · 85.3 Mbit/s · 3 s left"
    pub fn describe(&self, bytes: u64, size: u64) -> String {
        let mut text = format!("{} of {}", size_text(bytes), size_text(size));
        if let Some(rate) = self.rate() {
            text.push_str(&format!(" · {}", rate_text(rate)));
            if rate > 0.0 && bytes < size {
                let seconds = ((size - bytes) as f64 * 8.0 / rate).ceil();
                text.push_str(&format!(" · {} left", duration_text(seconds)));
            }
        }
        text
    }
}

/// "17 bytes", "512.0 KiB", "64.0 MiB", "1.5 GiB"
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// "850 kbit/s", "85.3 Mbit/s"
pub fn rate_text(bits_per_second: f64) -> String {
    if bits_per_second >= 1e6 {
        format!("{:.1} Mbit/s", bits_per_second / 1e6)
    } else {
        format!("{:.0} kbit/s", bits_per_second / 1e3)
    }
}

/// "3 s", "2 min 5 s", "1 h 2 min"
fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size_text(17), "17 bytes");
        assert_eq!(size_text(512 * 1024), "512.0 KiB");
        assert_eq!(size_text(64 << 20), "64.0 MiB");
        assert_eq!(size_text(3 << 29), "1.5 GiB");
        assert_eq!(rate_text(85_300_000.0), "85.3 Mbit/s");
        assert_eq!(rate_text(850_000.0), "850 kbit/s");
        assert_eq!(duration_text(125.0), "2 min 5 s");
        assert_eq!(duration_text(3720.0), "1 h 2 min");
    }

    #[test]
    fn no_rate_until_there_is_one() {
        let mut progress = Progress::default();
        assert_eq!(progress.describe(0, 1 << 20), "0 bytes of 1.0 MiB");
        progress.read(0.0, 0);
        progress.read(100.0, 1000);
        assert_eq!(progress.rate(), None, "a tenth of a second says little");
    }

    #[test]
    fn rate_and_time_left_follow_the_last_two_seconds() {
        let mut progress = Progress::default();
        // 1 MiB a second for 4 s, then 4 MiB a second.
        for second in 0..=4u64 {
            progress.read(second as f64 * 1000.0, second << 20);
        }
        let slow = progress.rate().unwrap();
        assert!((slow - 8.0 * 1_048_576.0).abs() < 1.0, "{slow}");
        for second in 5..=7u64 {
            progress.read(second as f64 * 1000.0, (4 << 20) + ((second - 4) << 22));
        }
        let fast = progress.rate().unwrap();
        assert!((fast - 32.0 * 1_048_576.0).abs() < 1.0, "{fast}");
        assert_eq!(
            progress.describe(16 << 20, 64 << 20),
            "16.0 MiB of 64.0 MiB · 33.6 Mbit/s · 12 s left"
        );
        // The whole transfer's average: 16 MiB in 7 s.
        let average = progress.average().unwrap();
        assert!(
            (average - (16u64 << 23) as f64 / 7.0).abs() < 1.0,
            "{average}"
        );
    }
}
