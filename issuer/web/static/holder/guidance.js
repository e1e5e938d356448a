/**
 * My code: what to do on this colour, whom to contact, and when the colour changes if nothing
 * new is recorded. The words come pre-rendered in the reader's language with the credential
 * (holder_text.credential_view), so the section reads offline from the saved credential.
 */

import { _ } from "/shared/i18n.js";

const $ = (id) => document.getElementById(id);

/** Fill the guidance section from ``guidance`` (null: an older saved credential, hidden). */
export function showGuidance(guidance, now) {
  const section = $("guidance");
  if (!section) return;
  if (!guidance) {
    section.hidden = true;
    return;
  }
  section.dataset.colour = guidance.colour;
  const change = guidance.change;
  let when = "";
  if (change && change.at <= now) {
    when = _("Your colour may have changed since this was saved: go online to see your code now");
  } else if (change) {
    when = change.text;
  } else if (guidance.colour !== "green") {
    when = guidance.stays || "";
  }
  $("guidance-change").textContent = when;
  $("guidance-change").hidden = !when;
  $("guidance-do").textContent = guidance.do || "";
  $("guidance-do").hidden = !guidance.do;
  $("guidance-contact-text").textContent = guidance.contact || "";
  $("guidance-contact").hidden = !guidance.contact;
  section.hidden = !(when || guidance.do || guidance.contact);
}
