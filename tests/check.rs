//! Check this machine (`?check`) in both browsers: each verdict against the condition that
//! should cause it, read from the page as a person sees it (the row's verdict and sentence).
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use serde_json::Value;
use std::time::Duration;
use support::room::Coturn;
use support::{dist, Browser, Engine, Server};

in_both_browsers!(
    fake_devices_pass_and_the_report_says_so,
    a_refused_camera_fails_in_words,
    a_camera_short_of_full_hd_is_a_warning,
    a_silent_microphone_fails,
    turn_with_the_right_secret_relays_data_both_ways,
    the_pages_own_turn_server_is_checked_and_the_report_fits_its_schema,
    turn_with_the_wrong_secret_is_a_401_explained,
    a_turn_port_with_nothing_listening_is_a_timeout_explained,
);

/// A clipping microphone fed from a file: this machine's Firefox has no sound output, so it
/// never starts an `AudioContext` to make a loud stream with, but it captures a playing file.
#[tokio::test(flavor = "current_thread")]
async fn a_clipping_recording_is_a_warning_in_firefox() {
    a_clipping_recording_is_a_warning(Engine::Firefox).await;
}

/// The same tone made with Web Audio, where it runs.
#[tokio::test(flavor = "current_thread")]
async fn a_clipping_microphone_is_a_warning_in_chromium() {
    a_clipping_microphone_is_a_warning(Engine::Chromium).await;
}

/// A whole run may take this long: four resolutions, two seconds of sound, two connections.
const A_RUN: Duration = Duration::from_secs(90);

/// The browser, with Firefox taking loopback addresses (where the tests' coturn listens), which
/// it leaves out otherwise.
async fn launch(engine: Engine) -> Browser {
    let prefs = serde_json::json!({"media.peerconnection.ice.loopback": true});
    Browser::launch_with_prefs(engine, &[], &prefs).await
}

/// The check page, served by the project's server, ready to run.
async fn open_check(engine: Engine) -> (Server, Browser) {
    open_check_on(Server::start(&dist()).await, engine).await
}

/// The check page served by `server`, ready to run.
async fn open_check_on(server: Server, engine: Engine) -> (Server, Browser) {
    let browser = launch(engine).await;
    browser
        .client
        .goto(&format!("{}?check", server.url))
        .await
        .expect("page loads");
    browser
        .wait_for(
            "the check page",
            Duration::from_secs(10),
            "const b = document.getElementById('check-run'); return !!b && !b.disabled;",
        )
        .await;
    (server, browser)
}

/// Runs the checks without throughput (25 s more, measured once per browser by
/// [`fake_devices_pass_and_the_report_says_so`]) and waits for the summary.
async fn run(browser: &Browser) {
    browser
        .eval("document.getElementById('check-throughput').checked = false; return true;")
        .await;
    run_all(browser).await;
}

