/** The enrolment page: make this phone's key and bind it with the one-time link. */

import { _ } from "/shared/i18n.js";
import { deviceKey, publicKeyJwk } from "./device.js";

const target = document.getElementById("enrol");
const status = document.getElementById("enrol-status");
const retry = document.getElementById("enrol-retry");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

async function enrol() {
  retry.hidden = true;
  status.dataset.state = "working";
  status.textContent = _("Setting up this phone…");
  try {
    const jwk = await publicKeyJwk(await deviceKey());
    const response = await fetch(target.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ jwk }),
    });
    const body = await response.json();
    if (!response.ok) {
      status.dataset.state = body.problem || "failed";
      status.textContent = body.message; // the server's words, in the reader's language
      return;
    }
    status.dataset.state = "done";
    status.textContent = _("Done: opening your code…");
    location.replace(body.next);
  } catch (error) {
    status.dataset.state = "failed";
    status.textContent = _("This phone could not be set up. Check the connection and try again.") +
      (error && error.message ? ` (${error.message})` : "");
    retry.hidden = false;
  }
}

retry.addEventListener("click", enrol);
enrol();
