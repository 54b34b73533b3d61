// Starts the page from a file, not inline, for its CSP. First the tutorial's module, which makes
// Start work; then the rest of the page (controls, stats, rooms), which the tutorial hands the
// page over to. The files' names come in this file's URL (Trunk.toml, and the post-build hook
// that names the rest by its content).
const url = new URL(import.meta.url);
const asset = (name) => new URL(url.searchParams.get(name), url);
const tutorial = await import(asset('js'));
await tutorial.default({ module_or_path: asset('wasm') });
window.wasmBindings = tutorial; // for DevTools and the benchmark
try {
  const rest = url.searchParams.get('rest');
  const page = await import(new URL(`${rest}.js`, url));
  await page.default({ module_or_path: new URL(`${rest}_bg.wasm`, url) });
  page.mount(await tutorial.hand_over());
  window.wasmBindings = page;
} catch (e) {
  tutorial.rest_failed(String(e));
}
