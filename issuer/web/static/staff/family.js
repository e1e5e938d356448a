// The staff page's family codes: link a family member's code to a guardian's phone
// (POST /api/people/<id>/guardians), list a person's links (GET /api/people/<id>/family) and
// end one (POST /api/family/<link id>/revoke), which revokes the codes on the guardian's
// phone at once. Needs the write scope (listing: read).
import { _, formatTime } from "/shared/i18n.js";
import { $, call, needToken, problem, say } from "./common.js";

const NO_SCOPE = () => _("This token may not change family codes (403): that needs the write scope.");
const section = () => $("family");
const url = (name, person) => section().dataset[name]
  .replace("__PERSON__", encodeURIComponent(person)); // i18n: not shown

function fields() {
  const dependant = $("family-dependant").value.trim();
  const guardian = $("family-guardian").value.trim();
  const reason = $("family-reason").value.trim();
  return { dependant, guardian, reason };
}

async function addLink(event) {
  event.preventDefault();
  if (!needToken()) return;
  const { dependant, guardian, reason } = fields();
  if (!dependant || !guardian || !reason) {
    say(_("Enter both person ids and why."), "error");
    return;
  }
  $("family-add").disabled = true;
  try {
    const response = await call(url("addUrl", dependant), "POST", "application/json", // i18n: not shown
                                { guardian, reason });
    if (!response.ok) { say(await problem(response, _("Linking"), dependant, NO_SCOPE()), "error"); return; }
    say(_("Linked: the guardian's phone now shows this family code."), "done");
    await showLinks();
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    $("family-add").disabled = false;
  }
}

function describe(link, person) {
  return link.dependant_id === person
    ? _("Code shown on the phone of {guardian}", { guardian: link.guardian_id })
    : _("This person's phone shows the code of {dependant}", { dependant: link.dependant_id });
}

async function endLink(link, form) {
  const reason = form.querySelector(".reason").value.trim();
  if (!reason) { say(_("Say why the link ends."), "error"); return; }
  const button = form.querySelector(".end-link");
  button.disabled = true;
  try {
    const target = section().dataset.endUrl.replace("__LINK__", encodeURIComponent(link.id)); // i18n: not shown
    const response = await call(target, "POST", "application/json", { reason }); // i18n: not shown
    if (!response.ok) { say(await problem(response, _("Ending the link"), null, NO_SCOPE()), "error"); return; }
    const { revoked } = await response.json();
    say(_("Link ended; codes revoked: {count}.", { count: revoked.length }), "done");
    await showLinks();
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    button.disabled = false;
  }
}

async function showLinks() {
  if (!needToken()) return;
  const person = $("family-dependant").value.trim();
  if (!person) { say(_("Enter the family member's person id."), "error"); return; }
  const response = await call(url("listUrl", person), "GET", "application/json"); // i18n: not shown
  if (!response.ok) { say(await problem(response, _("Listing the links"), person), "error"); return; }
  const { dependants, guardians } = await response.json();
  const list = $("family-links");
  list.replaceChildren();
  for (const link of [...guardians, ...dependants]) {
    const item = $("family-link-template").content.firstElementChild.cloneNode(true);
    item.dataset.link = link.id;
    item.querySelector(".what").textContent = describe(link, person);
    item.querySelector(".state").textContent = link.revoked_at === null
      ? _("Since {when}", { when: formatTime(link.created_at) })
      : _("Ended {when}", { when: formatTime(link.revoked_at) });
    const form = item.querySelector(".end");
    form.hidden = link.revoked_at !== null;
    form.addEventListener("submit", (event) => { event.preventDefault(); endLink(link, form); });
    list.append(item);
  }
  if (!list.children.length) say(_("No family links for this person."), "done");
}

function start() {
  $("family-form").addEventListener("submit", addLink);
  $("family-show").addEventListener("click", () => showLinks().catch(() => say(
    _("Could not reach the issuer service. Check the connection and try again."), "error")));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
