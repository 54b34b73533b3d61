//! Call statistics in plain Rust: a typed view of the `getStats()` entries the page uses, the rates between two reports, and the 60-second history the graphs draw.
//!
//! Browsers differ in which fields they fill; every figure is an `Option` and shows as "–" when
//! missing. Rates come from counter deltas over the entries' own timestamps, and a counter that
//! went backwards (a reset) gives no rate rather than a negative one.

use std::collections::VecDeque;

/// What the page shows for a figure the browser did not give.
pub const MISSING: &str = "–";
/// Seconds of history the graphs keep (one sample a second).
pub const HISTORY: usize = 60;

/// One field of a stats entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Text(String),
    Flag(bool),
}

/// One entry of an `RTCStatsReport` (an `inbound-rtp`, a `candidate-pair`…), field by field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    fields: Vec<(String, Value)>,
}

impl Entry {
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.fields.push((key.into(), value));
    }

    /// Builder form of [`Entry::insert`].
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.insert(key, value);
        self
    }

    /// Every field, in the order the browser gave them.
    pub fn fields(&self) -> &[(String, Value)] {
        &self.fields
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn num(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Num(n) if n.is_finite() => Some(*n),
            _ => None,
        }
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Flag(b) => Some(*b),
            _ => None,
        }
    }

    fn is(&self, kind: &str) -> bool {
        self.text("type") == Some(kind)
    }
}

/// One `getStats()` result of one peer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    entries: Vec<Entry>,
}

