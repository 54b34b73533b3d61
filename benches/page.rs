//! The benchmark: the Rust/wasm page against the plain-JavaScript page of `bench/`, both served on
//! 127.0.0.1 and driven in headless Chromium and then headless Firefox with fake media devices,
//! alternating A/B.
//!
//! `scripts/dev bench [--loads N] [--pairs N] [--cycles N] [--first N] [--first-only] [--cold]
//! [--uncompressed]` builds the release page first. Repeat visits (loads and calls in one browser,
//! its cache warm) come first; then first visits (`--first` pairs, each load in a browser of its
//! own with a fresh profile, started 2 s before, or with the page with `--cold`) on 127.0.0.1 and,
//! where the network lab can run (root), over a link narrowed to 10 Mbit/s; `--first-only` skips
//! the repeat visits (and leaves `bench/results.json`); `--uncompressed` serves both pages without
//! their brotli and gzip copies.
//! `scripts/dev bench --network` times instead how calls set up and recover in the network lab
//! (`tests/support/network.rs`): through two symmetric NATs, after a 10 s and a 25 s cut of one
//! home's uplink, a new public address and a restart of the signaling server. Every
//! figure is measured inside the page with `performance.now()`, the same script for both pages;
//! WebDriver only starts the measurements and collects them.
//!
//! Both pages are served alike: the same server, which lets a browser keep a file named by its
//! content for good and asks it to check the page itself on every load, and both pages' files are
//! named by their content. So every load after the first is a repeat visit for both, and neither
//! depends on how old its files happen to be (without a `Cache-Control`, a browser guesses from
//! the file's age whether to ask the server again, and the two pages' files differ in age).

#[path = "common/machine.rs"]
mod machine;
#[path = "../tests/support/mod.rs"]
mod support;

use machine::machine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{dist, transfer_sizes, Browser, Engine, FileSize, Server};

/// Records every peer and every getUserMedia stream the page makes from now on. `sweep()` adds
/// what is still open to the tally and lets go of everything recorded, so that after the cycles
/// the heap holds only what the page itself keeps.
const RECORDER: &str = "
    if (!window.__bench) {
        let peers = [], streams = [], leftOpen = 0, leftLive = 0;
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
            constructor(...args) { super(...args); peers.push(this); }
        };
        const devices = navigator.mediaDevices, getUserMedia = devices.getUserMedia.bind(devices);
        devices.getUserMedia = async (c) => { const s = await getUserMedia(c); streams.push(s); return s; };
        const open = () => peers.filter(p => p.connectionState !== 'closed').length;
        const live = () => streams.flatMap(s => s.getTracks()).filter(t => t.readyState !== 'ended').length;
        window.__bench = {
            peers: () => peers, open, live,
            sweep: () => {
                leftOpen += open(); leftLive += live(); peers = []; streams = [];
                return [leftOpen, leftLive];
            },
        };
    }";

/// In-page helpers each measuring script starts with.
const HELPERS: &str = "
    const $ = id => document.getElementById(id);
    const until = async (ready, ms = 15000) => {
        const t0 = performance.now();
        while (!ready()) {
            if (performance.now() - t0 > ms) throw new Error('timed out');
            await new Promise(r => setTimeout(r, 2));
        }
    };";

#[derive(Clone, Copy, PartialEq)]
enum Page {
    Rust,
    Js,
}

impl Page {
    fn name(self) -> &'static str {
        match self {
            Page::Rust => "Rust/wasm",
            Page::Js => "plain JS",
        }
    }
}

#[derive(Default)]
struct Samples {
    load: Vec<f64>,
    /// Of each load: when the page's script started running (since navigation start), and the
    /// script's time until the Rust page's first module had its wasm compiled.
    script_start: Vec<f64>,
    until_compiled: Vec<f64>,
    setup: Vec<f64>,
    hang_up: Vec<f64>,
}

/// The marks of one load, since navigation start.
struct Marks {
    start_usable: f64,
    script_start: f64,
    compiled: Option<f64>,
}