/// Runs the checks as they are ticked and waits for the summary; on a timeout, says where the
/// run stood.
async fn run_all(browser: &Browser) {
    browser.click("check-run").await;
    let start = std::time::Instant::now();
    while browser
        .eval("return document.getElementById('check-summary').textContent.length > 0;")
        .await
        != Value::Bool(true)
    {
        if start.elapsed() > A_RUN {
            let stood = browser
                .eval(
                    "return [document.getElementById('check-status').textContent,
                        ...[...document.querySelectorAll('[data-check]')].map(r =>
                            `${r.dataset.check} ${r.dataset.state} ${r.dataset.verdict || ''}
                             ${r.querySelector('progress').value}`)];",
                )
                .await;
            panic!("the checks did not end in {A_RUN:?}: {stood:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A row's verdict and sentence.
async fn row(browser: &Browser, check: &str) -> (String, String) {
    let v = browser
        .eval(&format!(
            "const r = document.querySelector('[data-check={check}]');
             return [r.dataset.verdict || '', r.querySelector('.sentence').textContent];"
        ))
        .await;
    let text = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
    (text(0), text(1))
}

/// Asserts a row's verdict and that its sentence says `words`.
async fn expect(browser: &Browser, engine: Engine, check: &str, verdict: &str, words: &str) {
    let (got, sentence) = row(browser, check).await;
    println!("{}: {check}: {got}: {sentence}", engine.name());
    assert_eq!(got, verdict, "{}: {check}: {sentence}", engine.name());
    assert!(
        sentence.contains(words),
        "{}: {check}: {sentence:?} does not say {words:?}",
        engine.name()
    );
}

/// Replaces `getUserMedia` for the kind (`video` or `audio`) by `replacement`, a function of the
/// constraints asked and the browser's own `getUserMedia` that returns a promise of a stream.
async fn replace_get_user_media(browser: &Browser, kind: &str, replacement: &str) {
    browser
        .eval(&format!(
            "const devices = navigator.mediaDevices;
             const own = devices.getUserMedia.bind(devices);
             const replaced = {replacement};
             devices.getUserMedia = c => c.{kind} ? replaced(c, own) : own(c);
             return true;"
        ))
        .await;
}

/// Adds an ICE server in the page's fields, as a person would.
async fn add_server(browser: &Browser, url: &str, username: &str, credential: &str) {
    for (id, value) in [
        ("ice-url", url),
        ("ice-username", username),
        ("ice-credential", credential),
    ] {
        let field = browser
            .client
            .find(fantoccini::Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"));
        field.clear().await.unwrap_or_else(|e| panic!("#{id}: {e}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"));
    }
    browser.click("ice-add").await;
    let listed = browser
        .eval("return document.getElementById('ice-list').textContent;")
        .await;
    assert!(
        listed.as_str().unwrap_or_default().contains(url),
        "{url} not listed: {listed}"
    );
}

/// coturn's short-lived credentials for `secret` (coturn's REST scheme, as the server makes them).
fn turn_credentials(secret: &str) -> (String, String) {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    let username = format!("{expires}:check");
    let credential = loopback_server::turn::credential(secret, &username);
    (username, credential)
}

async fn fake_devices_pass_and_the_report_says_so(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    // The check takes the call's place: nothing of the tutorial's call shows.
    let shown = browser
        .eval(
            "return ['.videos', '.buttons', '#tools', '#status'].map(s =>
                getComputedStyle(document.querySelector(s)).display);",
        )
        .await;
    assert_eq!(
        shown,
        serde_json::json!(["none", "none", "none", "none"]),
        "{shown}"
    );
    let started = std::time::Instant::now();
    run_all(&browser).await;
    println!(
        "{}: the whole check took {:.1} s",
        engine.name(),
        started.elapsed().as_secs_f64()
    );
    // Its figures, whatever this busy machine lets the encoder reach (a pass or a warning that
    // says what held it back).
    let (verdict, sentence) = row(&browser, "throughput").await;
    println!("{}: throughput: {verdict}: {sentence}", engine.name());
    assert!(verdict == "pass" || verdict == "warning", "{sentence}");
    let figures = figures(&browser, "throughput").await;
    let data = figures["data_mbps"].as_f64().unwrap_or_default();
    let video = &figures["video"];
    assert!(data > 10.0, "the data channel carried {data} Mbit/s");
    assert!(
        video["peak_kbps"].as_f64().unwrap_or_default() > 300.0
            && video["frames_per_second"].as_f64().unwrap_or_default() > 10.0
            && video["seconds"].as_f64().unwrap_or_default() >= 20.0,
        "the video call: {video}"
    );
    expect(
        &browser,
        engine,
        "camera",
        "pass",
        "every common resolution, up to 1920×1080",
    )
    .await;
    expect(&browser, engine, "microphone", "pass", "dBFS on average").await;
    expect(&browser, engine, "speaker", "skipped", "Not answered").await;
    expect(
        &browser,
        engine,
        "network",
        "skipped",
        "No ICE server to ask",
    )
    .await;
    expect(
        &browser,
        engine,
        "connectivity",
        "pass",
        "Data went both ways directly",
    )
    .await;
    let summary = browser
        .eval("return document.getElementById('check-summary').textContent;")
        .await;
    let summary = summary.as_str().unwrap_or_default();
    // Everything works, or works with the throughput's limit on this machine.
    let limited = verdict == "warning";
    let head = if limited {
        "Check this machine: works, with limits"
    } else {
        "Check this machine: everything works"
    };
    assert!(summary.starts_with(head), "{summary}");
    assert!(summary.contains("Throughput: "), "{summary}");
    assert!(
        summary.contains("PASS Camera:") && summary.contains("SKIP Speaker:"),
        "{summary}"
    );
    // The speaker's answer changes its verdict and the summary with it (where a tone can play:
    // this machine's Firefox has no sound output, and says so).
    // Where the page can send sound elsewhere (Chromium, whose fake devices list outputs), the
    // tone goes to the output chosen; elsewhere there is no picker.
    let can_choose = browser
        .eval("return typeof AudioContext.prototype.setSinkId === 'function';")
        .await;
    let offered = browser
        .eval(
            "const field = document.getElementById('speaker-output-field');
             const picker = document.getElementById('speaker-output');
             if (field.hidden || picker.options.length < 2) return false;
             picker.value = picker.options[1].value;
             return true;",
        )
        .await;
    assert_eq!(offered, can_choose, "{}: the output picker", engine.name());
    browser.click("speaker-play").await;
    browser
        .wait_for(
            "the tone to play, or the page to say why it cannot",
            Duration::from_secs(5),
            "return !document.getElementById('speaker-heard').disabled
                || document.querySelector('[data-check=speaker]').dataset.verdict === 'fail';",
        )
        .await;
    let playable = browser
        .eval("return !document.getElementById('speaker-heard').disabled;")
        .await;
    if playable == Value::Bool(true) {
        browser.click("speaker-heard").await;
        expect(&browser, engine, "speaker", "pass", "You heard the tone").await;
        let output = browser
            .eval("return JSON.parse(document.querySelector('[data-check=speaker] .figures').textContent).output;")
            .await;
        let expected = if offered == Value::Bool(true) {
            serde_json::json!("an output chosen in the page")
        } else {
            Value::Null
        };
        assert_eq!(
            output,
            expected,
            "{}: the output in the figures",
            engine.name()
        );
    } else {
        expect(
            &browser,
            engine,
            "speaker",
            "fail",
            "did not start its sound output",
        )
        .await;
    }
    // The report names no device unless the person allows it.
    let labels = "return JSON.parse(window.wasmBindings.report_json()).environment.devices
        .filter(d => d.label !== null).length;";
    assert_eq!(
        browser.eval(labels).await,
        serde_json::json!(0),
        "{}: labels",
        engine.name()
    );
    browser.click("check-labels").await;
    let named = browser.eval(labels).await;
    assert!(
        named.as_u64().unwrap_or_default() > 0,
        "{}: labels once allowed: {named}",
        engine.name()
    );
    // A second run keeps the speaker's answer.
    let answered = row(&browser, "speaker").await;
    run(&browser).await;
    assert_eq!(
        row(&browser, "speaker").await,
        answered,
        "{}",
        engine.name()
    );
    let summary = browser
        .eval("return document.getElementById('check-summary').textContent;")
        .await;
    assert!(
        summary.as_str().unwrap_or_default().contains(&format!(
            "{} Speaker:",
            match answered.0.as_str() {
                "pass" => "PASS",
                "fail" => "FAIL",
                _ => "SKIP",
            }
        )),
        "{summary}"
    );
    // The report is JSON with every check, without device labels unless allowed.
    let report = browser
        .eval("return document.getElementById('check-summary').textContent;")
        .await;
    assert!(report.as_str().unwrap_or_default().contains("Speaker"));
    browser.close().await;
}

async fn a_refused_camera_fails_in_words(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    replace_get_user_media(
        &browser,
        "video",
        "() => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))",
    )
    .await;
    run(&browser).await;
    expect(
        &browser,
        engine,
        "camera",
        "fail",
        "was not allowed to use the camera",
    )
    .await;
    expect(&browser, engine, "microphone", "pass", "dBFS").await;
    browser.close().await;
}

async fn a_camera_short_of_full_hd_is_a_warning(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    // The camera as one that gives 1280×720 at most.
    replace_get_user_media(
        &browser,
        "video",
        "(c, own) => own({ ...c, video: { ...c.video,
            width: { ...c.video.width, max: 1280 }, height: { ...c.video.height, max: 720 } } })",
    )
    .await;
    run(&browser).await;
    expect(&browser, engine, "camera", "warning", "at most 1280×720").await;
    browser.close().await;
}

