// The checkpoint app: the phone's back camera, full screen, and the verdict over it. Codes are
// read (/shared/scan/decoder.js) and verified (/shared/verifier/) in this page, against the
// lists kept on this phone (state.js, synced by sync.js when online): after one visit, it
// works with the network off (sw.js). What the page shows and plays: view.js, sound.js.
import { _, locale, formatTime } from "/shared/i18n.js";
import { Rule } from "/shared/verifier/index.js";
import { createDecoder } from "/shared/scan/decoder.js";
import { VerdictView } from "/shared/checkpoint/view.js";
import { Sound, TONES } from "/shared/checkpoint/sound.js";
import { describeForeign } from "/shared/checkpoint/foreign.js";
import { postToKiosk } from "/shared/checkpoint/server.js";
import { describeRule, detailWords, fill, humanize } from "/shared/checkpoint/words.js";
import { openState } from "./state.js";
import { startAutoSync, syncNow, DEFAULT_EVERY } from "./sync.js";
import { Judge } from "./judge.js";
import { Camera, pictureData } from "./camera.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("checkpoint-config").textContent);
// The server names the origin as it saw the request: behind a TLS proxy that may say http://
// for a page the phone opened over https://. The same host is this page's own origin.
try {
  if (config.sync && new URL(config.sync).host === location.host) config.sync = location.origin;
} catch (e) { config.sync = location.origin; }
const UPLOAD_BUDGET_MS = 500;  // a photo is read once: it may take longer than a frame
const ANCHOR_PREFIX = "HCA1:";  // i18n: not shown

// For tests and benchmarks: when the camera started, each verdict, what was said and played.
const hooks = window.checkpoint = {
  startedAt: null, ready: false, mode: null, verdicts: [], announcements: [], played: [],
  tones: TONES, sound: null, frames: 0, frameMs: [], errors: [], camera: null, counts: null,
};

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/checkpoint/sw.js", { scope: "/checkpoint/" }).catch(() => {});
}

function say(text) {
  $("camera-message").textContent = text;
  $("camera-message").hidden = !text;
}

// Plain http from another machine: no camera, no WebCrypto, nothing to verify with here.
if (!window.isSecureContext || !(window.crypto && crypto.subtle)) {
  const { runOnServer } = await import("./plain.js");
  runOnServer({ config, hooks, say });
  await new Promise(() => {});  // the rest of this module needs what this browser lacks
}

// ---- the device's state: rule, counts, lists, warnings ---------------------------------------

let state;
try {
  state = await openState(config);
} catch (e) {
  say(_("This browser keeps no data for this page (a private window?): the checkpoint cannot keep its lists. Open it in a normal window."));
  throw e;
}
let rule = parseRule(state.rule);
const judge = new Judge(state, { window: Number(config.window) || 60, rule, issuerLang: locale });
const sound = new Sound(state.sound, showSound);
hooks.played = sound.played;
const view = new VerdictView(hooks, async (v) => {
  sound.signal(v.state);
  // A checkpoint without a trust list says so on every code: that is not the code's fault.
  if (v.state === "invalid" && String(v.reason).startsWith("trust_list")) return;
  await state.count({ admit: "admitted", deny: "denied", invalid: "invalid" }[v.state]);
  await showCounts();
});

function parseRule(text) {
  try { return Rule.parse(text); } catch (e) { return Rule.parse("green"); }
}

function showRule() {
  $("rule-text").textContent = describeRule(rule.text, describeForeign(rule.foreign));
  $("static-text").textContent = state.acceptStatic ? _("static codes — check ID") : _("static codes refused");
  $("rule-input").value = rule.text;
  $("accept-static").checked = state.acceptStatic;
}

async function showCounts() {
  const counts = await state.todayCounts();
  hooks.counts = counts;
  $("count-admitted").textContent = _("admitted {count}", { count: counts.admitted });
  $("count-denied").textContent = _("denied {count}", { count: counts.denied });
  $("count-invalid").textContent = _("invalid {count}", { count: counts.invalid });
}

function issuerName(iss) {
  try { return state.trust ? state.trust.issuerName(iss, locale) : iss; } catch (e) { return iss; }
}