impl Report {
    pub fn new(entries: Vec<Entry>) -> Self {
        Self { entries }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn by_id(&self, id: Option<&str>) -> Option<&Entry> {
        let id = id?;
        self.entries.iter().find(|e| e.text("id") == Some(id))
    }

    /// The RTP stream of `kind` (`"inbound-rtp"`…) for `media` (`"video"`/`"audio"`); with several
    /// (simulcast layers), the one that carried the most bytes.
    fn rtp(&self, kind: &str, media: &str) -> Option<&Entry> {
        let bytes = |e: &Entry| {
            e.num("bytesSent")
                .or_else(|| e.num("bytesReceived"))
                .unwrap_or(0.0)
        };
        self.entries
            .iter()
            .filter(|e| {
                e.is(kind) && (e.text("kind") == Some(media) || e.text("mediaType") == Some(media))
            })
            .max_by(|a, b| bytes(a).total_cmp(&bytes(b)))
    }

    /// "video/VP8, 90 kHz" from the codec entry an RTP stream points at.
    fn codec(&self, rtp: Option<&Entry>) -> Option<String> {
        let codec = self.by_id(rtp?.text("codecId"))?;
        let mime = codec.text("mimeType")?;
        Some(match codec.num("clockRate") {
            Some(rate) if rate >= 1000.0 => format!("{mime}, {} kHz", fixed(rate / 1000.0, 0)),
            Some(rate) => format!("{mime}, {} Hz", fixed(rate, 0)),
            None => mime.to_owned(),
        })
    }

    /// The candidate pair in use: the transport's `selectedCandidatePairId` (Chrome, Safari),
    /// else a pair flagged `selected` (Firefox), else a nominated pair that succeeded.
    fn selected_pair(&self) -> Option<&Entry> {
        let pairs = || self.entries.iter().filter(|e| e.is("candidate-pair"));
        self.entries
            .iter()
            .filter(|e| e.is("transport"))
            .find_map(|t| self.by_id(t.text("selectedCandidatePairId")))
            .or_else(|| pairs().find(|p| p.flag("selected") == Some(true)))
            .or_else(|| {
                pairs().find(|p| {
                    p.flag("nominated") == Some(true) && p.text("state") == Some("succeeded")
                })
            })
    }

    /// "host udp 192.0.2.2:42381" for the candidate `id` points at.
    fn candidate(&self, id: Option<&str>) -> Option<String> {
        let c = self.by_id(id)?;
        let address = c.text("address").or_else(|| c.text("ip"))?;
        let mut parts = Vec::new();
        parts.extend(c.text("candidateType"));
        parts.extend(c.text("protocol"));
        let endpoint = match c.num("port").map(|p| p as u32) {
            Some(port) if address.contains(':') => format!("[{address}]:{port}"),
            Some(port) => format!("{address}:{port}"),
            None => address.to_owned(),
        };
        Some(format!("{} {endpoint}", parts.join(" ")).trim().to_owned())
    }

    fn dtls_state(&self) -> Option<String> {
        self.entries
            .iter()
            .filter(|e| e.is("transport"))
            .find_map(|t| t.text("dtlsState"))
            .map(str::to_owned)
    }
}

/// kbit/s of `counter` (a byte count) between two readings of the same RTP stream; `None` when
/// there is no earlier reading, the stream changed, time did not advance, or the counter reset.
pub fn kbps(before: Option<&Entry>, now: Option<&Entry>, counter: &str) -> Option<f64> {
    per_second(before, now, counter).map(|bytes| bytes * 8.0 / 1000.0)
}

/// The per-second rate of a counter between two readings of the same stream (see [`kbps`]).
pub fn per_second(before: Option<&Entry>, now: Option<&Entry>, counter: &str) -> Option<f64> {
    let (before, now) = (before?, now?);
    if before.text("id") != now.text("id") {
        return None;
    }
    let seconds = (now.num("timestamp")? - before.num("timestamp")?) / 1000.0;
    let delta = now.num(counter)? - before.num(counter)?;
    (seconds > 0.0 && delta >= 0.0).then(|| delta / seconds)
}

/// The share of packets lost between two readings of the same inbound stream, in %: lost over
/// lost and received. `None` without an earlier reading of it or when nothing was due; a count of
/// lost packets that went down (late packets counted after all) is no loss.
pub fn loss_percent(before: Option<&Entry>, now: Option<&Entry>) -> Option<f64> {
    let (before, now) = (before?, now?);
    if before.text("id") != now.text("id") {
        return None;
    }
    let delta = |key| Some(now.num(key)? - before.num(key)?);
    let lost = delta("packetsLost")?.max(0.0);
    let received = delta("packetsReceived")?.max(0.0);
    (lost + received > 0.0).then(|| lost * 100.0 / (lost + received))
}

/// Everything the panel shows, from one reading of both peers (and the one before, for rates).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub video_codec: Option<String>,
    pub video_sent_size: Option<(u32, u32)>,
    pub video_received_size: Option<(u32, u32)>,
    pub video_fps_sent: Option<f64>,
    pub video_fps_decoded: Option<f64>,
    pub video_kbps_sent: Option<f64>,
    pub video_kbps_received: Option<f64>,
    pub video_packets_lost: Option<f64>,
    /// The share of video packets lost since the last reading, in %.
    pub video_loss_percent: Option<f64>,
    pub video_jitter_ms: Option<f64>,
    pub video_frames_dropped: Option<f64>,
    /// NACKs the receiving end sent for lost video packets.
    pub video_nacks_sent: Option<f64>,
    /// Video packets the sending end sent again, answering NACKs.
    pub video_retransmitted: Option<f64>,
    /// Why the sender holds the video back (`bandwidth`, `cpu`, `none`), where the browser says.
    pub video_limitation: Option<String>,
    pub audio_codec: Option<String>,
    pub audio_kbps_sent: Option<f64>,
    pub audio_kbps_received: Option<f64>,
    pub audio_packets_lost: Option<f64>,
    pub audio_jitter_ms: Option<f64>,
    pub audio_level: Option<f64>,
    pub local_candidate: Option<String>,
    pub remote_candidate: Option<String>,
    pub rtt_ms: Option<f64>,
    pub dtls_state: Option<String>,
}

/// Turns successive readings into summaries, remembering the last reading for the rates.
#[derive(Debug, Default)]
pub struct Stats {
    last: Option<(Report, Report)>,
}