/// What `scripts/dev bench` was asked to measure.
struct Options {
    loads: usize,
    pairs: usize,
    cycles: usize,
    /// Pairs of first visits.
    first: usize,
    /// Only the first visits: no repeat visits, and `bench/results.json` left as it is.
    first_only: bool,
    /// Each first visit's page loaded with its browser starting up, as this benchmark first did.
    cold: bool,
    compressed: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--network") {
        return network();
    }
    let flag = |name: &str| args.iter().any(|a| a == name);
    let mut options = Options {
        loads: 50,
        pairs: 10,
        cycles: 100,
        first: 15,
        first_only: flag("--first-only"),
        cold: flag("--cold"),
        compressed: !flag("--uncompressed"),
    };
    for (i, arg) in args.iter().enumerate() {
        let next = || args.get(i + 1).and_then(|v| v.parse().ok());
        match arg.as_str() {
            "--loads" => options.loads = next().expect("--loads N"),
            "--pairs" => options.pairs = next().expect("--pairs N"),
            "--cycles" => options.cycles = next().expect("--cycles N"),
            "--first" => options.first = next().expect("--first N"),
            _ => {}
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(options));
}

/// How calls set up and recover in the network lab, once per pairing of browsers: each figure
/// as the scenario measures it (setup: Call to both pages playing; the cuts: the link's return to
/// frames arriving on both pages; a new address: the change to frames on both; a restart: the
/// new process to both pages back in the room, media flowing throughout).
fn network() {
    if let Some(why) = support::lab::Lab::unavailable() {
        println!("network lab skipped: {why}");
        return;
    }
    use support::network::{
        new_public_address, server_restart, symmetric_nats_through_turn, uplink_cut,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    let mut rows = Vec::new();
    for (first, second) in [
        (Engine::Chromium, Engine::Chromium),
        (Engine::Firefox, Engine::Firefox),
        (Engine::Chromium, Engine::Firefox),
    ] {
        let setup = runtime.block_on(symmetric_nats_through_turn(first, second));
        let cut = runtime.block_on(uplink_cut(first, second, Duration::from_secs(10)));
        let long = runtime.block_on(uplink_cut(first, second, Duration::from_secs(25)));
        let renumbered = runtime.block_on(new_public_address(first, second));
        let restarted = runtime.block_on(server_restart(first, second));
        rows.push(format!(
            "| {} ↔ {} | {} | {} | {} | {} | {} |",
            first.name(),
            second.name(),
            ms(setup),
            ms(cut),
            ms(long),
            ms(renumbered),
            ms(restarted)
        ));
    }
    println!("\n| browsers | setup through TURN (symmetric NATs) | back after a 10 s cut | back after a 25 s cut | back after a new address | back in the room after a server restart |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        println!("{row}");
    }
}

/// One engine's figures.
struct Measured {
    engine: Engine,
    version: Value,
    rust: Samples,
    js: Samples,
    /// After the cycles: the Rust page's, then the JS page's.
    cycled: [Value; 2],
}

async fn run(options: Options) {
    let Options {
        loads,
        pairs,
        cycles,
        first,
        compressed,
        ..
    } = options;
    let rust_dir = if compressed {
        dist()
    } else {
        uncompressed(&dist())
    };
    let js_dir = js_page(&rust_dir, compressed);
    let rust = Server::start(&rust_dir).await;
    let js = Server::start(&js_dir).await;
    let url = |page| match page {
        Page::Rust => rust.url.clone(),
        Page::Js => js.url.clone(),
    };

    if options.first_only {
        first_visits(&options, &rust_dir, &js_dir, &rust.url, &js.url).await;
        return;
    }
    let mut measured = Vec::new();
    for engine in Engine::ALL {
        // Chromium can report the JS heap precisely and collect garbage on demand; Firefox
        // exposes neither to a page, so its heap figures are "n/a".
        let flags: &[&str] = match engine {
            Engine::Chromium => &["--enable-precise-memory-info", "--js-flags=--expose-gc"],
            Engine::Firefox => &[],
        };
        // Firefox rounds `performance.now()` to whole milliseconds for pages, a tenth of the
        // figures measured here: both pages get its precise clock. (Chromium's is 0.1 ms.)
        let prefs = json!({ "privacy.reduceTimerPrecision": false });
        let browser = Browser::launch_with_prefs(engine, flags, &prefs).await;
        let (mut a, mut b) = (Samples::default(), Samples::default());
        // The load is the shortest and most scattered figure: it gets pairs of its own, many of
        // them, being cheap. The first load of each page fills the browser's cache: not counted.
        for page in [Page::Rust, Page::Js] {
            load_marks(&browser, &url(page)).await;
        }
        for pair in 0..loads {
            for page in [Page::Rust, Page::Js] {
                let samples = if page == Page::Rust { &mut a } else { &mut b };
                let marks = load_marks(&browser, &url(page)).await;
                samples.load.push(marks.start_usable);
                samples.script_start.push(marks.script_start);
                samples
                    .until_compiled
                    .extend(marks.compiled.map(|c| c - marks.script_start));
                // What a load leaves running (the rest of the Rust page compiling to its
                // optimized tier, a collection) must not fall into the next page's load.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            if (pair + 1) % 10 == 0 {
                eprintln!("{}: load pair {}/{loads} done", engine.name(), pair + 1);
            }
        }
        for pair in 0..pairs {
            for page in [Page::Rust, Page::Js] {
                let samples = if page == Page::Rust { &mut a } else { &mut b };
                sample(&browser, &url(page), samples).await;
            }
            eprintln!("{}: pair {}/{pairs} done", engine.name(), pair + 1);
        }
        let mut cycled = Vec::new();
        for page in [Page::Rust, Page::Js] {
            cycled.push(cycle(&browser, &url(page), cycles).await);
            eprintln!(
                "{}: {cycles} cycles done on the {} page",
                engine.name(),
                page.name()
            );
        }
        let version = browser
            .client
            .capabilities()
            .and_then(|c| c.get("browserVersion").cloned())
            .unwrap_or(Value::Null);
        browser.close().await;
        let [rust_cycled, js_cycled]: [Value; 2] = cycled.try_into().expect("two pages");
        measured.push(Measured {
            engine,
            version,
            rust: a,
            js: b,
            cycled: [rust_cycled, js_cycled],
        });
    }

    println!("\n| figure | browser | Rust/wasm median (p25–p75) | plain JS median (p25–p75) | Rust/JS, median of pairs |");
    println!("| --- | --- | --- | --- | --- |");
    let mut browsers_json = Vec::new();
    for m in &measured {
        let figures = [
            ("load → Start usable (ms)", &m.rust.load, &m.js.load),
            ("Call → first remote frame (ms)", &m.rust.setup, &m.js.setup),
            (
                "HangUp → peers closed, tracks ended (ms)",
                &m.rust.hang_up,
                &m.js.hang_up,
            ),
        ];
        let mut timing_json = Vec::new();
        for (name, rust, js) in figures {
            let ratios: Vec<f64> = rust.iter().zip(js).map(|(r, j)| r / j).collect();
            println!(
                "| {name} | {} | {} | {} | {:.3} |",
                m.engine.name(),
                spread(rust),
                spread(js),
                median(&ratios)
            );
            timing_json.push(json!({
                "figure": name, "rust": rust, "js": js,
                "rust_median": median(rust), "js_median": median(js),
                "ratio_median_of_pairs": median(&ratios),
            }));
        }
        browsers_json.push(json!({
            "browser": m.engine.name(),
            "version": m.version,
            "timings": timing_json,
            "load_marks": {
                "rust": { "script_start": m.rust.script_start, "until_first_module_compiled": m.rust.until_compiled },
                "js": { "script_start": m.js.script_start },
            },
            "cycled": { "rust": m.cycled[0], "js": m.cycled[1] },
        }));
    }

    // Where a load's time goes: until the page's script runs, and the script's own work until
    // Start is usable (for the Rust page: decoding and compiling its wasm, then instantiating it
    // and its start function).
    println!("\n| load, medians (ms) | browser | page's script starts | its work until Start usable | of which the glue, decoding and compiling the wasm |");
    println!("| --- | --- | --- | --- | --- |");
    for m in &measured {
        for (name, s) in [("Rust/wasm", &m.rust), ("plain JS", &m.js)] {
            let work: Vec<f64> = s
                .load
                .iter()
                .zip(&s.script_start)
                .map(|(u, t)| u - t)
                .collect();
            let compile = if s.until_compiled.is_empty() {
                "–".to_owned()
            } else {
                format!("{:.2}", median(&s.until_compiled))
            };
            println!(
                "| {name} | {} | {:.1} | {:.2} | {compile} |",
                m.engine.name(),
                median(&s.script_start),
                median(&work),
            );
        }
    }

    println!("\n| after {cycles} Start/Call/HangUp cycles | browser | Rust/wasm | plain JS |");
    println!("| --- | --- | --- | --- |");
    for m in &measured {
        let row = |name: &str, key: &str| {
            let show = |v: &Value| match v.as_f64() {
                Some(n) if key.contains("heap") || key.contains("wasm") => {
                    format!("{:.0} KiB", n / 1024.0)
                }
                Some(n) => format!("{n:.0}"),
                None => "n/a".to_owned(),
            };
            println!(
                "| {name} | {} | {} | {} |",
                m.engine.name(),
                show(&m.cycled[0][key]),
                show(&m.cycled[1][key])
            );
        };
        row("JS heap before", "heap_before");
        row("JS heap after", "heap_after");
        row("wasm memory before", "wasm_before");
        row("wasm memory after", "wasm_after");
        row("open peers after", "open_peers");
        row("live tracks after", "live_tracks");
    }

    let first_visits = first_visits(&options, &rust_dir, &js_dir, &rust.url, &js.url).await;

    let (rust_sizes, js_sizes) = (transfer_sizes(&rust_dir), transfer_sizes(&js_dir));
    println!("\n| transfer size | raw bytes | gzip bytes |");
    println!("| --- | --- | --- |");
    for (label, sizes) in [("Rust/wasm", &rust_sizes), ("plain JS", &js_sizes)] {
        for f in sizes {
            println!("| {label}: {} | {} | {} |", f.name, f.raw, f.gzip);
        }
        let (raw, gzip) = totals(sizes);
        println!("| **{label}: total** | **{raw}** | **{gzip}** |");
    }

    let machine = machine();
    let versions: Vec<String> = measured
        .iter()
        .map(|m| format!("{} {}", m.engine.name(), m.version.as_str().unwrap_or("?")))
        .collect();
    println!(
        "\nMeasured on {machine}, {}, {loads} A/B pairs of loads, {pairs} A/B pairs of calls.",
        versions.join(", ")
    );
    let results = json!({
        "machine": machine,
        "load_pairs": loads,
        "pairs": pairs,
        "cycles": cycles,
        "browsers": browsers_json,
        "first_visit_pairs": first,
        "compressed": compressed,
        "first_visits": first_visits,
        "sizes": { "rust": sizes_json(&rust_sizes), "js": sizes_json(&js_sizes) },
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results.json");
    std::fs::write(&out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    println!("Written to {}", out.display());

    let leaks: f64 = measured
        .iter()
        .flat_map(|m| &m.cycled)
        .map(|c| {
            c["open_peers"].as_f64().unwrap_or(f64::NAN)
                + c["live_tracks"].as_f64().unwrap_or(f64::NAN)
        })
        .sum();
    if leaks != 0.0 {
        eprintln!("peers or tracks left open after the cycles");
        std::process::exit(1);
    }
}

/// A fresh load: the time from navigation start to Start usable.
async fn load_marks(browser: &Browser, url: &str) -> Marks {
    load(browser, url).await;
    let marks = browser
        .eval(
            "return ['start-usable', 'script-start', 'first-module-compiled']
                .map(name => performance.getEntriesByName('loopback:' + name)[0]?.startTime ?? null);",
        )
        .await;
    let mark = |i: usize| marks[i].as_f64();
    Marks {
        start_usable: mark(0).expect("the page marks loopback:start-usable"),
        script_start: mark(1).expect("the page marks loopback:script-start"),
        compiled: mark(2),
    }
}

/// One first visit, measured in the page: load → Start usable; when the page's script started,
/// and when its last byte had arrived; when the rest of the Rust page was in; and the first
/// remote frame after Call, pressed 300 ms after the camera is on.
struct FirstVisit {
    start_usable: f64,
    script_start: f64,
    /// The script's first byte and its last (its resource timing's `responseStart` and
    /// `responseEnd`): between them, its bytes on the wire.
    script_responded: f64,
    script_arrived: f64,
    /// The Rust page's first module compiled (its wasm, in its script).
    compiled: Option<f64>,
    page_ready: Option<f64>,
    call: f64,
}

/// Both pages' first visits, `options.first` A/B pairs per browser: on 127.0.0.1, then through the
/// network lab over a link narrowed to 10 Mbit/s each way (when the lab can run here). Prints
/// the tables and returns the figures for `bench/results.json`.
async fn first_visits(
    options: &Options,
    rust_dir: &Path,
    js_dir: &Path,
    rust_url: &str,
    js_url: &str,
) -> Value {
    if options.first == 0 {
        return Value::Null;
    }
    let mut rows = Vec::new();
    for engine in Engine::ALL {
        let visits = first_visit_pairs(engine, None, options, [rust_url, js_url]).await;
        rows.push(("127.0.0.1", engine, visits));
    }
    match support::lab::Lab::unavailable() {
        Some(why) => {
            println!("\nfirst visits over the network lab's narrowed link: skipped ({why})")
        }
        None => {
            use support::lab::{serve_on, Lab, Nat, SERVER_PORT};
            let lab = Lab::build([Nat::None]);
            lab.narrow(0, NARROW_KBIT);
            lab.narrow_down(0, NARROW_KBIT);
            let config = |dir: &Path| {
                Server::config(dir, |c| {
                    c.tls = true;
                })
            };
            let (_rust, rust_url) = serve_on(&lab, config(rust_dir), SERVER_PORT).await;
            let (_js, js_url) = serve_on(&lab, config(js_dir), SERVER_PORT + 1).await;
            for engine in Engine::ALL {
                let visits =
                    first_visit_pairs(engine, Some(lab.machine(0)), options, [&rust_url, &js_url])
                        .await;
                rows.push(("10 Mbit/s link", engine, visits));
            }
        }
    }

    println!("\n| first visit | browser | load → Start usable, Rust/wasm (p25–p75) | plain JS | Rust/JS | Call 300 ms after the camera → first remote frame, Rust/wasm | plain JS | Rust/JS |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut json_rows = Vec::new();
    for (network, engine, [rust, js]) in &rows {
        let figure = |f: fn(&FirstVisit) -> f64| -> (Vec<f64>, Vec<f64>, f64) {
            let (r, j): (Vec<f64>, Vec<f64>) =
                (rust.iter().map(f).collect(), js.iter().map(f).collect());
            let ratios: Vec<f64> = r.iter().zip(&j).map(|(a, b)| a / b).collect();
            let ratio = median(&ratios);
            (r, j, ratio)
        };
        let (load_r, load_j, load_ratio) = figure(|v| v.start_usable);
        let (call_r, call_j, call_ratio) = figure(|v| v.call);
        println!(
            "| {network} | {} | {} | {} | **{load_ratio:.3}** | {} | {} | **{call_ratio:.3}** |",
            engine.name(),
            spread(&load_r),
            spread(&load_j),
            spread(&call_r),
            spread(&call_j),
        );
        let marks = |visits: &[FirstVisit]| {
            json!({
                "script_start": visits.iter().map(|v| v.script_start).collect::<Vec<_>>(),
                "script_responded": visits.iter().map(|v| v.script_responded).collect::<Vec<_>>(),
                "script_arrived": visits.iter().map(|v| v.script_arrived).collect::<Vec<_>>(),
                "first_module_compiled": visits.iter().map(|v| v.compiled).collect::<Vec<_>>(),
                "page_ready": visits.iter().map(|v| v.page_ready).collect::<Vec<_>>(),
            })
        };
        json_rows.push(json!({
            "network": network, "browser": engine.name(),
            "load": { "rust": load_r, "js": load_j, "ratio_median_of_pairs": load_ratio },
            "call": { "rust": call_r, "js": call_j, "ratio_median_of_pairs": call_ratio },
            "marks": { "rust": marks(rust), "js": marks(js) },
        }));
    }
    println!("\n| first visit, medians (ms) | browser | page | its script on the wire (first byte → last) | its script's last byte | the script starts | its work until Start usable | of which the glue, decoding and compiling the wasm | Start usable | the rest of the page in |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (network, engine, [rust, js]) in &rows {
        for (page, visits) in [(Page::Rust, rust), (Page::Js, js)] {
            let m = |f: fn(&FirstVisit) -> f64| median(&visits.iter().map(f).collect::<Vec<_>>());
            let ready: Vec<f64> = visits.iter().filter_map(|v| v.page_ready).collect();
            let compiling: Vec<f64> = visits
                .iter()
                .filter_map(|v| v.compiled.map(|c| c - v.script_start))
                .collect();
            println!(
                "| {network} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {} |",
                engine.name(),
                page.name(),
                m(|v| v.script_arrived - v.script_responded),
                m(|v| v.script_arrived),
                m(|v| v.script_start),
                m(|v| v.start_usable - v.script_start),
                if compiling.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{:.1}", median(&compiling))
                },
                m(|v| v.start_usable),
                if ready.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{:.1}", median(&ready))
                },
            );
        }
    }
    Value::Array(json_rows)
}

/// Both directions of the lab's link for first visits, in kbit/s.
const NARROW_KBIT: u32 = 10_000;

/// How long a fresh browser runs before a first visit (unless `--cold`): its start-up is over
/// within it in both browsers here.
const SETTLE: Duration = Duration::from_secs(2);

/// `options.first` A/B pairs of first visits in `engine` (in the lab's machine `netns` if
/// given): the Rust page's, then the plain page's.
async fn first_visit_pairs(
    engine: Engine,
    netns: Option<&str>,
    options: &Options,
    urls: [&str; 2],
) -> [Vec<FirstVisit>; 2] {
    let pairs = options.first;
    let (mut rust, mut js) = (Vec::new(), Vec::new());
    for pair in 0..pairs {
        rust.push(first_visit(engine, netns, urls[0], options.cold).await);
        js.push(first_visit(engine, netns, urls[1], options.cold).await);
        if (pair + 1) % 5 == 0 {
            eprintln!(
                "{}{}: first-visit pair {}/{pairs} done",
                engine.name(),
                if netns.is_some() {
                    " over the narrowed link"
                } else {
                    ""
                },
                pair + 1
            );
        }
    }
    [rust, js]
}

/// One first visit (see [`FirstVisit`]) in a browser of its own, as a person opening the link:
/// Start as soon as it works, Call 300 ms after the camera is on (its first frame shown). If Call
/// is not usable then, the press waits for it, and the wait counts.
async fn first_visit(engine: Engine, netns: Option<&str>, url: &str, cold: bool) -> FirstVisit {
    let prefs = json!({ "privacy.reduceTimerPrecision": false });
    let browser = Browser::launch_first_visit(engine, netns, &prefs).await;
    if !cold {
        // A person opens the link in a browser that is already running: its own start-up (its
        // processes, its first profile written, its component checks) is over. Loaded with it,
        // a page shares the 2 cores with that start-up, which scattered a page's script start
        // from 2 to 80 ms after its last byte. `about:blank` fetches and caches nothing.
        browser
            .client
            .goto("about:blank")
            .await
            .expect("about:blank loads");
        tokio::time::sleep(SETTLE).await;
    }
    browser.client.goto(url).await.expect("page loads");
    let measured = browser
        .eval(&format!(
            "return (async () => {{ {HELPERS}
                await until(() => !$('start-btn').disabled);
                $('start-btn').click();
                const local = $('localStream');
                await until(() => local.videoWidth > 0 && local.currentTime > 0);
                await new Promise(r => setTimeout(r, 300));
                const press = performance.now();
                await until(() => !$('call-btn').disabled);
                let frame = null;
                $('remoteStream').requestVideoFrameCallback(() => {{ frame = performance.now(); }});
                $('call-btn').click();
                await until(() => frame !== null, 30000);
                const mark = name => performance.getEntriesByName('loopback:' + name)[0]?.startTime ?? null;
                const script = performance.getEntriesByType('resource')
                    .find(r => r.initiatorType === 'script');
                return [mark('start-usable'), mark('script-start'), script ? script.responseEnd : null,
                        mark('page-ready'), frame - press, mark('first-module-compiled'),
                        script ? script.responseStart : null];
            }})();"
        ))
        .await;
    browser.close().await;
    let at = |i: usize| measured[i].as_f64();
    FirstVisit {
        start_usable: at(0).expect("the page marks loopback:start-usable"),
        script_start: at(1).expect("the page marks loopback:script-start"),
        script_arrived: at(2).expect("the page's script in the resource timings"),
        script_responded: at(6).expect("the page's script in the resource timings"),
        page_ready: at(3),
        call: at(4).expect("a first remote frame"),
        compiled: at(5),
    }
}

