/** The declaration form: before anything is sent, say what it would do to the code. */

import { _ } from "/shared/i18n.js";

const form = document.getElementById("declare");
const preview = document.getElementById("preview");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const COLOUR = { green: _("green"), yellow: _("yellow"), red: _("red") };
let timer = null;

const colourOf = (code) => COLOUR[code.colour] ?? code.colour;

async function update() {
  const data = new FormData(form);
  const filled = [...data.entries()].some(([name, value]) => name !== "csrf_token" && value);
  if (!filled) {
    preview.textContent = "";
    return;
  }
  try {
    const response = await fetch(form.dataset.previewUrl, {
      method: "POST", credentials: "same-origin", body: data,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    const body = await response.json();
    if (!response.ok) {
      preview.dataset.state = "invalid";
      preview.textContent = body.message;
      return;
    }
    const { before, after } = body;
    preview.dataset.state = "ok";
    preview.dataset.colour = after.colour;
    const words = { colour: colourOf(after), score: after.score,
                    before: colourOf(before), beforeScore: before.score };
    preview.textContent = after.colour === before.colour && after.score === before.score
      ? _("This would not change your code ({colour}, score {score}).", words)
      : _("If you send this, your code becomes {colour}, score {score} (now {before}, score {beforeScore}).",
          words);
  } catch {
    preview.dataset.state = "offline";
    preview.textContent = _("Offline: the effect cannot be worked out now.");
  }
}

form.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(update, 250);
});
