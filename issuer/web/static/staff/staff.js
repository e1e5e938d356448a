// The staff page: find people by ID number or phone (GET /api/people), print a card
// (POST /api/people/<id>/card, the PDF opened from a blob: URL) and make a new enrolment link
// (POST /api/people/<id>/enrolment, shown with its QR code for printing). The token is kept in
// sessionStorage (this tab, until it closes) and sent only in the Authorization header of
// those requests: never in a URL, a cookie or a form.
import { _, formatDay, formatTime } from "/shared/i18n.js";
import { $, TOKEN_KEY, call, needToken, problem, say, token } from "./common.js";

function cardDays() {
  const days = Number($("days").value);
  if (Number.isInteger(days) && days >= 1 && days <= 30) return days;
  say(_("A card is valid for 1 to 30 days."), "error");
  $("days").focus();
  return null;
}

// Finding people -----------------------------------------------------------------------------

function setQueryLabel() {
  const byPhone = $("by").value === "phone";
  $("query-label").textContent = byPhone ? _("Phone number") : _("ID number");
  $("query").inputMode = byPhone ? "tel" : "text";
  $("query").autocomplete = "off";
}

function showPeople(people) {
  const list = $("people");
  list.replaceChildren();
  for (const person of people) {
    const item = $("person-template").content.firstElementChild.cloneNode(true);
    item.querySelector(".name").textContent = person.name;
    item.querySelector(".tail").textContent = person.id_tail
      ? _("ID number ending {tail}", { tail: person.id_tail }) : "";
    item.querySelector(".organisation").textContent = person.organisation;
    item.querySelector(".enrolled").textContent = formatDay(person.enrolled_at);
    item.querySelector(".bound").textContent = person.phone_bound ? _("Yes") : _("No");
    item.querySelector(".pid").textContent = person.id;
    const label = `${person.name} ${person.id_tail}`;
    const print = item.querySelector(".print-card");
    print.setAttribute("aria-label", _("Print a card for {who}", { who: label }));
    print.addEventListener("click", () => printCard(person.id, print));
    const link = item.querySelector(".new-link");
    link.setAttribute("aria-label", _("New enrolment link for {who}", { who: label }));
    link.addEventListener("click", () => newLink(person, link));
    list.append(item);
  }
  $("results").hidden = false;
}

async function search(event) {
  event.preventDefault();
  $("results").hidden = true;
  $("link").hidden = true;
  if (!needToken()) return;
  const by = $("by").value;
  const value = $("query").value.trim();
  if (!value) {
    say(by === "phone" ? _("Enter the phone number.") : _("Enter the ID number."), "error");
    $("query").focus();
    return;
  }
  const url = new URL($("search-form").dataset.searchUrl, location.href);
  url.searchParams.set(by, value);
  $("search").disabled = true;
  say(_("Searching…"));
  try {
    const response = await call(url, "GET", "application/json"); // i18n: not shown
    if (!response.ok) { say(await problem(response, _("The search")), "error"); return; }
    const { people } = await response.json();
    showPeople(people);
    say(people.length === 0 ? (by === "phone" ? _("No one is enrolled with this phone number.")
                                              : _("No one is enrolled with this ID number."))
      : people.length === 1 ? _("One person found.")
      : _("{count} people found: a phone can be a family's.", { count: people.length }),
        people.length ? "done" : "error");
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    $("search").disabled = false;
  }
}

// Cards ---------------------------------------------------------------------------------------

function fileName(response) {
  const header = response.headers.get("Content-Disposition") || ""; // i18n: not shown
  const match = /filename="?([A-Za-z0-9._-]+)"?/.exec(header);
  return match ? match[1] : "card.pdf"; // i18n: not shown
}

let lastCard = null;

async function printCard(person, button) {
  $("result").hidden = true;
  const days = cardDays();
  if (!needToken() || days === null) return;
  const url = $("card-form").dataset.cardUrl
    .replace("__PERSON__", encodeURIComponent(person)); // i18n: not shown
  button.disabled = true;
  say(_("Printing…"));
  try {
    const response = await call(url, "POST", "application/pdf, application/json", { days }); // i18n: not shown
    const type = response.headers.get("Content-Type") || ""; // i18n: not shown
    if (!response.ok || !type.startsWith("application/pdf")) {
      say(await problem(response, _("Printing the card"), person), "error");
      return;
    }
    const blob = await response.blob();
    if (lastCard) URL.revokeObjectURL(lastCard);
    lastCard = URL.createObjectURL(blob);
    $("open").href = lastCard;
    $("save").href = lastCard;
    $("save").download = fileName(response);
    $("result").hidden = false;
    const opened = window.open(lastCard, "_blank");
    say(opened ? _("Card ready: print it from the new tab (actual size, 100 %).")
               : _("Card ready: open it with the link below and print it (actual size, 100 %)."),
        "done");
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    button.disabled = false;
  }
}

function printById(event) {
  event.preventDefault();
  const person = $("person").value.trim();
  if (!person) { say(_("Enter the person id."), "error"); $("person").focus(); return; }
  printCard(person, $("print"));
}

// Enrolment links -------------------------------------------------------------------------------

let lastQr = null;

async function newLink(person, button) {
  if (!needToken()) return;
  const url = $("search-form").dataset.linkUrl
    .replace("__PERSON__", encodeURIComponent(person.id)); // i18n: not shown
  button.disabled = true;
  say(_("Making a new enrolment link…"));
  try {
    const response = await call(url, "POST", "application/json", {}); // i18n: not shown
    if (!response.ok) {
      say(await problem(response, _("Making the link"), person.id), "error");
      return;
    }
    const link = await response.json();
    if (lastQr) URL.revokeObjectURL(lastQr);
    lastQr = URL.createObjectURL(new Blob([link.qr_svg], { type: "image/svg+xml" })); // i18n: not shown
    $("link-qr").src = lastQr;
    $("link-url").href = link.url;
    $("link-url").textContent = link.url;
    $("link-for").textContent = _("For {who} (ID number ending {tail}).",
                                  { who: person.name, tail: person.id_tail });
    $("link-expires").textContent = _("Valid until {until}, once.",
                                      { until: formatTime(link.expires_at) });
    $("link").hidden = false;
    $("link").focus();
    say(_("New enrolment link ready: print it or send it."), "done");
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    button.disabled = false;
  }
}

function start() {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("token").addEventListener("change", () => {
    if (token()) sessionStorage.setItem(TOKEN_KEY, token());
    else sessionStorage.removeItem(TOKEN_KEY);
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("token").value = "";
    say(_("Token forgotten."), "");
  });
  $("by").addEventListener("change", setQueryLabel);
  setQueryLabel();
  $("search-form").addEventListener("submit", search);
  $("card-form").addEventListener("submit", printById);
  $("link-print").addEventListener("click", () => window.print());
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