async fn a_silent_microphone_fails(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    // A stream of Web Audio with nothing playing into it.
    replace_get_user_media(
        &browser,
        "audio",
        "() => Promise.resolve(new AudioContext().createMediaStreamDestination().stream)",
    )
    .await;
    run(&browser).await;
    expect(&browser, engine, "microphone", "fail", "silence").await;
    browser.close().await;
}

async fn a_clipping_microphone_is_a_warning(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    // A tone four times louder than full scale.
    replace_get_user_media(
        &browser,
        "audio",
        "() => { const a = new AudioContext(); const o = a.createOscillator();
            const g = a.createGain(); g.gain.value = 4; o.connect(g);
            const d = a.createMediaStreamDestination(); g.connect(d); o.start();
            return Promise.resolve(d.stream); }",
    )
    .await;
    run(&browser).await;
    expect(&browser, engine, "microphone", "warning", "clipping").await;
    browser.close().await;
}

/// Three seconds of a 440 Hz tone four times louder than full scale, clipped, as a 16-bit WAV.
fn clipped_wav() -> Vec<u8> {
    let rate: u32 = 48_000;
    let samples: Vec<i16> = (0..rate * 3)
        .map(|i| {
            let x = 4.0 * (f64::from(i) * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin();
            (x.clamp(-1.0, 1.0) * f64::from(i16::MAX)) as i16
        })
        .collect();
    let data = u32::try_from(samples.len() * 2).expect("a short file");
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
}

async fn a_clipping_recording_is_a_warning(engine: Engine) {
    // The release page and the file, served together (the page's policy takes media from its
    // own origin only).
    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("check-clipping-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a folder");
    for entry in std::fs::read_dir(dist()).expect("dist/").flatten() {
        std::fs::copy(entry.path(), folder.join(entry.file_name())).expect("a copy");
    }
    std::fs::write(folder.join("clipped.wav"), clipped_wav()).expect("the file");
    let (_server, browser) = open_check_on(Server::start(&folder).await, engine).await;
    replace_get_user_media(
        &browser,
        "audio",
        "async () => { const a = new Audio('clipped.wav'); a.loop = true; await a.play();
            return a.captureStream ? a.captureStream() : a.mozCaptureStream(); }",
    )
    .await;
    run(&browser).await;
    expect(&browser, engine, "microphone", "warning", "clipping").await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(&folder);
}

