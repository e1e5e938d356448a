// Checkpoint kiosk page: camera -> JPEG frame -> kiosk server -> verdict on screen, in words,
// a shape and a sound, in the reader's language (/shared/i18n.js).
// One frame is in flight at a time: the next is grabbed when the answer arrives, so a slow
// server or network never piles requests up. Nothing about any code is stored in the browser;
// only the sound preference is (localStorage).
import { _, locale } from "/shared/i18n.js";

const CLEAR_AFTER_MS = 1500;   // the verdict clears when no code was seen for this long
const MAX_FRAME_WIDTH = 1280;  // larger camera frames are scaled down before sending
const JPEG_QUALITY = 0.85;
const STATUS_EVERY_MS = 60000;
const HOLD_TYPED_MS = 8000;    // an uploaded or pasted code's verdict stays this long
const SOUND_KEY = "healthcode.kiosk.sound";  // i18n: not shown

// Each verdict has its own tone AND its own rhythm, so deny and invalid differ by ear alone:
// admit one high sine, deny two low square beeps, invalid three falling sawtooth notes.
// [frequency Hz, start s, length s]
const TONES = {
  admit: { type: "sine", notes: [[880, 0, 0.15]] },
  deny: { type: "square", notes: [[330, 0, 0.18], [330, 0.26, 0.18]] },
  invalid: { type: "sawtooth", notes: [[660, 0, 0.12], [440, 0.16, 0.12], [262, 0.32, 0.3]] },
};

const $ = (id) => document.getElementById(id);
const verdict = $("verdict");
const video = $("video");
const canvas = $("canvas");
const cameraMessage = $("camera-message");
const cameraSelect = $("camera-select");

const WORDS = { idle: _("READY"), admit: _("ADMIT"), deny: _("DENY"), invalid: _("INVALID") };
const COLOURS = { green: _("GREEN"), yellow: _("YELLOW"), red: _("RED") };
const SPOKEN_COLOURS = { green: _("green"), yellow: _("yellow"), red: _("red") };

let stream = null;
let scanning = false;
let generation = 0;          // bumps when the camera changes, ending the old loop
let lastCodeSeen = 0;        // performance.now() of the last frame that showed a code
let shown = null;            // the verdict on screen: {state, code, received, seconds_left}
let audio = null;
let soundOn = readSound();

// For tests and benchmarks: when the camera started, each verdict, what was said and played.
window.kiosk = { startedAt: null, verdicts: [], announcements: [], played: [], tones: TONES,
                 sound: null };

// ---- verdict display -------------------------------------------------------------------

function render(v, source) {
  const same = shown && shown.code === v.code && shown.state === v.state;
  shown = { ...v, received: performance.now() };
  if (same && !v.announce) { updateTimeLeft(); return; }
  verdict.dataset.state = v.state;
  verdict.dataset.reason = v.state === "invalid" ? (v.reason || "") : "";
  if (v.colour && (v.state === "admit" || v.state === "deny")) verdict.dataset.colour = v.colour;
  else delete verdict.dataset.colour;
  $("verdict-word").textContent = WORDS[v.state];
  const note = $("verdict-static");
  if (v.state === "invalid") {
    $("verdict-line").textContent = v.message;
    $("verdict-detail").textContent = v.detail || "";
    note.hidden = true;
  } else {
    const score = _("score {score}", { score: v.score });
    $("verdict-line").textContent = `${COLOURS[v.colour]} · ${score}`
      + (v.state === "deny" ? ` · ${v.message}` : "");
    updateTimeLeft();
    note.hidden = v.state !== "admit";
    note.classList.toggle("live", !v.static);
    note.textContent = staticNote(v);
  }
  window.kiosk.verdicts.push({ state: v.state, reason: v.reason || null, at: performance.now(),
                               source, announce: !!v.announce });
  if (v.announce) {
    announce(spoken(v));
    beep(v.state);
  }
}

function staticNote(v) {
  if (!v.static) return _("Live code from its phone, made {age} ago", { age: humanize(v.presented_ago) });
  if (v.id_check) {
    return _("Static code — check ID: name {name} · ID number ending {tail}",
             { name: v.id_check.name, tail: v.id_check.id_tail });
  }
  return _("Static code — check ID");
}

/** The verdict as a screen reader says it: what it is, the colour, what the number is. */
function spoken(v) {
  if (v.state === "invalid") return _("Invalid: {why}", { why: v.message });
  const params = { colour: SPOKEN_COLOURS[v.colour], score: v.score, why: v.message };
  if (v.state === "deny") return _("Deny, {colour}, score {score}: {why}", params);
  const admitted = _("Admit, {colour}, score {score}", params);
  return v.static ? _("{verdict}. {note}", { verdict: admitted, note: staticNote(v) }) : admitted;
}

