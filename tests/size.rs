//! The page's download size against its budget. A size is deterministic, unlike a time, so it is
//! checked here, in the test command.
#![cfg(not(target_arch = "wasm32"))]

mod support;

/// The budget: webrtc-adapter 9's `adapter.js` alone, gzip, which the tutorial page loads from a
/// CDN on top of its own code.
const BUDGET: u64 = 27_128;

/// The total reached (`scripts/dev bench` and this test print it). While the budget is out of
/// reach the test enforces this plus 5%; the README's "Size" section says what stands in the way
/// (rooms and signaling more than doubled the wasm; the call's controls added a quarter more).
/// Lower it as the page shrinks.
const REACHED: u64 = 135_386;
const LIMIT: u64 = REACHED + REACHED / 20;

#[test]
fn the_whole_page_fits_its_gzip_limit() {
    let sizes = support::transfer_sizes(&support::dist());
    let total: u64 = sizes.iter().map(|f| f.gzip).sum();
    for f in &sizes {
        println!("{:<48} {:>8} {:>8}", f.name, f.raw, f.gzip);
    }
    println!("total gzip {total} bytes; limit {LIMIT}; budget {BUDGET}");
    assert!(
        sizes.iter().any(|f| f.name.ends_with(".wasm")),
        "dist/ has no wasm: not a release build of the page"
    );
    assert!(
        total <= LIMIT,
        "the page is {total} bytes gzip, over its limit of {LIMIT} (budget {BUDGET})"
    );
}