async fn turn_with_the_right_secret_relays_data_both_ways(engine: Engine) {
    let coturn = Coturn::start().await;
    let (_server, browser) = open_check(engine).await;
    let (username, credential) = turn_credentials(&coturn.secret);
    let url = format!("turn:127.0.0.1:{}", coturn.port);
    add_server(&browser, &url, &username, &credential).await;
    run(&browser).await;
    expect(
        &browser,
        engine,
        "connectivity",
        "pass",
        "Data went both ways through the TURN server (relay ↔ relay)",
    )
    .await;
    expect(
        &browser,
        engine,
        "network",
        "pass",
        "through the TURN server",
    )
    .await;
    // The candidates' table shows the relay address, with when it came.
    let types = browser
        .eval(
            "return [...document.querySelectorAll('[data-check=network] table.candidates tr td:first-child')]
                .map(td => td.textContent);",
        )
        .await;
    assert!(
        types
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "relay")),
        "{types}"
    );
    browser.close().await;
}

async fn the_pages_own_turn_server_is_checked_and_the_report_fits_its_schema(engine: Engine) {
    let coturn = Coturn::start().await;
    let url = format!("turn:127.0.0.1:{}", coturn.port);
    let server = Server::start_with(&dist(), |config| {
        config.turn = Some(loopback_server::turn::Turn {
            urls: vec![url.clone()],
            secret: coturn.secret.clone(),
            ttl: Duration::from_secs(600),
        });
    })
    .await;
    let (_server, browser) = open_check_on(server, engine).await;
    run(&browser).await;
    // Asked for at the run, fresh: listed as the page's own.
    let listed = browser
        .eval("return document.getElementById('ice-list').textContent;")
        .await;
    assert!(
        listed
            .as_str()
            .unwrap_or_default()
            .contains(&format!("{url} (this page's server")),
        "{listed}"
    );
    expect(
        &browser,
        engine,
        "connectivity",
        "pass",
        "Data went both ways through the TURN server (relay ↔ relay)",
    )
    .await;
    let report = browser
        .eval("return window.wasmBindings.report_json();")
        .await;
    let report: Value = serde_json::from_str(report.as_str().expect("a report")).expect("JSON");
    assert_eq!(
        report["environment"]["served_by_server"], true,
        "{report:#}"
    );
    let mut errors = Vec::new();
    let schema: Value = serde_json::from_str(include_str!("../docs/check-report.schema.json"))
        .expect("the schema is JSON");
    loopback_check::schema::validate(&schema, &schema, &report, "report", &mut errors);
    assert!(errors.is_empty(), "{}: {errors:#?}", engine.name());
    // No credential of the page's server ends up in the report.
    let text = report.to_string();
    // Usernames the server hands a check are `expiry:check-…`; neither they nor a credential
    // (nor the secret) are in the report.
    assert!(
        !text.contains(":check-")
            && !text.contains("\"credential\"")
            && !text.contains(&coturn.secret),
        "{text}"
    );

    browser.close().await;
}

