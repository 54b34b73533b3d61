//! The page's files compressed at build time: brotli at quality 11 and gzip at level 9, too slow
//! to run per request but made once per build.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// What compressing one file made.
#[derive(Debug, PartialEq, Eq)]
pub struct Made {
    pub name: String,
    pub size: usize,
    pub br: usize,
    pub gz: usize,
}

/// The kinds of file the page is made of. Images other than SVG come compressed already.
const TEXT_OR_WASM: [&str; 6] = ["html", "js", "css", "wasm", "svg", "json"];

/// Whether `name` is a file of the page worth a compressed copy.
pub fn compressible(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| TEXT_OR_WASM.contains(&ext))
}

/// Whether `name` is one of the copies this step writes (`NAME.br`, `NAME.gz`), not a file of the
/// page: whoever lists the page's files leaves them out.
pub fn is_copy(name: &str) -> bool {
    name.ends_with(".br") || name.ends_with(".gz")
}

/// Brotli at its strongest, with a window as large as the largest file needs.
pub fn brotli(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Gzip at its strongest.
pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Writes `NAME.br` and `NAME.gz` beside every compressible file in `dir` (not in folders: the
/// page has none). A copy that would not be smaller is still written, so that every file has
/// both and a host never falls back to sending it whole for want of one; the server picks the
/// copy by what the browser accepts, not by size.
pub fn compress_dir(dir: &Path) -> io::Result<Vec<Made>> {
    let mut made = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type()?.is_file() || !compressible(&name) {
            continue;
        }
        let bytes = fs::read(entry.path())?;
        let (br, gz) = (brotli(&bytes)?, gzip(&bytes)?);
        fs::write(dir.join(format!("{name}.br")), &br)?;
        fs::write(dir.join(format!("{name}.gz")), &gz)?;
        made.push(Made {
            name,
            size: bytes.len(),
            br: br.len(),
            gz: gz.len(),
        });
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample() -> Vec<u8> {
        let mut text = String::new();
        for n in 0..2_000 {
            text.push_str(&format!("<li data-n=\"{n}\">line {n} of the page</li>\n"));
        }
        text.into_bytes()
    }

    #[test]
    fn both_copies_decompress_to_the_same_bytes_and_are_smaller() {
        let bytes = sample();
        let br = brotli(&bytes).unwrap();
        let gz = gzip(&bytes).unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, bytes);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, bytes);
        assert!(
            br.len() < gz.len() && gz.len() < bytes.len() / 4,
            "{} {}",
            br.len(),
            gz.len()
        );
    }

    #[test]
    fn the_page_files_get_copies_and_nothing_else_does() {
        for name in [
            "index.html",
            "a-0123456789abcdef.js",
            "style.css",
            "x_bg.wasm",
            "icon.svg",
        ] {
            assert!(compressible(name), "{name}");
        }
        for name in ["index.html.br", "a.js.gz", "photo.png", "README", "docs"] {
            assert!(!compressible(name), "{name}");
        }
        assert!(is_copy("index.html.br") && is_copy("a.js.gz") && !is_copy("index.html"));
    }

    #[test]
    fn a_folder_gets_its_copies_and_a_second_run_does_not_compress_the_copies() {
        let dir = std::env::temp_dir().join(format!("precompress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("index.html"), sample()).unwrap();
        fs::write(dir.join("empty.js"), b"").unwrap();
        fs::write(dir.join("photo.png"), [0u8; 64]).unwrap();
        let first = compress_dir(&dir).unwrap();
        let second = compress_dir(&dir).unwrap();
        assert_eq!(first, second);
        let names: Vec<&str> = first.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["empty.js", "index.html"]);
        let mut files: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "empty.js",
                "empty.js.br",
                "empty.js.gz",
                "index.html",
                "index.html.br",
                "index.html.gz",
                "photo.png"
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
