// Checkpoint kiosk page: camera -> JPEG frame -> kiosk server -> verdict on screen, in words,
// a shape and a sound, in the reader's language (/shared/i18n.js).
// One frame is in flight at a time: the next is grabbed when the answer arrives, so a slow
// server or network never piles requests up. Nothing about any code is stored in the browser;
// only the sound preference is (localStorage).
import { _ } from "/shared/i18n.js";
import { VerdictView } from "/shared/checkpoint/view.js";
import { Sound, TONES } from "/shared/checkpoint/sound.js";
import { cameraTrouble, insecureOrigin, postToKiosk, withFallback } from "/shared/checkpoint/server.js";

const MAX_FRAME_WIDTH = 1280;  // larger camera frames are scaled down before sending
const JPEG_QUALITY = 0.85;
const STATUS_EVERY_MS = 60000;
const SOUND_KEY = "healthcode.kiosk.sound";  // i18n: not shown

const $ = (id) => document.getElementById(id);
const video = $("video");
const canvas = $("canvas");
const cameraMessage = $("camera-message");
const cameraSelect = $("camera-select");

let stream = null;
let scanning = false;
let generation = 0;          // bumps when the camera changes, ending the old loop

// For tests and benchmarks: when the camera started, each verdict, what was said and played.
window.kiosk = { startedAt: null, verdicts: [], announcements: [], played: [], tones: TONES,
                 sound: null };

// ---- verdict display and sound (shared with the checkpoint app: /shared/checkpoint/) -----

const sound = new Sound(readSound(), showSound);
window.kiosk.played = sound.played;
const view = new VerdictView(window.kiosk, (v) => sound.signal(v.state));
const handle = (v, source) => view.handle(v, source);

function readSound() {
  try { return localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { return true; }
}

function showSound() {
  $("sound").textContent = sound.on ? _("Sound on") : _("Sound off");
  $("sound").setAttribute("aria-pressed", String(sound.on));
  $("sound-unlock").hidden = !sound.heldBack;
  window.kiosk.sound = { on: sound.on, unlocked: sound.unlocked };
}

$("sound").addEventListener("click", async () => {
  try { localStorage.setItem(SOUND_KEY, sound.on ? "off" : "on"); } catch (e) { /* private mode */ }
  await sound.set(!sound.on);
});
sound.listen();
$("sound-unlock").addEventListener("click", () => sound.unlock());

// ---- talking to the kiosk server ---------------------------------------------------------

const post = postToKiosk;

async function refreshStatus() {
  try {
    const status = await (await fetch("/api/status", { cache: "no-store" })).json();
    $("rule-text").textContent = status.rule_text;
    const warning = [status.trust.warning, status.revocations && status.revocations.warning,
      status.sync && status.sync.warning, status.foreign && status.foreign.warning]
      .filter(Boolean).join(" ");
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

async function startCamera(deviceId) {
  if (!window.isSecureContext) {
    sayCamera(insecureOrigin());
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
    sayCamera(cameraTrouble(e, _("The camera could not start ({error}).", { error: e.name })));
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

sound.ensure();
showSound();
setInterval(refreshStatus, STATUS_EVERY_MS);
refreshStatus();
startCamera();