/// One A or B sample of a call: a fresh load, Start, Call until the first remote frame, HangUp.
async fn sample(browser: &Browser, url: &str, samples: &mut Samples) {
    load(browser, url).await;
    browser.eval(RECORDER).await;
    let measured = browser
        .eval(&format!(
            "return (async () => {{ {HELPERS}
                // Let loading settle (wasm tier-up runs on the same 2 cores) and the camera warm up,
                // as they would before a person clicks: the same pauses for both pages.
                await new Promise(r => setTimeout(r, 1000));
                $('start-btn').click();
                await until(() => !$('call-btn').disabled);
                await new Promise(r => setTimeout(r, 500));
                let frame = null;
                $('remoteStream').requestVideoFrameCallback(() => {{ frame = performance.now(); }});
                const call = performance.now();
                $('call-btn').click();
                await until(() => frame !== null);
                const setup = frame - call;
                await new Promise(r => setTimeout(r, 300));
                const t0 = performance.now();
                $('hangup-btn').click();
                await until(() => __bench.open() === 0 && __bench.live() === 0, 5000);
                const hangUp = performance.now() - t0;
                __bench.sweep();
                return [setup, hangUp];
            }})();"
        ))
        .await;
    samples.setup.push(measured[0].as_f64().unwrap());
    samples.hang_up.push(measured[1].as_f64().unwrap());
}