/** A warning of state.warnings() in words (see state.js for the codes). */
function warningWords({ code, values }, now) {
  switch (code) {
    case "no_anchor":
      return _("No trust anchor is pinned on this phone: open this page once from the issuer's site, or scan the issuer's anchor QR code.");
    case "anchor_refused":
      return _("This page names another trust anchor than the one this phone trusts: its lists are refused. To change it, scan the issuer's anchor QR code.");
    case "no_trust_list":
      return values.reason
        ? fill(_("No usable trust list (%(why)s): codes cannot be checked."), { why: detailWords(values.reason) })
        : _("No trust list on this phone yet: codes cannot be checked. Connect to the network to sync.");
    case "trust_list_expired":
      return fill(_("The trust list expired %(age)s ago (valid until %(when)s): fetch a fresh one."),
                  { age: humanize(now - values.expiresAt), when: formatTime(values.expiresAt) });
    case "revocation_list_missing":
      return _("There is no revocation list of {issuer} on this phone: codes it revoked still pass here. Sync.",
               { issuer: issuerName(values.iss) });
    case "revocation_list_expired":
      return fill(_("The revocation list of %(issuer)s expired %(age)s ago: codes revoked since then still pass here. Sync."),
                  { issuer: issuerName(values.iss), age: humanize(now - values.expiresAt) });
    case "revocation_list_stale":
      return fill(_("The revocation list of %(issuer)s is %(age)s old (the limit is %(limit)s): codes revoked since then still pass here. Check the network and the sync."),
                  { issuer: issuerName(values.iss), age: humanize(values.age), limit: humanize(values.limit) });
    case "sync_failed":
      return fill(_("The last sync, %(age)s ago, failed (%(reasons)s); the lists in use were kept. Retrying every %(every)s."),
                  { age: humanize(now - (values.at || now)), reasons: (values.reasons || []).map(syncReason).join(", "),
                    every: humanize(DEFAULT_EVERY / 1000) });
    default:
      return String(code);
  }
}

/** Why a sync failed, in words: the network's reasons (sync.js), else the lists' (words.js). */
function syncReason(reason) {
  const words = {
    unreachable: () => _("the issuer could not be reached"),
    http_error: () => _("the issuer answered with an error"),
    incomplete_download: () => _("the download was cut short"),
    internal_error: () => _("an error in this app"),
    no_anchor: () => _("no trust anchor is pinned"),
  }[reason];
  return words ? words() : detailWords(reason);
}

function showStatus() {
  const now = Math.floor(Date.now() / 1000);
  const warnings = state.warnings(now).map((w) => warningWords(w, now));
  $("warnings").hidden = !warnings.length;
  $("warnings").textContent = warnings.join(" ");
  const parts = [];
  if (state.trust) {
    const age = humanize(now - state.trust.issuedAt);
    parts.push([_("Trust list"), _("#{sequence}, {age} old", { sequence: state.trust.sequence, age })]);
  }
  const synced = state.lastSync ? _("{age} ago", { age: humanize(now - state.lastSync) }) : _("never");
  parts.push([_("Synced"), synced]);
  $("lists").textContent = parts.map((pair) => pair.join(" ")).join(" · ");
  Object.assign(hooks, { trust: state.trust ? state.trust.sequence : null, lastSync: state.lastSync,
                         warnings: state.warnings(now).map((w) => w.code) });
}

state.onChange(() => { showStatus(); });
showRule();
await showCounts();
showStatus();
setInterval(showStatus, 30_000);
startAutoSync(state, state.syncBase || config.sync);

// ---- sound: on unless turned off; browsers hold audio back until one tap on the page ------

function showSound() {
  $("sound").textContent = sound.on ? _("Sound on") : _("Sound off");
  $("sound").setAttribute("aria-pressed", String(sound.on));
  $("sound-unlock").hidden = !sound.heldBack;
  hooks.sound = { on: sound.on, unlocked: sound.unlocked };
}

$("sound").addEventListener("click", async () => {
  await state.setSound(!sound.on);
  await sound.set(state.sound);
});
$("sound-unlock").addEventListener("click", () => sound.unlock());
sound.listen();
sound.ensure();
showSound();

// ---- reading codes: the camera, else a kiosk's server; a photo; pasted text -------------------

const post = postToKiosk;

// An anchor QR staff declined to trust: the camera does not ask again while it stays in view.
let declinedAnchor = null;
hooks.anchors = [];

async function onTexts(texts, source = "camera") {
  if (!texts.length) { declinedAnchor = null; view.handle({ state: "idle" }, source); return; }
  if (texts[0].startsWith(ANCHOR_PREFIX)) {
    if (source !== "camera" || texts[0] !== declinedAnchor) await anchorCode(texts[0]);
    return;
  }
  declinedAnchor = null;
  view.handle(await judge.judge(texts), source);
}