function announce(text) {
  $("verdict-announce").textContent = text;
  window.kiosk.announcements.push(text);
}

function updateTimeLeft() {
  if (!shown || (shown.state !== "admit" && shown.state !== "deny")) return;
  const left = Math.max(0, shown.seconds_left - Math.floor((performance.now() - shown.received) / 1000));
  const expires = _("expires in {time}", { time: humanize(left) });
  const issuer = shown.issuer_name ? _("issued by {issuer}", { issuer: shown.issuer_name }) : "";
  $("verdict-detail").textContent = [issuer, expires].filter(Boolean).join(" · ");
}

const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];  // i18n: not shown

/** A span in its two largest units, as the server writes it: "2d 0h", "2天0小时". */
function humanize(seconds) {
  let rest = Math.abs(Math.floor(seconds || 0));
  let first = UNITS.findIndex(([, size]) => rest >= size);
  if (first < 0) first = UNITS.length - 1;
  const parts = UNITS.slice(first, first + 2).map(([unit, size]) => {
    const value = Math.floor(rest / size);
    rest %= size;
    return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "narrow" }).format(value);
  });
  return parts.join(locale.startsWith("zh") ? "" : " ");
}

function clearVerdict() {
  shown = null;
  verdict.dataset.state = "idle";
  verdict.dataset.reason = "";
  delete verdict.dataset.colour;
  $("verdict-word").textContent = WORDS.idle;
  $("verdict-line").textContent = _("Show your code to the camera");
  $("verdict-detail").textContent = "";
  $("verdict-static").hidden = true;
}

function handle(v, source) {
  if (!v || !v.state) return;
  if (v.state === "idle") {
    if (shown && performance.now() - lastCodeSeen > CLEAR_AFTER_MS) clearVerdict();
    return;
  }
  lastCodeSeen = performance.now() + (source === "camera" ? 0 : HOLD_TYPED_MS);
  render(v, source);
}

// ---- sound: on unless turned off; browsers hold audio back until one tap on the page ------

function readSound() {
  try { return localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { return true; }
}

function ensureAudio() {
  if (audio || !window.AudioContext) return;
  audio = new AudioContext();
  audio.addEventListener("statechange", showSound);
}

const unlocked = () => !!audio && audio.state === "running";

function showSound() {
  $("sound").textContent = soundOn ? _("Sound on") : _("Sound off");
  $("sound").setAttribute("aria-pressed", String(soundOn));
  $("sound-unlock").hidden = !soundOn || unlocked() || !audio;
  window.kiosk.sound = { on: soundOn, unlocked: unlocked() };
}

async function unlock() {
  ensureAudio();
  if (soundOn && audio && audio.state === "suspended") await audio.resume().catch(() => {});
  showSound();
}

function beep(state) {
  if (!soundOn || !unlocked() || !TONES[state]) return;
  const tone = TONES[state];
  const t0 = audio.currentTime;
  for (const [freq, start, length] of tone.notes) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = tone.type;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.25, t0 + start);
    gain.gain.exponentialRampToValueAtTime(0.001, t0 + start + length);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + start);
    osc.stop(t0 + start + length);
  }
  window.kiosk.played.push({ state, type: tone.type, frequencies: tone.notes.map((n) => n[0]) });
}

$("sound").addEventListener("click", async () => {
  soundOn = !soundOn;
  try { localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off"); } catch (e) { /* private mode */ }
  await unlock();
});
// The first tap or key anywhere lets the audio play (the browser's autoplay rule).
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, unlock, { capture: true });
}
$("sound-unlock").addEventListener("click", unlock);

// ---- talking to the kiosk server ---------------------------------------------------------

async function post(url, body, type) {
  const headers = type ? { "Content-Type": type } : {};  // i18n: not shown
  const response = await fetch(url, { method: "POST", body, headers, cache: "no-store" });
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    return { state: "invalid", reason: (answer && answer.error) || "error",
             message: (answer && answer.message) || _("The kiosk answered {status}", { status: response.status }),
             code: null, announce: true };
  }
  return answer;
}