/// `cycles` Start/Call/HangUp cycles on one load of the page, with the memory before and after
/// (after forced garbage collections) and what was left open.
async fn cycle(browser: &Browser, url: &str, cycles: usize) -> Value {
    load(browser, url).await;
    browser.eval(RECORDER).await;
    let memory = "return (async () => {
            window.gc?.();
            await new Promise(r => setTimeout(r, 200));
            window.gc?.();
            return [performance.memory?.usedJSHeapSize ?? null,
                    window.wasmBindings?.wasm_memory_bytes?.() ?? null];
        })();";
    let before = browser.eval(memory).await;
    // Hang up at three moments in turn: in the same tick as Call, once the offer is set, and
    // once both peers are connected.
    let one = |moment: usize| {
        format!(
            "return (async () => {{ {HELPERS}
                $('start-btn').click();
                await until(() => !$('call-btn').disabled);
                $('call-btn').click();
                const [a, b] = __bench.peers();
                if ({moment} === 1) await until(() => a.signalingState !== 'stable');
                if ({moment} === 2) await until(() =>
                    a.connectionState === 'connected' && b.connectionState === 'connected');
                $('hangup-btn').click();
                __bench.sweep();
            }})();"
        )
    };
    for i in 0..cycles {
        browser.eval(&one(i % 3)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = browser.eval(memory).await;
    let left = browser.eval("return __bench.sweep();").await;
    json!({
        "heap_before": before[0], "heap_after": after[0],
        "wasm_before": before[1], "wasm_after": after[1],
        "open_peers": left[0], "live_tracks": left[1],
    })
}

/// Loads the page until it is whole: Start usable, and on the Rust page the rest of the page
/// (the call, controls, stats) in as well, which the JS page has in its one script.
async fn load(browser: &Browser, url: &str) {
    browser.client.goto(url).await.expect("page loads");
    browser
        .wait_for(
            "the page to be whole",
            Duration::from_secs(15),
            "return !document.getElementById('start-btn').disabled
                && (!document.querySelector('script[src*=\"loopback-start-\"]')
                    || performance.getEntriesByName('loopback:page-ready').length === 1);",
        )
        .await;
}

/// The plain-JavaScript page: index.html's markup with bench/app.js in place of the wasm, served
/// as the Rust page is (each file's brotli and gzip copies beside it). It takes the Rust build's stylesheet and icon (`rust_dir`, minified by
/// trunk, named by their content); app.js is minified by the esbuild that minifies the Rust page's
/// glue, named by its content, and loaded with its integrity hash, as the first module's script is.
fn js_page(rust_dir: &Path, compressed: bool) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/bench/js");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let built = |prefix: &str| {
        let name = std::fs::read_dir(rust_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(prefix) && !loopback_precompress::is_copy(n))
            .unwrap_or_else(|| panic!("no {prefix}… in {}", rust_dir.display()));
        std::fs::copy(rust_dir.join(&name), out.join(&name)).unwrap();
        name
    };
    let (style, icon) = (built("style-"), built("favicon-"));

    let minified = out.join("app.min.js");
    let esbuild = std::process::Command::new("esbuild")
        .arg(root.join("bench/app.js"))
        .args(["--minify", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", minified.display()))
        .status()
        .expect("esbuild on PATH (`scripts/dev bench` installs it)");
    assert!(esbuild.success(), "esbuild could not minify bench/app.js");
    let bytes = std::fs::read(&minified).unwrap();
    std::fs::remove_file(&minified).unwrap();
    let mut hash = std::hash::DefaultHasher::new();
    std::hash::Hasher::write(&mut hash, &bytes);
    let app = format!("app-{:016x}.js", std::hash::Hasher::finish(&hash));
    std::fs::write(out.join(&app), &bytes).unwrap();
    let digest = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"openssl dgst -sha384 -binary "$1" | openssl base64 -A"#)
        .arg("sh")
        .arg(out.join(&app))
        .output()
        .expect("openssl on PATH");
    let digest = String::from_utf8(digest.stdout).unwrap();
    assert_eq!(digest.len(), 64, "openssl could not hash {app}");

    let html = std::fs::read_to_string(root.join("index.html")).unwrap();
    // The first module's link becomes the JS page's script; the rest of the page's link and
    // files copied for the build go.
    let mut script = Some(format!(
        r#"  <script type="module" src="{app}" integrity="sha384-{digest}"></script>"#
    ));
    let html: Vec<String> = html
        .lines()
        .filter(|line| !line.contains(r#"rel="copy-file""#))
        .filter_map(|line| {
            if line.contains(r#"data-trunk rel="rust""#) {
                script.take()
            } else {
                Some(line.to_owned())
            }
        })
        .collect();
    assert!(
        script.is_none(),
        "index.html has no rust link: update the benchmark"
    );
    let html = html
        .join("\n")
        .replace(r#"data-trunk rel="css""#, r#"rel="stylesheet""#)
        .replace("data-trunk ", "")
        .replace(r#"href="www/style.css""#, &format!(r#"href="{style}""#))
        .replace(r#"href="www/favicon.svg""#, &format!(r#"href="{icon}""#));
    assert!(
        !html.contains("www/"),
        "index.html names a file the benchmark does not copy: update it"
    );
    std::fs::write(out.join("index.html"), html).unwrap();
    // Compressed as the Rust page's files are, by the same build step.
    if compressed {
        loopback_precompress::compress_dir(&out).expect("the plain page's files compressed");
    }
    out
}

/// A copy of the release page without its brotli and gzip copies (`--uncompressed`): served as
/// the server served it before it sent them, for what they are worth on a first visit.
fn uncompressed(dist: &Path) -> PathBuf {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/uncompressed");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(dist).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && !loopback_precompress::is_copy(&name) {
            std::fs::copy(entry.path(), out.join(&name)).unwrap();
        }
    }
    out
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let v = sorted(values);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

fn spread(values: &[f64]) -> String {
    format!(
        "{:.1} ({:.1}–{:.1})",
        median(values),
        quantile(values, 0.25),
        quantile(values, 0.75)
    )
}

fn totals(sizes: &[FileSize]) -> (u64, u64) {
    sizes
        .iter()
        .fold((0, 0), |(r, g), f| (r + f.raw, g + f.gzip))
}

fn sizes_json(sizes: &[FileSize]) -> Value {
    let (raw, gzip) = totals(sizes);
    json!({
        "files": sizes.iter().map(|f| json!({"name": f.name, "raw": f.raw, "gzip": f.gzip})).collect::<Vec<_>>(),
        "total_raw": raw, "total_gzip": gzip,
    })
}
