// The app opened where the browser gives a page neither camera nor WebCrypto nor a service
// worker: plain http from another machine (a phone on the kiosk's network). Nothing can be
// verified in the page then. It says so, and where a kiosk served it, photos and pasted codes
// are checked on the kiosk's server (/api/upload, /api/text), as the kiosk's own page does.
import { _, locale } from "/shared/i18n.js";
import { VerdictView } from "/shared/checkpoint/view.js";
import { Sound } from "/shared/checkpoint/sound.js";
import { postToKiosk } from "/shared/checkpoint/server.js";
import { describeRule } from "/shared/checkpoint/words.js";
import { describeForeign } from "/shared/checkpoint/foreign.js";
import { Rule } from "/shared/verifier/rules.js";

const $ = (id) => document.getElementById(id);

export function runOnServer({ config, hooks, say }) {
  const server = config.server || null;
  const why = _("This page is open on an insecure origin ({origin}): browsers give such pages no camera and no way to check signatures. Open it over HTTPS, or at http://127.0.0.1 on the machine itself.",
                { origin: location.origin });
  const fallback = server ? _("Meanwhile the kiosk checks photos and pasted codes.") : "";
  say([why, fallback].filter(Boolean).join(locale.startsWith("zh") ? "" : " "));
  hooks.mode = server ? "server" : "none";
  $("mode").textContent = hooks.mode === "server" ? _("Photos and pasted codes are checked on the kiosk (network needed).") : "";
  const rule = Rule.parse(config.rule || "green"); // i18n: not shown
  $("rule-text").textContent = describeRule(rule.text, describeForeign(rule.foreign));
  $("static-text").textContent = config.acceptStatic ? _("static codes — check ID") : _("static codes refused");
  $("counts").hidden = true;     // nothing is kept on this device
  $("rule-form").hidden = true;  // the kiosk's rule applies
  const sound = new Sound(true, () => {
    $("sound").textContent = sound.on ? _("Sound on") : _("Sound off");
    $("sound").setAttribute("aria-pressed", String(sound.on));
    $("sound-unlock").hidden = !sound.heldBack;
  });
  hooks.played = sound.played;
  sound.listen();
  sound.ensure();
  $("sound").addEventListener("click", () => sound.set(!sound.on));
  const view = new VerdictView(hooks, (v) => sound.signal(v.state));

  const post = (path, body, type) => (server ? postToKiosk(`${server}${path}`, body, type) : null);

  $("upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    event.target.value = "";
    const form = new FormData();
    form.append("image", file);
    view.handle(await post("upload", form), "upload");
  });
  $("text-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("code-text").value;
    $("code-text").value = "";
    view.handle(await post("text", JSON.stringify({ text }), "application/json"), "text");  // i18n: not shown
  });
  hooks.ready = true;
}
