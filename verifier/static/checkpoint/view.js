// The verdict on screen, over the camera: words, a shape, a colour, and what a screen reader
// says; then a tone and a vibration (/shared/checkpoint/sound.js). Verdicts come from the
// page's own judge (judge.js) or, in a kiosk's fallback, from its server: the same shape.
import { _ } from "/shared/i18n.js";
import { WORDS, COLOURS, SPOKEN_COLOURS, humanize } from "/shared/checkpoint/words.js";
import { checkId, foreignDetail, foreignLine, isForeign, spokenForeign } from "/shared/checkpoint/foreign.js";

const CLEAR_AFTER_MS = 1500;   // the verdict clears when no code was seen for this long
const HOLD_TYPED_MS = 8000;    // a photo's or pasted code's verdict stays this long

const $ = (id) => document.getElementById(id);

export class VerdictView {
  /** `hooks`: the test/bench timeline (window.checkpoint); `onAnnounce(verdict)` after a
   * verdict that is news (count it, sound it). */
  constructor(hooks, onAnnounce) {
    this.hooks = hooks;
    this.onAnnounce = onAnnounce;
    this.shown = null;
    this.lastCodeSeen = 0;
    this.element = $("verdict");
    setInterval(() => this.updateTimeLeft(), 1000);
  }

  /** A verdict (or {state: "idle"}) from `source`: "camera", "upload", "text". */
  handle(v, source) {
    if (!v || !v.state) return;
    if (v.state === "idle") {
      if (this.shown && performance.now() - this.lastCodeSeen > CLEAR_AFTER_MS) this.clear();
      return;
    }
    this.lastCodeSeen = performance.now() + (source === "camera" ? 0 : HOLD_TYPED_MS);
    this.render(v, source);
  }

  render(v, source) {
    const same = this.shown && this.shown.code === v.code && this.shown.state === v.state;
    this.shown = { ...v, received: performance.now() };
    if (same && !v.announce) { this.updateTimeLeft(); return; }
    const el = this.element;
    el.dataset.state = v.state;
    el.dataset.reason = v.state === "invalid" ? (v.reason || "") : "";
    if (v.colour && (v.state === "admit" || v.state === "deny")) el.dataset.colour = v.colour;
    else delete el.dataset.colour;
    el.dataset.format = v.format || "";
    $("verdict-word").textContent = WORDS[v.state];
    const note = $("verdict-static");
    if (v.state === "invalid") {
      $("verdict-line").textContent = v.message;
      $("verdict-detail").textContent = v.detail || "";
      note.hidden = true;
    } else if (isForeign(v)) {
      // A foreign code: its format and country, what it certifies, and whom to check the ID of.
      $("verdict-line").replaceChildren(...foreignLine(v));
      this.updateTimeLeft();
      note.hidden = v.state !== "admit";
      note.classList.remove("live");
      note.replaceChildren(...checkId(v));
    } else {
      const score = _("score {score}", { score: v.score });
      $("verdict-line").textContent = `${COLOURS[v.colour]} · ${score}`
        + (v.state === "deny" ? ` · ${v.message}` : "");
      this.updateTimeLeft();
      note.hidden = v.state !== "admit";
      note.classList.toggle("live", !v.static);
      note.textContent = staticNote(v);
    }
    this.hooks.verdicts.push({ state: v.state, reason: v.reason || null, at: performance.now(),
                               source, announce: !!v.announce });
    if (v.announce) {
      const announcer = $("verdict-announce");
      announcer.replaceChildren(...(isForeign(v) ? spokenForeign(v) : [spoken(v)]));
      const text = announcer.textContent;
      this.hooks.announcements.push(text);
      this.onAnnounce(v);
    }
  }

  updateTimeLeft() {
    const shown = this.shown;
    if (!shown || (shown.state !== "admit" && shown.state !== "deny")) return;
    const gone = Math.floor((performance.now() - shown.received) / 1000);
    if (isForeign(shown)) {
      const left = shown.seconds_left === null ? null : Math.max(0, shown.seconds_left - gone);
      $("verdict-detail").replaceChildren(...foreignDetail(shown, left));
      return;
    }
    const left = Math.max(0, shown.seconds_left - gone);
    const expires = _("expires in {time}", { time: humanize(left) });
    const issuer = shown.issuer_name ? _("issued by {issuer}", { issuer: shown.issuer_name }) : "";
    $("verdict-detail").textContent = [issuer, expires].filter(Boolean).join(" · ");
  }

  clear() {
    this.shown = null;
    const el = this.element;
    el.dataset.state = "idle";
    el.dataset.reason = "";
    el.dataset.format = "";
    delete el.dataset.colour;
    $("verdict-word").textContent = WORDS.idle;
    $("verdict-line").textContent = _("Show your code to the camera");
    $("verdict-detail").textContent = "";
    $("verdict-static").hidden = true;
  }
}

export function staticNote(v) {
  if (!v.static && v.family) {
    // A dependant's code on a guardian's phone: the code names no one, nor does the screen.
    return _("Family code, live from the phone it is bound to, made {age} ago",
             { age: humanize(v.presented_ago) });
  }
  if (!v.static) return _("Live code from its phone, made {age} ago", { age: humanize(v.presented_ago) });
  if (v.id_check) {
    return _("Static code — check ID: name {name} · ID number ending {tail}",
             { name: v.id_check.name, tail: v.id_check.id_tail });
  }
  return _("Static code — check ID");
}

/** The verdict as a screen reader says it: what it is, the colour, what the number is. */
export function spoken(v) {
  if (v.state === "invalid") return _("Invalid: {why}", { why: v.message });
  if (isForeign(v)) return spokenForeign(v).map((part) => part.textContent ?? part).join("");
  const params = { colour: SPOKEN_COLOURS[v.colour], score: v.score, why: v.message };
  if (v.state === "deny") return _("Deny, {colour}, score {score}: {why}", params);
  const admitted = _("Admit, {colour}, score {score}", params);
  return v.static || v.family ? _("{verdict}. {note}", { verdict: admitted, note: staticNote(v) })
    : admitted;
}
