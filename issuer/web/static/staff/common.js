// What the staff page's scripts share: the token (sessionStorage, this tab only; sent only in
// the Authorization header), calls to the API, and saying what happened.
import { _, locale } from "/shared/i18n.js";

export const TOKEN_KEY = "healthcode.staff.token"; // i18n: not shown

export function $(id) { return document.getElementById(id); }

export function say(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.dataset.kind = kind || "";
}

export function token() { return $("token").value.trim(); }

function headers(accept, json) {
  const sent = { "Authorization": `Bearer ${token()}`, "Accept": accept, // i18n: not shown
                 "Accept-Language": locale }; // i18n: not shown
  if (json) sent["Content-Type"] = "application/json"; // i18n: not shown
  return sent;
}

export function call(url, method, accept, body) {
  return fetch(url, {
    method, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    headers: headers(accept, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** What went wrong, in words: the status, and the service's own message when it has one. */
export async function problem(response, what, person, forbidden) {
  if (response.status === 401) {
    return _("The token was not accepted (401). Check it, or ask for a new one (healthcode-issuer token create).");
  }
  if (response.status === 403) {
    return forbidden || _("This token may not do that (403): finding people needs the read scope, cards and links the write scope.");
  }
  if (response.status === 404 && person) {
    return _("No person with id \"{person}\" (404). Check the id: it starts with \"p-\".", { person });
  }
  let detail = "";
  try {
    const body = await response.json();
    detail = body.message || "";
  } catch (_error) { /* not JSON: the status says enough */ }
  const status = response.status;
  return detail ? _("{what} failed ({status}): {detail}", { what, status, detail })
                : _("{what} failed ({status}).", { what, status });
}

export function needToken() {
  if (token()) { sessionStorage.setItem(TOKEN_KEY, token()); return true; }
  say(_("Enter your API token first."), "error");
  $("token").focus();
  return false;
}
