// The loopback page in plain JavaScript, for the benchmark: the same markup (the benchmark builds
// this page from ../index.html), the same steps, the same log and stats readings as the Rust/wasm
// page, and no library, so that the only difference measured is Rust/wasm.
'use strict';
// The moment the script starts running, which both pages mark (www/boot.js and scripts/post-build).
performance.mark('loopback:script-start');

const $ = (id) => document.getElementById(id);
const startButton = $('start-btn');
const callButton = $('call-btn');
const hangUpButton = $('hangup-btn');
const localVideo = $('localStream');
const remoteVideo = $('remoteStream');
const statusLine = $('status');
const log = $('log');
const panel = $('stats');

const messages = {
  NotAllowedError: 'Camera and microphone access was refused. Allow it from the camera icon in the address bar (or the site settings), then press Start again.',
  NotFoundError: 'No camera or microphone was found. Connect one, then press Start again.',
  NotReadableError: 'The camera or microphone is in use by another application (or blocked by the system). Close that application, then press Start again.',
  AbortError: 'The camera or microphone stopped before it could start. Press Start to try again.',
  SecurityError: "The browser blocks camera access on this page (security settings or a permissions policy).",
};

// Same phases and tickets as core/src/controls.rs: a result from before the last HangUp is ignored.
let phase = 'idle';
let generation = 0;
let stream = null;
let call = null;
let origin = performance.now();

function render() {
  startButton.disabled = phase !== 'idle';
  callButton.disabled = phase !== 'ready';
  hangUpButton.disabled = phase === 'idle';
}

function status(text, isError = false) {
  statusLine.className = isError ? 'error' : '';
  statusLine.textContent = text;
}

function step(text) {
  const ms = performance.now() - origin;
  const item = document.createElement('li');
  item.textContent = `+${Math.max(0, Math.round(ms))} ms ${text}`;
  log.append(item);
  return ms;
}

function describe(error) {
  if (error.name === 'OverconstrainedError') {
    return `No camera or microphone can satisfy the requested settings (${error.constraint || error.message || 'unknown constraint'}).`;
  }
  return messages[error.name] || `The browser reported ${error.name || 'an error'}: ${error.message}`;
}

async function start() {
  if (phase !== 'idle') return;
  phase = 'starting';
  const ticket = generation;
  log.textContent = '';
  origin = performance.now();
  step('Start: asking for the camera and microphone');
  status('Asking for the camera and microphone…');
  render();
  try {
    if (!navigator.mediaDevices) throw { name: 'InsecureContext' };
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    if (ticket !== generation || phase !== 'starting') {
      media.getTracks().forEach((t) => t.stop());
      return;
    }
    phase = 'ready';
    stream = media;
    localVideo.srcObject = media;
    const labels = media.getTracks().map((t) => `${t.kind === 'video' ? 'camera' : 'microphone'} “${t.label}”`);
    step(`local stream obtained: ${labels.join(', ')}`);
    status('Camera and microphone on. Press Call to connect the two peers.');
  } catch (error) {
    if (ticket !== generation || phase !== 'starting') return;
    phase = 'idle';
    const text = error.name === 'InsecureContext'
      ? 'This page cannot use the camera because it was not opened from a secure origin. Open it over https:// or from http://localhost (or 127.0.0.1).'
      : describe(error);
    step(`getUserMedia failed: ${text}`);
    status(text, true);
  }
  render();
}

// One call: both peers, their listeners (removed through the AbortController), the stats timer.
function makeCall() {
  const local = new RTCPeerConnection();
  const remote = new RTCPeerConnection();
  const listeners = new AbortController();
  const on = (target, type, fn) => target.addEventListener(type, fn, { signal: listeners.signal });
  const c = { local, remote, listeners, timer: 0, frame: 0, alive: true, shown: false, timings: {} };
  const peers = { local, remote };
  for (const [name, pc] of Object.entries(peers)) {
    const other = name === 'local' ? remote : local;
    let handed = 0;
    on(pc, 'icecandidate', (e) => {
      if (e.candidate) handed++;
      else step(`${name} peer handed ${handed} ICE candidates to the ${name === 'local' ? 'remote' : 'local'} peer, then end-of-candidates`);
      other.addIceCandidate(e.candidate).catch((err) => c.alive && step(`${name} peer: Add ICE candidate failed: ${err.message}`));
    });
    on(pc, 'iceconnectionstatechange', () => {
      const ms = step(`${name} peer ICE connection: ${pc.iceConnectionState}`);
      if (name === 'local' && /connected|completed/.test(pc.iceConnectionState)) c.timings.ice ??= ms;
    });
    on(pc, 'connectionstatechange', () => {
      const ms = step(`${name} peer connection: ${pc.connectionState}`);
      if (name === 'local' && pc.connectionState === 'connected') c.timings.dtls ??= ms;
      if (pc.connectionState === 'failed') status(`Connecting the peers failed: the ${name} peer's connection failed`, true);
      if (local.connectionState === 'connected' && remote.connectionState === 'connected' && !c.timer) {
        status('Connected: the remote peer is receiving your camera and microphone.');
        startStats(c);
      }
    });
  }
  on(remote, 'track', (e) => {
    step(`remote peer received the ${e.track.kind} track`);
    if (c.shown || !e.streams[0]) return;
    c.shown = true;
    remoteVideo.srcObject = e.streams[0];
    step('remote stream received and shown in the remote video');
  });
  on(remoteVideo, 'resize', () => {
    if (remoteVideo.videoWidth) step(`remote video size: ${remoteVideo.videoWidth}×${remoteVideo.videoHeight}`);
  });
  c.frame = remoteVideo.requestVideoFrameCallback(() => {
    const ms = step('first remote frame decoded');
    c.timings.setup ??= ms;
    c.read?.(); // as the Rust page: a first stats reading once the call is set up
    step(`Setup time: ${Math.round(ms)} ms`);
    status(`Setup time: ${Math.round(ms)} ms. The call is running; press HangUp to end it.`);
  });
  stream.getTracks().forEach((t) => local.addTrack(t, stream));
  return c;
}

