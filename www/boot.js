// The end of the first module's script: scripts/post-build appends this file to the module's
// wasm-bindgen glue, after a line that gives it START_WASM (the module's wasm, in hex), REST
// (the name of the rest of the page, by its content) and CHECK (that of "Check this machine",
// loaded instead of the rest on ?check, and only there).
//
// The wasm is in the script, compiled and started synchronously, so Start works while the
// browser is still running the page's deferred scripts: before DOMContentLoaded and before the
// first paint, as with a plain script. Fetching it apart would add asynchronous steps, and the
// browser runs its first style, layout and paint (about 15 ms here) before the first of them.
// At 24 KB the module compiles in 0.4 ms in Chromium and 1.8 ms in Firefox, which compiles every
// function before it runs (README, "Where a load's time goes").
// `fromHex` is in Chrome 140, Firefox 133 and Safari 18.2; older browsers decode it here (a few
// ms). Synchronous compiling needs Chrome 114 or any Firefox or Safari.
try {
  const module = new WebAssembly.Module(
    Uint8Array.fromHex?.(START_WASM) ??
      Uint8Array.from(START_WASM.match(/../g), (byte) => parseInt(byte, 16)),
  );
  // With the script's start and Start usable, these marks time the load's steps (DevTools, the
  // benchmark).
  performance.mark('loopback:first-module-compiled');
  initSync({ module });
} catch (e) {
  // Without its first module nothing on the page works, and only this script can say so.
  const status = document.getElementById('status');
  status.className = 'error';
  status.textContent = `This browser could not start the page (${e}). Use a current Chrome, Edge, Firefox or Safari.`;
  throw e;
}
window.wasmBindings = { hand_over, rest_failed }; // for DevTools and tests, until the rest is in

// Then the rest of the page (controls, stats, rooms), which takes over the camera from here. Its
// wasm is asked for with its glue, not once the glue has run: on a first visit the glue's
// arrival, compile and run came between them (50 ms in Firefox over the lab's 10 Mbit/s link).
try {
  const rest = new URLSearchParams(location.search).has('check') ? CHECK : REST;
  const wasm = fetch(new URL(`${rest}_bg.wasm`, import.meta.url));
  // A failed import below is the error to show; the fetch's own failure then goes unheard.
  wasm.catch(() => {});
  const page = await import(new URL(`${rest}.js`, import.meta.url));
  await page.default({ module_or_path: wasm });
  page.mount(await hand_over());
  window.wasmBindings = page;
} catch (e) {
  rest_failed(String(e));
}