/// A check's figures, as the page shows them under "Figures".
async fn figures(browser: &Browser, check: &str) -> Value {
    let text = browser
        .eval(&format!(
            "return document.querySelector('[data-check={check}] .figures').textContent;"
        ))
        .await;
    serde_json::from_str(text.as_str().unwrap_or_default()).expect("JSON figures")
}

/// Asserts that the first ICE server checked failed, its sentence saying `words`.
async fn first_server_fails_saying(browser: &Browser, engine: Engine, words: &str) {
    let figures = figures(browser, "network").await;
    let server = &figures["servers"][0];
    println!("{}: {server:#}", engine.name());
    assert_eq!(server["verdict"], "fail", "{server:#}");
    assert!(
        server["sentence"]
            .as_str()
            .unwrap_or_default()
            .contains(words),
        "{server:#}"
    );
}

async fn turn_with_the_wrong_secret_is_a_401_explained(engine: Engine) {
    let coturn = Coturn::start().await;
    let (_server, browser) = open_check(engine).await;
    let (username, credential) = turn_credentials("not-the-secret");
    let url = format!("turn:127.0.0.1:{}", coturn.port);
    add_server(&browser, &url, &username, &credential).await;
    run(&browser).await;
    first_server_fails_saying(&browser, engine, "refused the credentials (401)").await;
    expect(&browser, engine, "connectivity", "fail", "TURN server").await;
    // And in words on the page, under the network's row.
    let said = browser
        .eval("return document.querySelector('[data-check=network] .ice-errors').textContent;")
        .await;
    assert!(
        said.as_str()
            .unwrap_or_default()
            .contains("refused the credentials (401)"),
        "{said}"
    );
    browser.close().await;
}

async fn a_turn_port_with_nothing_listening_is_a_timeout_explained(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("turn:127.0.0.1:{port}?transport=tcp");
    add_server(&browser, &url, "1:check", "x").await;
    run(&browser).await;
    let words =
        format!("TCP port {port} is blocked on the way (a firewall), or nothing listens there");
    first_server_fails_saying(&browser, engine, &words).await;
    browser.close().await;
}
