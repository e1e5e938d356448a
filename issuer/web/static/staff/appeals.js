// The staff page's appeals: the queue, oldest first (GET /api/appeals, the review scope), each
// with what it contests, the person's own words and photo, and a decision in writing
// (POST /api/appeals/<id>/decision). The person reads the reason given.
import { _, formatTime } from "/shared/i18n.js";
import { $, call, needToken, problem, say } from "./common.js";

const NO_SCOPE = () => _("This token may not decide appeals (403): that needs the review scope.");
const KINDS = () => ({
  test_result: _("Test result"), contact: _("Close contact with a case"),
  symptoms: _("Symptoms"), travel: _("Travel"), steps: _("Steps"), sleep_hours: _("Sleep"),
  alcohol_ml: _("Alcohol"), cigarettes: _("Cigarettes"),
});
const COLOURS = () => ({ green: _("green"), yellow: _("yellow"), red: _("red") });
const photos = [];

function contested(appeal) {
  const record = appeal.observation;
  if (!record) return _("Against the colour as a whole");
  const kind = KINDS()[record.kind] || record.kind;
  return _("Against a record: {kind} {value}, {when}, from {source}", {
    kind, value: String(record.value), when: formatTime(record.observed_at),
    source: record.source });
}

function deadline(appeal) {
  if (appeal.due_at === null) return "";
  const when = formatTime(appeal.due_at);
  return appeal.overdue ? _("Overdue: the decision was due by {when}", { when })
                        : _("Decide by {when}", { when });
}

async function showPhoto(appeal, item, button) {
  button.disabled = true;
  try {
    const response = await call(appeal.attachment, "GET", "image/jpeg"); // i18n: not shown
    if (!response.ok) { say(await problem(response, _("Loading the photo"), null, NO_SCOPE()), "error"); return; }
    const url = URL.createObjectURL(await response.blob());
    photos.push(url);
    const image = item.querySelector(".photo");
    image.src = url;
    image.hidden = false;
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    button.disabled = false;
  }
}

function voidList(text) {
  const ids = text.split(/[\s,，]+/).filter(Boolean).map(Number);
  return ids.every((id) => Number.isInteger(id) && id > 0) ? ids : null;
}

async function decide(appeal, item, upheld) {
  if (!needToken()) return;
  const reason = item.querySelector(".reason").value.trim();
  if (!reason) {
    say(_("Write the reason for your decision: the person reads it."), "error");
    item.querySelector(".reason").focus();
    return;
  }
  const ids = voidList(item.querySelector(".void").value);
  if (ids === null) {
    say(_("Record ids are whole numbers, separated by commas."), "error");
    item.querySelector(".void").focus();
    return;
  }
  const url = $("appeals").dataset.decisionUrl.replace("__APPEAL__", encodeURIComponent(appeal.id)); // i18n: not shown
  for (const button of item.querySelectorAll("button")) button.disabled = true;
  try {
    const response = await call(url, "POST", "application/json", { // i18n: not shown
      decision: upheld ? "uphold" : "reject", reason, void: upheld ? ids : [] }); // i18n: not shown
    if (!response.ok) {
      say(await problem(response, _("The decision"), null, NO_SCOPE()), "error");
      for (const button of item.querySelectorAll("button")) button.disabled = false;
      return;
    }
    const decided = await response.json();
    say(upheld ? _("Upheld. The person's code is now {colour}, score {score}.", {
                   colour: COLOURS()[decided.assessment.colour] || decided.assessment.colour,
                   score: decided.assessment.score })
               : _("Rejected. The person will read your reason."), "done");
    item.remove();
    if (!$("appeal-list").children.length) $("appeals-empty").hidden = false;
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
    for (const button of item.querySelectorAll("button")) button.disabled = false;
  }
}

function show(appeals) {
  const list = $("appeal-list");
  list.replaceChildren();
  for (const appeal of appeals) {
    const item = $("appeal-template").content.firstElementChild.cloneNode(true);
    item.dataset.id = appeal.id;
    item.dataset.overdue = String(appeal.overdue);
    item.querySelector(".what").textContent = contested(appeal);
    item.querySelector(".due").textContent = deadline(appeal);
    item.querySelector(".pid").textContent = appeal.person_id;
    item.querySelector(".sent").textContent = formatTime(appeal.created_at);
    item.querySelector(".words").textContent = appeal.reason;
    if (appeal.attachment) {
      const button = item.querySelector(".show-photo");
      item.querySelector(".photo-line").hidden = false;
      button.addEventListener("click", () => showPhoto(appeal, item, button));
    }
    item.querySelector(".void-line").hidden = appeal.observation_id !== null;
    item.querySelector(".uphold").addEventListener("click", () => decide(appeal, item, true));
    item.querySelector(".reject").addEventListener("click", () => decide(appeal, item, false));
    list.append(item);
  }
  $("appeals-empty").hidden = appeals.length > 0;
}

async function load() {
  if (!needToken()) return;
  $("load-appeals").disabled = true;
  say(_("Loading the appeals…"));
  try {
    const response = await call($("appeals").dataset.appealsUrl, "GET", "application/json"); // i18n: not shown
    if (!response.ok) { say(await problem(response, _("Loading the appeals"), null, NO_SCOPE()), "error"); return; }
    const { appeals } = await response.json();
    while (photos.length) URL.revokeObjectURL(photos.pop());
    show(appeals);
    const overdue = appeals.filter((a) => a.overdue).length;
    say(appeals.length === 0 ? _("No appeal is waiting.")
      : _("Appeals waiting: {count}. Overdue: {overdue}.", { count: appeals.length, overdue }),
        "done");
  } catch (_error) {
    say(_("Could not reach the issuer service. Check the connection and try again."), "error");
  } finally {
    $("load-appeals").disabled = false;
  }
}

function start() { $("load-appeals").addEventListener("click", load); }

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