function closeCall(c) {
  c.alive = false;
  clearInterval(c.timer);
  remoteVideo.cancelVideoFrameCallback(c.frame);
  c.listeners.abort();
  c.local.close();
  c.remote.close();
}

async function negotiate(c) {
  const steps = [
    ['Create offer', 'local peer created the offer', () => c.local.createOffer()],
    ['Set the offer as local description', 'local peer set the offer as its local description', (o) => c.local.setLocalDescription(o)],
    ['Set the offer as remote description', 'remote peer set the offer as its remote description', () => c.remote.setRemoteDescription(c.offer)],
    ['Create answer', 'remote peer created the answer', () => c.remote.createAnswer()],
    ['Set the answer as local description', 'remote peer set the answer as its local description', (a) => c.remote.setLocalDescription(a)],
    ['Set the answer as remote description', 'local peer set the answer as its remote description', () => c.local.setRemoteDescription(c.answer)],
  ];
  let value;
  for (const [name, done, run] of steps) {
    try {
      value = await run(value) ?? value;
    } catch (error) {
      if (!c.alive) return;
      throw new Error(`${name} failed: ${error.message}`);
    }
    if (!c.alive) return;
    if (name === 'Create offer') c.offer = value;
    if (name === 'Create answer') c.answer = value;
    step(done);
  }
}

function placeCall() {
  if (phase !== 'ready') return;
  phase = 'in-call';
  const ticket = generation;
  origin = performance.now();
  step('Call: creating the two peers');
  call = makeCall();
  status('Calling: the peers are negotiating…');
  render();
  negotiate(call).catch((error) => {
    if (ticket !== generation || phase !== 'in-call') return;
    phase = 'ready';
    closeCall(call);
    call = null;
    remoteVideo.srcObject = null;
    step(`call torn down: ${error.message}`);
    status(error.message, true);
    render();
  });
}

function hangUp() {
  if (phase === 'idle') return;
  phase = 'idle';
  generation++;
  const hadCall = !!call;
  if (call) closeCall(call);
  call = null;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  localVideo.srcObject = null;
  remoteVideo.srcObject = null;
  step(hadCall ? 'HangUp: both peers closed, every track stopped' : 'HangUp: every track stopped');
  status('Hung up. Press Start to begin again.');
  render();
}

// The same readings as the Rust page's panel: both peers once a second, figures into the cells.
function startStats(c) {
  panel.hidden = false;
  let last = null;
  const read = async () => {
    const [l, r] = await Promise.all([c.local.getStats(), c.remote.getStats()]);
    if (!c.alive) return;
    const find = (report, type, kind) => [...report.values()].find((e) => e.type === type && e.kind === kind);
    const vOut = find(l, 'outbound-rtp', 'video');
    const vIn = find(r, 'inbound-rtp', 'video');
    const kbps = (now, before, key) => (now && before && now.timestamp > before.timestamp && now[key] >= before[key]
      ? ((now[key] - before[key]) * 8 / (now.timestamp - before.timestamp)).toFixed(0) : '–');
    const cell = (key, text) => { panel.querySelector(`[data-stat="${key}"]`).textContent = text ?? '–'; };
    const codec = vOut && l.get(vOut.codecId);
    cell('video-codec', codec && `${codec.mimeType}, ${codec.clockRate / 1000} kHz`);
    cell('video-fps', vOut && vIn ? `${vOut.framesPerSecond ?? '–'} / ${vIn.framesPerSecond ?? '–'}` : '–');
    cell('video-bitrate', `${kbps(vOut, last?.vOut, 'bytesSent')} / ${kbps(vIn, last?.vIn, 'bytesReceived')} kbit/s`);
    const transport = [...l.values()].find((e) => e.type === 'transport');
    const pair = transport && l.get(transport.selectedCandidatePairId);
    const candidate = (id) => { const x = l.get(id); return x && `${x.candidateType} ${x.protocol} ${x.address}:${x.port}`; };
    cell('pair-local', pair && candidate(pair.localCandidateId));
    cell('pair-remote', pair && candidate(pair.remoteCandidateId));
    cell('rtt', pair && pair.currentRoundTripTime !== undefined ? `${(pair.currentRoundTripTime * 1000).toFixed(1)} ms` : '–');
    cell('dtls', transport?.dtlsState);
    cell('timing-setup', c.timings.setup !== undefined ? `${Math.round(c.timings.setup)} ms` : '–');
    last = { vOut, vIn };
  };
  c.read = read;
  c.timer = setInterval(read, 1000);
}

startButton.addEventListener('click', start);
callButton.addEventListener('click', placeCall);
hangUpButton.addEventListener('click', hangUp);
render();
status(typeof RTCPeerConnection === 'function'
  ? 'Ready. Press Start to turn on the camera and microphone.'
  : 'This browser does not support WebRTC (RTCPeerConnection is missing). Use a current Chrome, Edge, Firefox or Safari.', typeof RTCPeerConnection !== 'function');
performance.mark('loopback:start-usable');
