//! A WebM file's duration, written into its head: Chromium's `MediaRecorder` writes a live
//! stream's header, without one, so players show none (`duration` is `Infinity`) until they have
//! read the file to its end. Only the head (up to [`HEAD`] bytes) is read and rewritten; the rest
//! of the file is left where it is.

/// How much of the file's start is read: the EBML header and the Segment's Info come first and
/// take about 100 bytes.
pub const HEAD: usize = 4096;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const CLUSTER: u32 = 0x1F43_B675;

/// An element's ID (its marker bits kept, as IDs are written) and where its header ends.
fn id(bytes: &[u8], at: usize) -> Option<(u32, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    // Checked sums throughout: on wasm32 a `usize` is 32 bits, and a size near 4 GiB would wrap
    // an offset back to where it was (a loop that never ends).
    let end = at.checked_add(len)?;
    let raw = bytes.get(at..end)?;
    Some((raw.iter().fold(0, |v, b| v << 8 | u32::from(*b)), end))
}

/// An element's size (`None` inside for "unknown", all value bits set) and where it ends.
fn size(bytes: &[u8], at: usize) -> Option<(Option<u64>, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let end = at.checked_add(len)?;
    let raw = bytes.get(at..end)?;
    let mask = if len == 8 { 0 } else { 0xFF >> len };
    let value = raw[1..]
        .iter()
        .fold(u64::from(first & mask), |v, b| v << 8 | u64::from(*b));
    let unknown = value == (1u64 << (7 * len)) - 1;
    Some(((!unknown).then_some(value), end))
}

