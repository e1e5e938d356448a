/** The declaration form: before anything is sent, say what it would do to the code. */

const form = document.getElementById("declare");
const preview = document.getElementById("preview");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
let timer = null;

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
    preview.textContent = after.colour === before.colour && after.score === before.score
      ? `This would not change your code (${after.colour}, ${after.score}).`
      : `If you send this, your code becomes ${after.colour}, ${after.score} ` +
        `(now ${before.colour}, ${before.score}).`;
  } catch {
    preview.textContent = "Offline: the effect cannot be worked out now.";
  }
}

form.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(update, 250);
});