impl Stats {
    /// `local` is the sending peer's report, `remote` the receiving peer's.
    pub fn update(&mut self, local: Report, remote: Report) -> Summary {
        let (before_local, before_remote) = match &self.last {
            Some((l, r)) => (Some(l), Some(r)),
            None => (None, None),
        };
        let was_video_out = before_local.and_then(|r| r.rtp("outbound-rtp", "video"));
        let was_video_in = before_remote.and_then(|r| r.rtp("inbound-rtp", "video"));
        let was_audio_out = before_local.and_then(|r| r.rtp("outbound-rtp", "audio"));
        let was_audio_in = before_remote.and_then(|r| r.rtp("inbound-rtp", "audio"));
        let video_out = local.rtp("outbound-rtp", "video");
        let video_in = remote.rtp("inbound-rtp", "video");
        let audio_out = local.rtp("outbound-rtp", "audio");
        let audio_in = remote.rtp("inbound-rtp", "audio");
        let size = |e: Option<&Entry>| {
            let e = e?;
            Some((e.num("frameWidth")? as u32, e.num("frameHeight")? as u32))
        };
        let pair = local.selected_pair();
        let summary = Summary {
            video_codec: local.codec(video_out).or_else(|| remote.codec(video_in)),
            video_sent_size: size(video_out),
            video_received_size: size(video_in),
            video_fps_sent: video_out
                .and_then(|e| e.num("framesPerSecond"))
                .or_else(|| per_second(was_video_out, video_out, "framesEncoded")),
            video_fps_decoded: video_in
                .and_then(|e| e.num("framesPerSecond"))
                .or_else(|| per_second(was_video_in, video_in, "framesDecoded")),
            video_kbps_sent: kbps(was_video_out, video_out, "bytesSent"),
            video_kbps_received: kbps(was_video_in, video_in, "bytesReceived"),
            video_packets_lost: video_in.and_then(|e| e.num("packetsLost")),
            video_loss_percent: loss_percent(was_video_in, video_in),
            video_jitter_ms: video_in.and_then(|e| e.num("jitter")).map(|s| s * 1000.0),
            video_frames_dropped: video_in.and_then(|e| e.num("framesDropped")),
            video_nacks_sent: video_in.and_then(|e| e.num("nackCount")),
            video_retransmitted: video_out.and_then(|e| e.num("retransmittedPacketsSent")),
            video_limitation: video_out
                .and_then(|e| e.text("qualityLimitationReason"))
                .map(str::to_owned),
            audio_codec: local.codec(audio_out).or_else(|| remote.codec(audio_in)),
            audio_kbps_sent: kbps(was_audio_out, audio_out, "bytesSent"),
            audio_kbps_received: kbps(was_audio_in, audio_in, "bytesReceived"),
            audio_packets_lost: audio_in.and_then(|e| e.num("packetsLost")),
            audio_jitter_ms: audio_in.and_then(|e| e.num("jitter")).map(|s| s * 1000.0),
            // The sender's microphone level; the receiver's is 0 until audio plays out.
            audio_level: local
                .entries
                .iter()
                .find(|e| e.is("media-source") && e.text("kind") == Some("audio"))
                .and_then(|e| e.num("audioLevel"))
                .or_else(|| audio_in.and_then(|e| e.num("audioLevel"))),
            local_candidate: pair.and_then(|p| local.candidate(p.text("localCandidateId"))),
            remote_candidate: pair.and_then(|p| local.candidate(p.text("remoteCandidateId"))),
            rtt_ms: pair
                .and_then(|p| p.num("currentRoundTripTime"))
                .map(|s| s * 1000.0),
            dtls_state: local.dtls_state(),
        };
        self.last = Some((local, remote));
        summary
    }
}

