/**
 * My data, in the record of changes: each change that is also in the public log is checked on
 * this phone (./logcheck.js), and its line says what the phone found: in the log at index N
 * under a checkpoint cosigned by K witnesses, not yet in a published checkpoint, or not
 * matching the log. A contradiction with what this phone saw before is shown at the top of
 * the section, with the two signed checkpoints, and on the code page, until the holder has
 * read it. Earlier changes are checked when their list is opened.
 */

import { _ } from "/shared/i18n.js";
import { BATCH, alarm, checkLog, dismissAlarm } from "./logcheck.js";

const $ = (id) => document.getElementById(id);

function witnessed(count) {
  return count === 1 ? _("checkpoint cosigned by 1 witness")
    : _("checkpoint cosigned by {count} witnesses", { count });
}

function lineFor(row, found, result) {
  const index = row.dataset.log;
  if (!found) return [_("Index {index}: not checked", { index }), "unchecked"]; // i18n: not shown
  if (found.state === "pending") {
    return [_("Index {index}: not yet in a published checkpoint; checked next time", { index }),
      "pending"]; // i18n: not shown
  }
  const leaf = found.leaf;
  const same = leaf && leaf.a === row.dataset.action && String(leaf.t) === row.dataset.at;
  if (found.state === "ok" && same) {
    return [_("In the public log at index {index}, {witnessed}: checked on this phone",
      { index, witnessed: witnessed(result.witnesses) }), "ok"]; // i18n: not shown
  }
  return [_("Index {index}: does not match the public log", { index }), "bad"]; // i18n: not shown
}

function showAlarm(found) {
  const box = $("log-alarm");
  if (!found) {
    box.hidden = true;
    return;
  }
  $("log-evidence").textContent = [
    `reason: ${found.reason}`, `origin: ${found.origin}`, // i18n: not shown
    `seen before:\n${found.seen}`, `shown now:\n${found.shown}`, // i18n: not shown
    `consistency proof: ${JSON.stringify(found.proof)}`].join("\n"); // i18n: not shown
  box.hidden = false;
}

async function check(rows) {
  const status = $("log-status");
  const indices = [...new Set(rows.map((row) => Number(row.dataset.log)))];
  let result = null;
  for (let at = 0; at < Math.max(indices.length, 1); at += BATCH) {
    let answer;
    try {
      answer = await checkLog(indices.slice(at, at + BATCH));
    } catch {
      status.textContent = _("The public log could not be checked: this phone is offline or the issuer did not answer.");
      status.dataset.state = "offline"; // i18n: not shown
      return;
    }
    if (answer.state !== "ok") {
      result = answer;
      break;
    }
    result = result ? { ...answer, entries: new Map([...result.entries, ...answer.entries]) } : answer;
  }
  showAlarm(alarm());
  if (result.state === "contradiction") {
    status.textContent = _("This phone found a contradiction in the public log: see the warning.");
  } else if (result.state === "bad") {
    status.textContent = _("The issuer's public log could not be checked: its signed statement is not valid.");
  } else {
    status.textContent = _("Checked on this phone: the public log has {size} entries, {witnessed}.",
      { size: result.size, witnessed: witnessed(result.witnesses) });
  }
  status.dataset.state = result.state;
  for (const row of rows) {
    const [text, state] = lineFor(row, result.entries && result.entries.get(Number(row.dataset.log)),
      result);
    const line = row.querySelector(".log");
    line.textContent = text;
    line.dataset.state = state;
  }
}

function main() {
  if (!$("log-check")) return; // a family member's data: the guardian's phone checks its own
  showAlarm(alarm());
  $("log-dismiss").addEventListener("click", () => {
    dismissAlarm();
    showAlarm(null);
    check([...document.querySelectorAll("#audit tr[data-log]")]);
  });
  check([...document.querySelectorAll("#audit tr[data-log]")]);
  const older = $("older-audit");
  const fold = older && older.closest("details");
  if (fold) {
    fold.addEventListener("toggle", () => {
      if (fold.open && !fold.dataset.checked) {
        fold.dataset.checked = "yes"; // i18n: not shown
        check([...older.querySelectorAll("tr[data-log]")]);
      }
    });
  }
}

main();