/// `n` as an element size, in as few bytes as hold it (never the all-ones "unknown").
fn write_size(n: u64, out: &mut Vec<u8>) {
    let len = (1..=8usize)
        .find(|len| n < (1u64 << (7 * len)) - 1)
        .unwrap_or(8);
    let marked = n | 1u64 << (7 * len);
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

/// The head of a WebM file with its Segment's Info given a Duration of `ms` milliseconds, or
/// `None` where it is left as it is: not WebM, a duration already there (Firefox writes one), or
/// a head this would break (a SeekHead, whose offsets would shift, or a Segment of known size).
pub fn with_duration(head: &[u8], ms: f64) -> Option<Vec<u8>> {
    let (first, at) = id(head, 0)?;
    if first != EBML {
        return None;
    }
    let (ebml_size, at) = size(head, at)?;
    let segment_at = at.checked_add(usize::try_from(ebml_size?).ok()?)?;
    let (segment, at) = id(head, segment_at)?;
    if segment != SEGMENT {
        return None;
    }
    let (segment_size, mut at) = size(head, at)?;
    if segment_size.is_some() {
        return None;
    }
    // The Segment's children, up to its Info.
    let (info_at, content_at, info_end) = loop {
        let (child, after_id) = id(head, at)?;
        let (child_size, content) = size(head, after_id)?;
        let end = content.checked_add(usize::try_from(child_size?).ok()?)?;
        match child {
            INFO => break (at, content, end),
            SEEK_HEAD | CLUSTER => return None,
            _ => at = end,
        }
    };
    let info = head.get(content_at..info_end)?;
    let mut scale = 1_000_000u64;
    let mut at = 0;
    while at < info.len() {
        let (child, after_id) = id(info, at)?;
        let (child_size, content) = size(info, after_id)?;
        let end = content.checked_add(usize::try_from(child_size?).ok()?)?;
        match child {
            DURATION => return None,
            TIMECODE_SCALE => {
                scale = info
                    .get(content..end)?
                    .iter()
                    .fold(0, |v, b| v << 8 | u64::from(*b));
            }
            _ => {}
        }
        at = end;
    }
    if scale == 0 || !ms.is_finite() || ms <= 0.0 {
        return None;
    }
    // In the file's own units: TimecodeScale nanoseconds each.
    let duration = ms * 1_000_000.0 / scale as f64;
    let mut element = vec![0x44, 0x89, 0x88];
    element.extend_from_slice(&duration.to_be_bytes());
    let mut out = Vec::with_capacity(head.len() + element.len() + 8);
    out.extend_from_slice(&head[..info_at]);
    out.extend_from_slice(&head[info_at..info_at + 4]);
    write_size((info.len() + element.len()) as u64, &mut out);
    out.extend_from_slice(info);
    out.extend_from_slice(&element);
    out.extend_from_slice(&head[info_end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of a WebM file as Chromium's MediaRecorder writes it (its bytes, shortened: the
    /// app names and the track entry are made small).
    fn chromium_head() -> Vec<u8> {
        let mut head = vec![
            0x1A, 0x45, 0xDF, 0xA3, 0x9F, // EBML, 31 bytes
            0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81, 0x01, 0x42, 0xF2, 0x81, 0x04, 0x42, 0xF3,
            0x81, 0x08, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm', 0x42, 0x87, 0x81, 0x04, 0x42,
            0x85, 0x81, 0x02, // DocType "webm", versions
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, // Segment, unknown size
            0x15, 0x49, 0xA9, 0x66, 0x8E, // Info, 14 bytes
            0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40, // TimecodeScale 1,000,000
            0x4D, 0x80, 0x84, b'C', b'h', b'r', b'o', // MuxingApp
            0x16, 0x54, 0xAE, 0x6B, 0x83, 0xAE, 0x81, 0x01, // Tracks (a stub)
            0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // Cluster
        ];
        head.extend_from_slice(&[0xE7, 0x81, 0x00]); // Timecode 0
        head
    }

    fn info_of(file: &[u8]) -> (usize, Vec<u8>) {
        let at = file
            .windows(4)
            .position(|w| w == [0x15, 0x49, 0xA9, 0x66])
            .unwrap();
        let (len, content) = size(file, at + 4).unwrap();
        let len = len.unwrap() as usize;
        (len, file[content..content + len].to_vec())
    }

    #[test]
    fn a_duration_goes_into_the_info_and_nothing_else_moves() {
        let head = chromium_head();
        let fixed = with_duration(&head, 5_123.0).unwrap();
        assert_eq!(fixed.len(), head.len() + 11);
        let (len, info) = info_of(&fixed);
        assert_eq!(len, 14 + 11);
        assert_eq!(&info[14..17], &[0x44, 0x89, 0x88]);
        let value = f64::from_be_bytes(info[17..25].try_into().unwrap());
        assert_eq!(value, 5_123.0, "milliseconds at the default scale");
        assert!(
            fixed.ends_with(&head[head.len() - 23..]),
            "Tracks and Cluster as they were"
        );
        assert_eq!(with_duration(&fixed, 5_123.0), None, "written once");
    }

    #[test]
    fn the_files_own_scale_is_used() {
        let mut head = chromium_head();
        // TimecodeScale 500,000 ns: the duration counts half-milliseconds.
        let at = head
            .windows(3)
            .position(|w| w == [0x0F, 0x42, 0x40])
            .unwrap();
        head[at..at + 3].copy_from_slice(&[0x07, 0xA1, 0x20]);
        let (_, info) = info_of(&with_duration(&head, 1_000.0).unwrap());
        assert_eq!(
            f64::from_be_bytes(info[17..25].try_into().unwrap()),
            2_000.0
        );
    }

    #[test]
    fn heads_it_would_break_are_left_alone() {
        assert_eq!(with_duration(b"RIFF....WAVE", 1_000.0), None, "not WebM");
        assert_eq!(
            with_duration(&chromium_head()[..50], 1_000.0),
            None,
            "cut short"
        );
        assert_eq!(with_duration(&chromium_head(), f64::INFINITY), None);
        let mut known = chromium_head();
        known[41..48].copy_from_slice(&[0, 0, 0, 0, 0, 0x10, 0]);
        assert_eq!(
            with_duration(&known, 1_000.0),
            None,
            "a Segment of known size"
        );
        let mut seek = chromium_head();
        seek.splice(48..48, [0x11, 0x4D, 0x9B, 0x74, 0x80]);
        assert_eq!(with_duration(&seek, 1_000.0), None, "a SeekHead's offsets");
    }

    #[test]
    fn sizes_are_written_as_read() {
        for n in [0u64, 1, 25, 126, 127, 16_382, 16_383, 1 << 30] {
            let mut out = Vec::new();
            write_size(n, &mut out);
            assert_eq!(size(&out, 0), Some((Some(n), out.len())), "{n}");
        }
        assert_eq!(size(&[0xFF], 0), Some((None, 1)), "unknown");
    }
}