impl Summary {
    /// The panel's figures, keyed by the `data-stat` attribute of the element that shows each.
    pub fn rows(&self) -> [(&'static str, String); 18] {
        [
            ("video-codec", text(&self.video_codec)),
            (
                "video-size",
                pair(
                    size(self.video_sent_size),
                    size(self.video_received_size),
                    "",
                ),
            ),
            (
                "video-fps",
                pair(
                    num(self.video_fps_sent, 0),
                    num(self.video_fps_decoded, 0),
                    "",
                ),
            ),
            (
                "video-bitrate",
                pair(
                    num(self.video_kbps_sent, 0),
                    num(self.video_kbps_received, 0),
                    " kbit/s",
                ),
            ),
            ("video-lost", num(self.video_packets_lost, 0)),
            ("video-jitter", unit(self.video_jitter_ms, 1, " ms")),
            ("video-dropped", num(self.video_frames_dropped, 0)),
            (
                "video-repair",
                pair(
                    num(self.video_nacks_sent, 0),
                    num(self.video_retransmitted, 0),
                    "",
                ),
            ),
            ("video-limit", text(&self.video_limitation)),
            ("audio-codec", text(&self.audio_codec)),
            (
                "audio-bitrate",
                pair(
                    num(self.audio_kbps_sent, 1),
                    num(self.audio_kbps_received, 1),
                    " kbit/s",
                ),
            ),
            ("audio-lost", num(self.audio_packets_lost, 0)),
            ("audio-jitter", unit(self.audio_jitter_ms, 1, " ms")),
            ("audio-level", num(self.audio_level, 3)),
            ("pair-local", text(&self.local_candidate)),
            ("pair-remote", text(&self.remote_candidate)),
            ("rtt", unit(self.rtt_ms, 1, " ms")),
            ("dtls", text(&self.dtls_state)),
        ]
    }
}

/// The columns of a person's row in a group call's table, keyed by `data-col`.
pub const PERSON_COLUMNS: [&str; 5] = ["bitrate", "fps", "loss", "rtt", "path"];

impl Summary {
    /// One person's row in a group call's table: video bitrate sent / received, frames decoded
    /// per second, the share of packets lost, the round trip and the path, in
    /// [`PERSON_COLUMNS`]' order.
    pub fn person(&self) -> [String; 5] {
        [
            pair(
                num(self.video_kbps_sent, 0),
                num(self.video_kbps_received, 0),
                " kbit/s",
            ),
            num(self.video_fps_decoded, 0),
            unit(self.video_loss_percent, 1, " %"),
            unit(self.rtt_ms, 0, " ms"),
            self.path(),
        ]
    }

    /// How the media travels: "direct" or "relayed" (through a TURN server), then the two
    /// candidates' types, local first ("relayed: relay ↔ srflx").
    pub fn path(&self) -> String {
        let kind = |c: &Option<String>| {
            c.as_deref()
                .and_then(|c| c.split_whitespace().next())
                .map(str::to_owned)
        };
        match (kind(&self.local_candidate), kind(&self.remote_candidate)) {
            (Some(local), Some(remote)) => {
                let how = if local == "relay" || remote == "relay" {
                    "relayed"
                } else {
                    "direct"
                };
                format!("{how}: {local} ↔ {remote}")
            }
            _ => MISSING.to_owned(),
        }
    }
}

/// The moments of a call, in ms since Call, that stats do not carry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    pub setup_ms: Option<f64>,
    pub ice_connected_ms: Option<f64>,
    pub dtls_connected_ms: Option<f64>,
}

impl Timings {
    pub fn rows(&self) -> [(&'static str, String); 3] {
        [
            ("timing-setup", unit(self.setup_ms, 0, " ms")),
            ("timing-ice", unit(self.ice_connected_ms, 0, " ms")),
            ("timing-dtls", unit(self.dtls_connected_ms, 0, " ms")),
        ]
    }
}

/// Every `data-stat` key the panel fills.
pub fn keys() -> impl Iterator<Item = &'static str> {
    let stats = Summary::default().rows().map(|(k, _)| k);
    let timings = Timings::default().rows().map(|(k, _)| k);
    stats.into_iter().chain(timings)
}

/// `value` rounded to `decimals` places, written with integer formatting only: float formatting
/// would add its own ~18 KB to the wasm.
pub fn fixed(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return MISSING.to_owned();
    }
    let scale = 10u64.pow(decimals as u32);
    let scaled = (value.abs() * scale as f64).round() as u64;
    let sign = if value < 0.0 && scaled != 0 { "-" } else { "" };
    let (whole, fraction) = (scaled / scale, scaled % scale);
    if decimals == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction:0decimals$}")
    }
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| MISSING.to_owned(), |v| fixed(v, decimals))
}