async function refreshStatus() {
  try {
    const status = await (await fetch("/api/status", { cache: "no-store" })).json();
    $("rule-text").textContent = status.rule_text;
    const warning = [status.trust.warning, status.revocations && status.revocations.warning,
      status.sync && status.sync.warning].filter(Boolean).join(" ");
    $("trust-warning").hidden = !warning;
    $("trust-warning").textContent = warning;
    if (status.trust.ok) {
      $("trust").replaceChildren(label(_("Trust list")), " ",
        _("#{sequence}, {age} old", { sequence: status.trust.sequence, age: status.trust.age }));
    }
    if (status.sync) {
      $("sync").replaceChildren(label(_("Synced")), " ", status.sync.last_sync
        ? _("{age} ago", { age: status.sync.age }) : _("never"));
      if (status.sync.background) {
        const every = document.createElement("span");
        every.className = "muted";
        const text = _("(every {every})", { every: status.sync.background.every });
        every.textContent = ` ${text}`;
        $("sync").append(every);
      }
    }
  } catch (e) { /* the kiosk server is down: the next frame will say so */ }
}

function label(text) {
  const span = document.createElement("span");
  span.className = "label";
  span.textContent = text;
  return span;
}

// ---- camera ------------------------------------------------------------------------------

function sayCamera(text) {
  cameraMessage.textContent = text;
  cameraMessage.hidden = !text;
}

// The extractor reads no _() inside a template literal: these are joined with withFallback.
const withFallback = (text) => [text, _("Use a photo or the code text below.")]
  .join(locale.startsWith("zh") ? "" : " ");
const CAMERA_ERRORS = {
  NotAllowedError: () => _("Camera access was denied. Allow the camera for this page in the browser's site settings and reload; meanwhile use a photo or the code text below."),
  SecurityError: () => withFallback(_("The browser blocked the camera for this page.")),
  NotFoundError: () => withFallback(_("No camera found on this device.")),
  OverconstrainedError: () => withFallback(_("No camera found on this device.")),
  NotReadableError: () => _("The camera is in use by another program, or failed to start. Close the other program and reload, or use a photo or the code text below."),
};

async function startCamera(deviceId) {
  if (!window.isSecureContext) {
    sayCamera(_("This page is open on an insecure origin ({origin}): browsers give such pages no camera. Open it on this machine at http://127.0.0.1 or http://localhost, or serve it over HTTPS. Meanwhile use a photo or the code text below.",
                { origin: location.origin }));
    return;
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    sayCamera(withFallback(_("This browser offers no camera to web pages.")));
    return;
  }
  const video_ = deviceId
    ? { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } }
    : { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } };
  try {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    // The camera's clock starts when it is asked for, not when the video starts playing
    // (which a busy machine can delay by a good part of a second).
    if (window.kiosk.startedAt === null) window.kiosk.startedAt = performance.now();
    stream = await navigator.mediaDevices.getUserMedia({ video: video_, audio: false });
  } catch (e) {
    const known = CAMERA_ERRORS[e.name];
    const failed = _("The camera could not start ({error}).", { error: e.name });
    sayCamera(known ? known() : withFallback(failed));
    return;
  }
  sayCamera("");
  video.srcObject = stream;
  await video.play().catch(() => {});
  await listCameras();
  generation += 1;
  scan(generation);
}

async function listCameras() {
  const devices = (await navigator.mediaDevices.enumerateDevices())
    .filter((d) => d.kind === "videoinput");
  if (devices.length < 2) { $("camera-pick").hidden = true; return; }
  const current = stream.getVideoTracks()[0].getSettings().deviceId;
  cameraSelect.replaceChildren(...devices.map((d, i) => {
    const option = new Option(d.label || _("Camera {number}", { number: i + 1 }), d.deviceId);
    option.selected = d.deviceId === current;
    return option;
  }));
  $("camera-pick").hidden = false;
}

cameraSelect.addEventListener("change", () => startCamera(cameraSelect.value));

function grab() {
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return Promise.resolve(null);
  const scale = Math.min(1, MAX_FRAME_WIDTH / w);
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
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
      handle(await post("/api/frame", frame, "image/jpeg"), "camera");
    } catch (e) {
      sayCamera(_("The kiosk server does not answer. Is healthcode-verifier kiosk running?"));
      await sleep(1000);
      sayCamera("");
    }
    await nextPaint();   // let the verdict paint before the next frame
  }
}

// ---- fallbacks: upload and paste ---------------------------------------------------------

$("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("image", file);
  handle(await post("/api/upload", form), "upload");
  event.target.value = "";
});

$("text-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("code-text").value;
  handle(await post("/api/text", JSON.stringify({ text }), "application/json"), "text");
  $("code-text").value = "";
});

ensureAudio();
showSound();
setInterval(updateTimeLeft, 1000);
setInterval(refreshStatus, STATUS_EVERY_MS);
refreshStatus();
startCamera();
