// Checkpoint kiosk page: camera -> JPEG frame -> kiosk server -> verdict on screen.
// One frame is in flight at a time: the next is grabbed when the answer arrives, so a slow
// server or network never piles requests up. Nothing is stored in the browser.
'use strict';

(() => {
  const CLEAR_AFTER_MS = 1500;   // the verdict clears when no code was seen for this long
  const MAX_FRAME_WIDTH = 1280;  // larger camera frames are scaled down before sending
  const JPEG_QUALITY = 0.85;
  const STATUS_EVERY_MS = 60000;
  const HOLD_TYPED_MS = 8000;    // an uploaded or pasted code's verdict stays this long

  const $ = (id) => document.getElementById(id);
  const verdict = $('verdict');
  const video = $('video');
  const canvas = $('canvas');
  const cameraMessage = $('camera-message');
  const cameraSelect = $('camera-select');

  let stream = null;
  let scanning = false;
  let generation = 0;          // bumps when the camera changes, ending the old loop
  let lastCodeSeen = 0;        // performance.now() of the last frame that showed a code
  let shown = null;            // the verdict on screen: {state, code, received, seconds_left}
  let audio = null;
  let soundOn = false;

  // Timeline for tests and benchmarks: when the camera started, when each verdict showed.
  window.kiosk = { startedAt: null, verdicts: [] };

  // ---- verdict display -------------------------------------------------------------------

  function render(v, source) {
    const same = shown && shown.code === v.code && shown.state === v.state;
    shown = { ...v, received: performance.now() };
    if (same && !v.announce) { updateTimeLeft(); return; }
    verdict.dataset.state = v.state;
    verdict.dataset.reason = v.state === 'invalid' ? (v.reason || '') : '';
    if (v.colour && (v.state === 'admit' || v.state === 'deny')) verdict.dataset.colour = v.colour;
    else delete verdict.dataset.colour;
    const word = { admit: 'ADMIT', deny: 'DENY', invalid: 'INVALID' }[v.state];
    $('verdict-word').textContent = word;
    if (v.state === 'invalid') {
      $('verdict-line').textContent = v.message;
      $('verdict-detail').textContent = v.detail || '';
      $('verdict-static').hidden = true;
    } else {
      $('verdict-line').textContent =
        `${v.colour.toUpperCase()} · score ${v.score}` + (v.state === 'deny' ? ` · ${v.message}` : '');
      updateTimeLeft();
      const note = $('verdict-static');
      note.hidden = v.state !== 'admit';
      note.classList.toggle('live', !v.static);
      note.textContent = !v.static ? `Live code from its phone, made ${v.presented_ago} s ago`
        : v.id_check ? `Static code — check ID: name ${v.id_check.name} · ID number ending ${v.id_check.id_tail}`
          : 'Static code — check ID';
    }
    window.kiosk.verdicts.push({ state: v.state, reason: v.reason || null, at: performance.now(),
                                 source, announce: !!v.announce });
    if (v.announce) beep(v.state);
  }

  function updateTimeLeft() {
    if (!shown || (shown.state !== 'admit' && shown.state !== 'deny')) return;
    const left = Math.max(0, shown.seconds_left - Math.floor((performance.now() - shown.received) / 1000));
    $('verdict-detail').textContent = `${issuerText(shown)} · expires in ${humanize(left)}`;
  }

  function issuerText(v) { return v.issuer_name ? `issued by ${v.issuer_name}` : ''; }

  function humanize(seconds) {
    if (seconds <= 0) return 'less than a second';
    const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
    const m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${m} min`;
    if (m) return `${m} min`;
    return `${s} s`;
  }

  function clearVerdict() {
    shown = null;
    verdict.dataset.state = 'idle';
    verdict.dataset.reason = '';
    delete verdict.dataset.colour;
    $('verdict-word').textContent = 'READY';
    $('verdict-line').textContent = 'Show your code to the camera';
    $('verdict-detail').textContent = '';
    $('verdict-static').hidden = true;
  }

  function handle(v, source) {
    if (!v || !v.state) return;
    if (v.state === 'idle') {
      if (shown && performance.now() - lastCodeSeen > CLEAR_AFTER_MS) clearVerdict();
      return;
    }
    lastCodeSeen = performance.now() + (source === 'camera' ? 0 : HOLD_TYPED_MS);
    render(v, source);
  }

  // ---- sound -------------------------------------------------------------------------------

  function beep(state) {
    if (!soundOn || !audio) return;
    const tones = state === 'admit' ? [[880, 0, 0.12]] : [[330, 0, 0.15], [330, 0.22, 0.15]];
    const t0 = audio.currentTime;
    for (const [freq, start, length] of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      osc.type = state === 'admit' ? 'sine' : 'square';
      gain.gain.setValueAtTime(0.25, t0 + start);
      gain.gain.exponentialRampToValueAtTime(0.001, t0 + start + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(t0 + start);
      osc.stop(t0 + start + length);
    }
  }

  $('sound').addEventListener('click', async () => {
    soundOn = !soundOn;
    if (soundOn && !audio) audio = new AudioContext();
    if (audio && audio.state === 'suspended') await audio.resume();
    $('sound').textContent = soundOn ? 'Sound on' : 'Sound off';
    $('sound').setAttribute('aria-pressed', String(soundOn));
  });

  // ---- talking to the kiosk server ---------------------------------------------------------

  async function post(url, body, type) {
    const headers = type ? { 'Content-Type': type } : {};
    const response = await fetch(url, { method: 'POST', body, headers, cache: 'no-store' });
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      return { state: 'invalid', reason: (answer && answer.error) || 'error',
               message: (answer && answer.message) || `The kiosk answered ${response.status}`,
               code: null, announce: true };
    }
    return answer;
  }

  async function refreshStatus() {
    try {
      const status = await (await fetch('/api/status', { cache: 'no-store' })).json();
      $('rule-text').textContent = status.rule_text;
      const warning = [status.trust.warning, status.revocations && status.revocations.warning,
        status.sync && status.sync.warning].filter(Boolean).join(' ');
      $('trust-warning').hidden = !warning;
      $('trust-warning').textContent = warning;
      if (status.trust.ok) {
        $('trust').innerHTML = '';
        $('trust').append(label('Trust list'), ` #${status.trust.sequence}, ${status.trust.age} old`);
      }
      if (status.sync) {
        $('sync').innerHTML = '';
        $('sync').append(label('Synced'), status.sync.last_sync
          ? ` ${status.sync.age} ago` : ' never');
        if (status.sync.background) {
          const every = document.createElement('span');
          every.className = 'muted';
          every.textContent = ` (every ${status.sync.background.every})`;
          $('sync').append(every);
        }
      }
    } catch (e) { /* the kiosk server is down: the next frame will say so */ }
  }

  function label(text) {
    const span = document.createElement('span');
    span.className = 'label';
    span.textContent = text;
    return span;
  }

  // ---- camera ------------------------------------------------------------------------------

  function sayCamera(text) {
    cameraMessage.textContent = text;
    cameraMessage.hidden = !text;
  }

  const CAMERA_ERRORS = {
    NotAllowedError: 'Camera access was denied. Allow the camera for this page in the browser\'s '
      + 'site settings and reload; meanwhile use a photo or the code text below.',
    SecurityError: 'The browser blocked the camera for this page. Use a photo or the code text below.',
    NotFoundError: 'No camera found on this device. Use a photo or the code text below.',
    OverconstrainedError: 'No camera found on this device. Use a photo or the code text below.',
    NotReadableError: 'The camera is in use by another program, or failed to start. Close the '
      + 'other program and reload, or use a photo or the code text below.',
  };

  async function startCamera(deviceId) {
    if (!window.isSecureContext) {
      sayCamera(`This page is open on an insecure origin (${location.origin}): browsers give such `
        + 'pages no camera. Open it on this machine at http://127.0.0.1 or http://localhost, or '
        + 'serve it over HTTPS. Meanwhile use a photo or the code text below.');
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      sayCamera('This browser offers no camera to web pages. Use a photo or the code text below.');
      return;
    }
    const video_ = deviceId
      ? { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } }
      : { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } };
    try {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      // The camera's clock starts when it is asked for, not when the video starts playing
      // (which a busy machine can delay by a good part of a second).
      if (window.kiosk.startedAt === null) window.kiosk.startedAt = performance.now();
      stream = await navigator.mediaDevices.getUserMedia({ video: video_, audio: false });
    } catch (e) {
      sayCamera(CAMERA_ERRORS[e.name] || `The camera could not start (${e.name}). `
        + 'Use a photo or the code text below.');
      return;
    }
    sayCamera('');
    video.srcObject = stream;
    await video.play().catch(() => {});
    await listCameras();
    generation += 1;
    scan(generation);
  }

  async function listCameras() {
    const devices = (await navigator.mediaDevices.enumerateDevices())
      .filter((d) => d.kind === 'videoinput');
    if (devices.length < 2) { $('camera-pick').hidden = true; return; }
    const current = stream.getVideoTracks()[0].getSettings().deviceId;
    cameraSelect.replaceChildren(...devices.map((d, i) => {
      const option = new Option(d.label || `Camera ${i + 1}`, d.deviceId);
      option.selected = d.deviceId === current;
      return option;
    }));
    $('camera-pick').hidden = false;
  }

  cameraSelect.addEventListener('change', () => startCamera(cameraSelect.value));

  function grab() {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    const scale = Math.min(1, MAX_FRAME_WIDTH / w);
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
  }

  const nextPaint = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function scan(mine) {
    if (scanning && mine !== generation) return;
    scanning = true;
    while (mine === generation) {
      const frame = await grab();
      if (!frame) { await sleep(50); continue; }
      try {
        handle(await post('/api/frame', frame, 'image/jpeg'), 'camera');
      } catch (e) {
        sayCamera('The kiosk server does not answer. Is healthcode-verifier kiosk running?');
        await sleep(1000);
        sayCamera('');
      }
      await nextPaint();   // let the verdict paint before the next frame
    }
  }

  // ---- fallbacks: upload and paste ---------------------------------------------------------

  $('upload').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append('image', file);
    handle(await post('/api/upload', form), 'upload');
    event.target.value = '';
  });

  $('text-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('code-text').value;
    handle(await post('/api/text', JSON.stringify({ text }), 'application/json'), 'text');
    $('code-text').value = '';
  });

  setInterval(updateTimeLeft, 1000);
  setInterval(refreshStatus, STATUS_EVERY_MS);
  refreshStatus();
  startCamera();
})();
