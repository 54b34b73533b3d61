//! Files sent between pages: a file of random bytes handed to the page as a person would, the
//! rows of the transfers, and the hash of what a person would save.

use super::room::Side;
use serde_json::Value;
use std::time::Duration;

pub const MIB: u64 = 1 << 20;

/// Remembers every Blob the page turns into a link, so that the test can read what a person
/// would save (the page's CSP keeps `fetch` off `blob:` URLs, rightly).
pub const KEEP_BLOBS: &str = "
    if (!window.__saved) {
        window.__saved = new Map();
        const create = URL.createObjectURL;
        URL.createObjectURL = (blob) => {
            const url = create.call(URL, blob);
            window.__saved.set(url, blob);
            return url;
        };
        window.__revoked = [];
        const revoke = URL.revokeObjectURL;
        URL.revokeObjectURL = (url) => {
            window.__revoked.push(url);
            revoke.call(URL, url);
        };
    }";

/// Makes a file of `size` random bytes named `name` and hands it to the page, by the file
/// picker or dropped on the page (`how`); returns its SHA-256 as the browser computes it.
pub async fn offer(side: &Side<'_>, name: &str, size: u64, how: &str) -> String {
    let script = format!(
        "const bytes = new Uint8Array({size});
         for (let at = 0; at < bytes.length; at += 65536) {{
             crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, bytes.length)));
         }}
         const digest = await crypto.subtle.digest('SHA-256', bytes);
         const data = new DataTransfer();
         data.items.add(new File([bytes], {name:?}));
         if ({how:?} === 'drop') {{
             const target = document.querySelector('main');
             target.dispatchEvent(new DragEvent('dragover', {{ dataTransfer: data, bubbles: true, cancelable: true }}));
             target.dispatchEvent(new DragEvent('drop', {{ dataTransfer: data, bubbles: true, cancelable: true }}));
         }} else {{
             const input = document.getElementById('file-input');
             input.files = data.files;
             input.dispatchEvent(new Event('change', {{ bubbles: true }}));
         }}
         return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');"
    );
    let script = format!("return (async () => {{ {script} }})();");
    side.eval(&script)
        .await
        .as_str()
        .unwrap_or_else(|| panic!("{}: no hash", side.name))
        .to_owned()
}

/// The newest row of `direction` ("in", "out"), as `[state, figures, has a link]`.
fn row(direction: &str) -> String {
    format!(
        "const rows = document.querySelectorAll('#transfers li[data-direction={direction}]');
         const row = rows[rows.length - 1];
         if (!row) return null;
         return [row.dataset.state, row.querySelector('.figures').textContent, !!row.querySelector('a[download]')];"
    )
}

pub async fn state(side: &Side<'_>, direction: &str) -> (String, String, bool) {
    let value = side.eval(&row(direction)).await;
    let text = |i: usize| value[i].as_str().unwrap_or_default().to_owned();
    (text(0), text(1), value[2] == Value::Bool(true))
}

pub async fn wait_state(side: &Side<'_>, direction: &str, states: &[&str], within: Duration) {
    let script = format!(
        "const rows = document.querySelectorAll('#transfers li[data-direction={direction}]');
         const row = rows[rows.length - 1];
         return !!row && {states:?}.includes(row.dataset.state);"
    );
    side.wait_for_within(
        &format!("the {direction} row to be {states:?}"),
        within,
        &script,
    )
    .await;
}

/// Presses the button `action` of the newest row of `direction`.
pub async fn press(side: &Side<'_>, direction: &str, action: &str) {
    let script = format!(
        "const rows = document.querySelectorAll('#transfers li[data-direction={direction}]');
         rows[rows.length - 1].querySelector('button[data-action={action}]').click();"
    );
    side.eval(&script).await;
}

/// The bytes received so far on the newest incoming row.
pub async fn received(side: &Side<'_>) -> f64 {
    side.eval(
        "const rows = document.querySelectorAll('#transfers li[data-direction=in]');
         const bar = rows[rows.length - 1].querySelector('progress');
         return bar.value;",
    )
    .await
    .as_f64()
    .unwrap_or(0.0)
}

/// The SHA-256 of the file the newest incoming row saves, hashed by the browser.
pub async fn saved_hash(side: &Side<'_>) -> String {
    side.eval(
        "const rows = document.querySelectorAll('#transfers li[data-direction=in]');
         const link = rows[rows.length - 1].querySelector('a[download]');
         const blob = window.__saved.get(link.href);
         return blob.arrayBuffer()
             .then(b => crypto.subtle.digest('SHA-256', b))
             .then(d => [...new Uint8Array(d)].map(b => b.toString(16).padStart(2, '0')).join('') + ' ' + blob.size + ' ' + link.download);",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Presses Remove on the newest incoming row: the row goes, and its file's URL is revoked.
pub async fn remove_received(side: &Side<'_>) {
    let gone = side
        .eval(
            "const rows = document.querySelectorAll('#transfers li[data-direction=in]');
             const row = rows[rows.length - 1];
             const href = row.querySelector('a[download]').href;
             row.querySelector('button[data-action=remove]').click();
             return [row.isConnected, window.__revoked.includes(href)];",
        )
        .await;
    assert_eq!(
        gone,
        serde_json::json!([false, true]),
        "{}: Remove takes the row and lets go of the file",
        side.name
    );
}