fn unit(value: Option<f64>, decimals: usize, unit: &str) -> String {
    value.map_or_else(|| MISSING.to_owned(), |v| fixed(v, decimals) + unit)
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| MISSING.to_owned())
}

fn size(value: Option<(u32, u32)>) -> String {
    value.map_or_else(|| MISSING.to_owned(), |(w, h)| format!("{w}×{h}"))
}

/// "sent / received", with the unit once, or a single "–" when both are missing.
fn pair(sent: String, received: String, unit: &str) -> String {
    if sent == MISSING && received == MISSING {
        MISSING.to_owned()
    } else {
        format!("{sent} / {received}{unit}")
    }
}

/// The last [`HISTORY`] values of one figure, oldest first; `None` where it was missing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    values: VecDeque<Option<f64>>,
}

impl Series {
    pub fn push(&mut self, value: Option<f64>) {
        if self.values.len() == HISTORY {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    pub fn values(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.values.iter().copied()
    }

    pub fn max(&self) -> Option<f64> {
        self.values.iter().flatten().copied().reduce(f64::max)
    }
}

/// What the three graphs draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub kbps_sent: Series,
    pub kbps_received: Series,
    pub fps_sent: Series,
    pub fps_decoded: Series,
    pub rtt_ms: Series,
}

impl History {
    pub fn push(&mut self, s: &Summary) {
        self.kbps_sent.push(s.video_kbps_sent);
        self.kbps_received.push(s.video_kbps_received);
        self.fps_sent.push(s.video_fps_sent);
        self.fps_decoded.push(s.video_fps_decoded);
        self.rtt_ms.push(s.rtt_ms);
    }
}

/// The top of a graph's y axis: the smallest 1, 2 or 5 × 10ⁿ at or above `max` (at least 1), so
/// the axis labels stay round.
pub fn axis_top(max: f64) -> f64 {
    if !max.is_finite() || max <= 1.0 {
        return 1.0;
    }
    // A loop rather than log10/powf, which would pull libm into the wasm.
    let mut magnitude = 1.0;
    while magnitude * 10.0 <= max {
        magnitude *= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(10.0 * magnitude)
}

/// An axis label: whole numbers without decimals, small ones with one.
pub fn axis_label(value: f64) -> String {
    if value.fract() == 0.0 {
        fixed(value, 0)
    } else {
        fixed(value, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fields: &[(&str, Value)]) -> Entry {
        fields
            .iter()
            .fold(Entry::default(), |e, (k, v)| e.with(k, v.clone()))
    }

    fn n(v: f64) -> Value {
        Value::Num(v)
    }

    fn t(v: &str) -> Value {
        Value::Text(v.into())
    }

    fn video_in(id: &str, at: f64, bytes: f64) -> Entry {
        entry(&[
            ("id", t(id)),
            ("type", t("inbound-rtp")),
            ("kind", t("video")),
            ("timestamp", n(at)),
            ("bytesReceived", n(bytes)),
        ])
    }

    #[test]
    fn bitrate_comes_from_byte_deltas_over_the_entries_own_timestamps() {
        let before = video_in("v", 1_000.0, 10_000.0);
        let now = video_in("v", 3_000.0, 60_000.0);
        // 50 000 bytes in 2 s = 200 kbit/s.
        assert_eq!(
            kbps(Some(&before), Some(&now), "bytesReceived"),
            Some(200.0)
        );
    }

    #[test]
    fn no_rate_without_an_earlier_reading_or_after_a_counter_reset() {
        let now = video_in("v", 3_000.0, 60_000.0);
        assert_eq!(kbps(None, Some(&now), "bytesReceived"), None);
        let reset = video_in("v", 4_000.0, 1_000.0);
        assert_eq!(kbps(Some(&now), Some(&reset), "bytesReceived"), None);
        let other_stream = video_in("w", 4_000.0, 90_000.0);
        assert_eq!(kbps(Some(&now), Some(&other_stream), "bytesReceived"), None);
        let same_time = video_in("v", 3_000.0, 90_000.0);
        assert_eq!(kbps(Some(&now), Some(&same_time), "bytesReceived"), None);
    }

    #[test]
    fn a_report_without_anything_useful_shows_dashes_not_a_panic() {
        let mut stats = Stats::default();
        let odd = Report::new(vec![
            entry(&[("type", t("inbound-rtp")), ("kind", t("video"))]),
            entry(&[
                ("type", t("transport")),
                ("selectedCandidatePairId", t("nope")),
            ]),
            entry(&[("type", t("codec")), ("id", Value::Flag(true))]),
            entry(&[
                ("type", t("outbound-rtp")),
                ("kind", t("video")),
                ("bytesSent", t("x")),
            ]),
            entry(&[
                ("type", t("outbound-rtp")),
                ("kind", t("video")),
                ("frameWidth", n(f64::NAN)),
            ]),
        ]);
        let summary = stats.update(odd.clone(), odd.clone());
        let again = stats.update(odd, Report::default());
        for s in [summary, again] {
            for (key, value) in s.rows() {
                assert_eq!(value, MISSING, "{key}");
            }
        }
    }

    #[test]
    fn the_selected_pair_is_found_the_firefox_way_too() {
        let report = Report::new(vec![
            entry(&[
                ("id", t("p1")),
                ("type", t("candidate-pair")),
                ("selected", Value::Flag(true)),
                ("localCandidateId", t("l")),
                ("remoteCandidateId", t("r")),
                ("currentRoundTripTime", n(0.004)),
            ]),
            entry(&[
                ("id", t("l")),
                ("type", t("local-candidate")),
                ("candidateType", t("host")),
                ("protocol", t("udp")),
                ("address", t("fe80::1")),
                ("port", n(5000.0)),
            ]),
            // No address: Firefox hides it in private browsing.
            entry(&[("id", t("r")), ("type", t("remote-candidate"))]),
        ]);
        let s = Stats::default().update(report, Report::default());
        assert_eq!(
            s.local_candidate.as_deref(),
            Some("host udp [fe80::1]:5000")
        );
        assert_eq!(s.remote_candidate, None);
        assert_eq!(s.rtt_ms, Some(4.0));
        assert_eq!(s.dtls_state, None);
    }

    #[test]
    fn simulcast_layers_show_the_busiest_one() {
        let layer = |id: &str, bytes: f64, w: f64| {
            entry(&[
                ("id", t(id)),
                ("type", t("outbound-rtp")),
                ("kind", t("video")),
                ("bytesSent", n(bytes)),
                ("frameWidth", n(w)),
                ("frameHeight", n(w / 2.0)),
            ])
        };
        let report = Report::new(vec![layer("a", 10.0, 320.0), layer("b", 900.0, 1280.0)]);
        let s = Stats::default().update(report, Report::default());
        assert_eq!(s.video_sent_size, Some((1280, 640)));
    }

    #[test]
    fn history_keeps_the_last_sixty_seconds() {
        let mut series = Series::default();
        for i in 0..75 {
            series.push(Some(i as f64));
        }
        series.push(None);
        let values: Vec<_> = series.values().collect();
        assert_eq!(values.len(), HISTORY);
        assert_eq!(values[0], Some(16.0));
        assert_eq!(values[HISTORY - 1], None);
        assert_eq!(series.max(), Some(74.0));
        assert_eq!(Series::default().max(), None);
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_top(0.0), 1.0);
        assert_eq!(axis_top(f64::NAN), 1.0);
        assert_eq!(axis_top(1.5), 2.0);
        assert_eq!(axis_top(2.0), 2.0);
        assert_eq!(axis_top(23.0), 50.0);
        assert_eq!(axis_top(30.0), 50.0);
        assert_eq!(axis_top(51.0), 100.0);
        assert_eq!(axis_top(1234.0), 2000.0);
        assert_eq!(axis_top(10.0), 10.0);
        assert_eq!(axis_top(100.5), 200.0);
        assert_eq!(axis_label(1000.0), "1000");
        assert_eq!(axis_label(0.5), "0.5");
    }

    #[test]
    fn rows_cover_every_key_once() {
        let keys: Vec<_> = keys().collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(keys.len(), unique.len());
        assert_eq!(keys.len(), 21);
    }

    #[test]
    fn fixed_point_text_rounds_like_a_person_would() {
        assert_eq!(fixed(0.0, 0), "0");
        assert_eq!(fixed(2.0, 1), "2.0");
        assert_eq!(fixed(22.84, 1), "22.8");
        assert_eq!(fixed(0.25, 3), "0.250");
        assert_eq!(fixed(0.0005, 3), "0.001");
        assert_eq!(fixed(492.6, 0), "493");
        assert_eq!(fixed(-1.25, 1), "-1.3");
        assert_eq!(fixed(-0.01, 1), "0.0");
        assert_eq!(fixed(f64::INFINITY, 1), MISSING);
    }

    #[test]
    fn timings_show_whole_milliseconds() {
        let t = Timings {
            setup_ms: Some(157.4),
            ice_connected_ms: None,
            dtls_connected_ms: Some(99.6),
        };
        assert_eq!(
            t.rows().map(|(_, v)| v),
            ["157 ms".to_owned(), MISSING.to_owned(), "100 ms".to_owned()]
        );
    }

    fn video_in_counts(id: &str, received: f64, lost: f64) -> Entry {
        entry(&[
            ("id", t(id)),
            ("type", t("inbound-rtp")),
            ("kind", t("video")),
            ("packetsReceived", n(received)),
            ("packetsLost", n(lost)),
        ])
    }

    #[test]
    fn loss_is_the_share_lost_since_the_last_reading() {
        let before = video_in_counts("v", 1_000.0, 10.0);
        let now = video_in_counts("v", 1_190.0, 20.0);
        // 10 lost of 200 due.
        assert_eq!(loss_percent(Some(&before), Some(&now)), Some(5.0));
        // Late packets counted after all are no loss, and nothing due is no figure.
        let late = video_in_counts("v", 1_290.0, 15.0);
        assert_eq!(loss_percent(Some(&now), Some(&late)), Some(0.0));
        assert_eq!(loss_percent(Some(&now), Some(&now)), None);
        // A new stream or no earlier reading: no figure.
        let other = video_in_counts("w", 1_290.0, 15.0);
        assert_eq!(loss_percent(Some(&now), Some(&other)), None);
        assert_eq!(loss_percent(None, Some(&now)), None);
    }

    #[test]
    fn a_persons_row_says_the_path_in_words_and_every_figure_with_its_unit() {
        let summary = Summary {
            video_kbps_sent: Some(812.4),
            video_kbps_received: Some(640.0),
            video_fps_decoded: Some(29.6),
            video_loss_percent: Some(1.25),
            rtt_ms: Some(42.4),
            local_candidate: Some("srflx udp 198.51.100.7:40000".into()),
            remote_candidate: Some("relay udp 203.0.113.5:50000".into()),
            ..Summary::default()
        };
        assert_eq!(
            summary.person(),
            [
                "812 / 640 kbit/s".to_owned(),
                "30".to_owned(),
                "1.3 %".to_owned(),
                "42 ms".to_owned(),
                "relayed: srflx ↔ relay".to_owned(),
            ]
        );
        let direct = Summary {
            local_candidate: Some("host udp 192.168.1.2:40000".into()),
            remote_candidate: Some("prflx udp 10.0.0.2:50000".into()),
            ..Summary::default()
        };
        assert_eq!(direct.path(), "direct: host ↔ prflx");
        // Before the first reading every cell says it has no figure yet.
        assert!(Summary::default()
            .person()
            .iter()
            .all(|cell| cell == MISSING));
        assert_eq!(PERSON_COLUMNS.len(), Summary::default().person().len());
    }
}