/** An anchor QR (healthcode-issuer keys export): pins the issuer's trust anchor. */
async function anchorCode(text) {
  if (hooks.anchorBusy) return;
  hooks.anchorBusy = true;
  try {
    let pinned;
    try {
      pinned = await state.pinAnchor(text);
    } catch (e) {
      if (e.reason !== "anchor_differs") throw e;
      if (!window.confirm(_("This anchor QR code names another trust anchor than the one this phone trusts. Trust the new one and fetch its lists?"))) {
        declinedAnchor = text;
        say(_("The trust anchor this phone already trusts was kept."));
        return;
      }
      pinned = await state.pinAnchor(text, { replace: true });
    }
    declinedAnchor = null;
    hooks.anchors.push(pinned);
    say(pinned.changed
      ? _("This phone now trusts the trust anchor of this anchor QR code and fetches the lists it signs.")
      : _("This phone already trusts the trust anchor of this anchor QR code."));
    await syncNow(state, state.syncBase || config.sync);
  } catch (e) {
    say(_("This anchor QR code cannot be read."));
  } finally {
    setTimeout(() => { hooks.anchorBusy = false; }, 5000);
  }
}

let decoder = null;
let whyNot = "";
try {
  decoder = await createDecoder();
} catch (e) {
  whyNot = typeof WebAssembly === "object" ? String(e && e.message || e) : _("no WebAssembly");
}
const server = config.server || null;
hooks.mode = decoder ? "device" : server ? "server" : "text";
$("mode").textContent = decoder
  ? _("Codes are read and checked on this phone: no network needed.")
  : server
    ? _("This browser cannot read codes itself ({why}): the kiosk reads them (network needed).", { why: whyNot })
    : _("This browser cannot read codes from pictures ({why}): paste the code text.", { why: whyNot });
if (!decoder && server) say($("mode").textContent);

const camera = new Camera({
  decode: decoder && ((image, options) => decoder.decode(image, options)),
  serverFrame: server && ((blob) => post(`${server}frame`, blob, "image/jpeg")),
  onTexts, onVerdict: (v) => view.handle(v, "camera"),
  say: (text) => say(text || (!decoder && server ? $("mode").textContent : "")), hooks,
});

$("torch").addEventListener("click", async () => {
  try {
    await camera.setTorch(!camera.torchOn);
  } catch (e) { /* the camera refused: the button says the state it is in */ }
  $("torch").setAttribute("aria-pressed", String(camera.torchOn));
});

$("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  event.target.value = "";
  if (decoder) {
    let texts = [];
    try {
      texts = (await decoder.decode(await pictureData(file), { budgetMs: UPLOAD_BUDGET_MS })).texts;
    } catch (e) { texts = []; }
    if (texts.length) await onTexts(texts, "upload");
    else view.handle(judge.noCode(), "upload");
  } else if (server) {
    const form = new FormData();
    form.append("image", file);
    view.handle(await post(`${server}upload`, form), "upload");
  } else {
    view.handle(judge.noCode(), "upload");
  }
});

$("text-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("code-text").value;
  $("code-text").value = "";
  if (text.trim().startsWith(ANCHOR_PREFIX)) { await anchorCode(text.trim()); return; }
  view.handle(await judge.judgeText(text), "text");
});

$("rule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  let parsed;
  try {
    parsed = Rule.parse($("rule-input").value);
  } catch (e) {
    $("rule-error").textContent = _("This rule cannot be read: write green, green,yellow or score>=60 (scores from 0 to 100), and for codes of other formats e.g. dcc:vaccination,recovery, shc:any or nzcp:any.");
    return;
  }
  $("rule-error").textContent = "";
  await state.setRule(parsed.text);
  await state.setAcceptStatic($("accept-static").checked);
  rule = parsed;
  judge.rule = parsed;
  showRule();
});

// The switch works offline too: the choice goes to the server when it can be reached (its
// cookie), and the page is asked for in that language, which the service worker keeps for
// both languages when there is no network.
for (const link of document.querySelectorAll(".languages a[hreflang]")) {
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      await fetch(link.href, { redirect: "manual", cache: "no-store" });
    } catch (e) { /* offline: the kept page in that language */ }
    location.href = `/checkpoint/?lang=${encodeURIComponent(link.getAttribute("hreflang"))}`;  // i18n: not shown
  });
}

if (await camera.start()) $("torch").hidden = !camera.hasTorch;
hooks.ready = true;
