// Starts the wasm from a file, not inline, for the page's CSP; names come in the URL (Trunk.toml).
const url = new URL(import.meta.url);
const asset = (name) => new URL(url.searchParams.get(name), url);
const bindings = await import(asset('js'));
await bindings.default({ module_or_path: asset('wasm') });
window.wasmBindings = bindings; // for DevTools and the benchmark
