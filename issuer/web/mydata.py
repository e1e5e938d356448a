"""What *My data* shows: everything the issuer holds about a person
(:func:`issuer.service.records.holder_data`) in the words people use, in the reader's language.

Every observation kind, source, audit action, revocation reason, credential purpose and actor
the code writes has a label here (the strings stored stay machine names: the JSON download
keeps them). Something without a label is shown as it is stored, marked ``verbatim`` (a
reason a member of staff typed, a region code): a person's own data is never translated.
Labels use the context ``my data`` (``pgettext``), so the same English word elsewhere may be
translated otherwise. Functions here read the request's locale; call them in a request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext

from verifier.i18n import format_decimal
from verifier.webui import locale

from ..policy.observations import Kind
from ..policy.scoring import DAY
from ..service.issuance import SELF_DECLARED
from ..store.credential_store import SUPERSEDED
from ..store.family_store import GUARDIAN, LINK_ENDED, REMOVED


def kind_labels() -> dict[str, str]:
    """Each observation kind (:class:`Kind`) in words."""
    return {Kind.TEST_RESULT: pgettext("my data", "Test result"),
            Kind.CONTACT: pgettext("my data", "Close contact with a case"),
            Kind.SYMPTOMS: pgettext("my data", "Symptoms"),
            Kind.TRAVEL: pgettext("my data", "Travel"),
            Kind.STEPS: pgettext("my data", "Steps"),
            Kind.SLEEP_HOURS: pgettext("my data", "Sleep"),
            Kind.ALCOHOL_ML: pgettext("my data", "Alcohol"),
            Kind.CIGARETTES: pgettext("my data", "Cigarettes")}


def action_labels() -> dict[str, str]:
    """Each audit action the code writes, in words (tests/test_mydata.py finds them all)."""
    return {"person.create": pgettext("my data", "Enrolled"),
            "person.search": pgettext("my data", "Looked up by staff"),
            "observation.add": pgettext("my data", "Record added"),
            "observation.void": pgettext("my data", "Record voided"),
            "appeal.open": pgettext("my data", "Appeal sent"),
            "appeal.decide": pgettext("my data", "Appeal decided"),
            "retention.purge": pgettext("my data", "Data past its time deleted"),
            "colour.change": pgettext("my data", "Colour changed"),
            "credential.issue": pgettext("my data", "Code issued"),
            "credential.revoke": pgettext("my data", "Code revoked"),
            "credential.revoke_all": pgettext("my data", "Codes revoked"),
            "enrolment.create": pgettext("my data", "Enrolment link made"),
            "family.link": pgettext("my data", "Family code link made"),
            "family.unlink": pgettext("my data", "Family code link ended"),
            "device.bind": pgettext("my data", "Phone bound"),
            "holder.sign_in": pgettext("my data", "Signed in with a code"),
            "session.revoke_all": pgettext("my data", "Signed out on every phone"),
            "reissue.start": pgettext("my data", "Re-issue of all codes started"),
            "reissue.finish": pgettext("my data", "Re-issue of all codes finished"),
            "token.create": pgettext("my data", "Staff access key made"),
            "token.expire": pgettext("my data", "Staff access key expired"),
            "token.revoke": pgettext("my data", "Staff access key withdrawn")}


def reason_labels() -> dict[str, str]:
    """Reasons the code itself writes (audit entries, revocations, replaced phones)."""
    return {"enrolment": pgettext("my data", "Enrolment"),
            "observation recorded": pgettext("my data", "Recorded by the issuer"),
            "declared by the holder": pgettext("my data", "Declared by you"),
            "withdrawn by the holder": pgettext("my data", "Withdrawn by you"),
            "appeal against a record": pgettext("my data", "Against a record"),
            "appeal against the colour": pgettext("my data", "Against your colour"),
            "appeal upheld": pgettext("my data", "Appeal upheld"),
            "appeal rejected": pgettext("my data", "Appeal rejected"),
            "one-time code": pgettext("my data", "With a code sent to your phone"),
            "enrolment link": pgettext("my data", "With your enrolment link"),
            "phone bound after sign-in by code":
                pgettext("my data", "After signing in with a code"),
            SUPERSEDED: pgettext("my data", "Replaced by a newer code"),
            "superseded by a newer live code": pgettext("my data", "Replaced by a newer live code"),
            "replaced by a new phone": pgettext("my data", "Replaced by a new phone"),
            LINK_ENDED: pgettext("my data", "The family code link was ended"),
            REMOVED: pgettext("my data", "Removed by the guardian from their phone"),
            "re-issue everyone": pgettext("my data", "Everyone's codes were re-issued"),
            "ended by an operator": pgettext("my data", "Ended by staff"),
            "signed out": pgettext("my data", "Signed out"),
            "a new phone was bound": pgettext("my data", "A new phone was bound"),
            "synthetic demo data": pgettext("my data", "Demo data"),
            "synthetic positive PCR": pgettext("my data", "Demo data: positive test"),
            "synthetic close contact": pgettext("my data", "Demo data: close contact")}


def source_labels() -> dict[str, str]:
    """Sources the code and the demo write; others are the issuing office's own names."""
    return {SELF_DECLARED: pgettext("my data", "Declared by you"),
            "demo wearable": pgettext("my data", "Wearable (demo)"),
            "demo lab": pgettext("my data", "Laboratory (demo)"),
            "demo tracing": pgettext("my data", "Contact tracing (demo)")}


def purpose_label(purpose: str | None) -> str:
    """A credential's purpose: ``live`` (the phone's), ``family`` (on a guardian's phone),
    ``card`` (printed), else static."""
    return {"live": pgettext("my data", "Live code"),
            "family": pgettext("my data", "Family code (on a guardian's phone)"),
            "card": pgettext("my data", "Printed card")}.get(
        purpose or "", pgettext("my data", "Static code"))


def colour_label(colour: str) -> str:
    return {"green": pgettext("my data", "Green code"),
            "yellow": pgettext("my data", "Yellow code"),
            "red": pgettext("my data", "Red code")}.get(colour, colour)


def actor_label(actor: str) -> tuple[str, str | None]:
    """``(who, id)``: the person themselves, the system, or issuer staff (with the id of
    their access key, so that a person can ask who it was)."""
    if actor == "holder":
        return pgettext("my data", "You"), None
    if actor == GUARDIAN:
        return pgettext("my data", "A guardian's phone (family code)"), None
    if actor == "system" or actor.startswith("system:"):
        return pgettext("my data", "Automatic"), None
    if actor == "cli" or actor.startswith("cli:"):
        return pgettext("my data", "Issuer staff"), None
    return pgettext("my data", "Issuer staff"), actor


def labelled(text: str | None, labels: Mapping[str, str]) -> dict[str, Any]:
    """``{"text", "verbatim"}``: the label of ``text``, or ``text`` itself (verbatim)."""
    if text is None or text == "":
        return {"text": "", "verbatim": False}
    if text in labels:
        return {"text": labels[text], "verbatim": False}
    return {"text": text, "verbatim": True}


def number(value: float, places: int = 0) -> str:
    """A number rounded for people in the reader's locale: ``5,667``, ``7.5``."""
    return format_decimal(value, locale(), places)


def value_text(kind: str, value: Any) -> dict[str, Any]:
    """An observation's value as people say it, with its unit: ``阳性``, ``5,667 steps``."""
    if kind == Kind.TEST_RESULT and value in ("positive", "negative"):
        text = pgettext("my data", "Positive") if value == "positive" \
            else pgettext("my data", "Negative")
    elif kind in (Kind.CONTACT, Kind.SYMPTOMS) and isinstance(value, bool):
        text = pgettext("my data", "Yes") if value else pgettext("my data", "No")
    elif kind == Kind.STEPS and isinstance(value, int | float):
        text = ngettext("%(count)s step", "%(count)s steps", int(round(value)),
                        count=number(value))
    elif kind == Kind.SLEEP_HOURS and isinstance(value, int | float):
        text = _("%(hours)s h", hours=number(value, 1))
    elif kind == Kind.ALCOHOL_ML and isinstance(value, int | float):
        text = _("%(ml)s ml", ml=number(value))
    elif kind == Kind.CIGARETTES and isinstance(value, int | float):
        text = ngettext("%(count)s cigarette", "%(count)s cigarettes", int(round(value)),
                        count=number(value))
    else:  # a region code, or a value of a kind this version does not know
        return {"text": str(value), "verbatim": True, "number": False}
    return {"text": text, "verbatim": False, "number": kind not in (
        Kind.TEST_RESULT, Kind.CONTACT, Kind.SYMPTOMS)}


def _audit_parts(action: str, reason: str, details: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What an audit entry says beyond its label, from its details (the reasons the code
    writes for issuing and colour changes are English sentences: their facts are in
    ``details``)."""
    kinds, reasons = kind_labels(), reason_labels()
    if action == "observation.add":
        parts = [labelled(details.get("kind"), kinds)]
        if details.get("source"):
            parts.append({"source": labelled(details["source"], source_labels())})
        return parts
    if action == "observation.void":
        return [labelled(details.get("kind"), kinds), labelled(reason, reasons)]
    if action == "colour.change":
        scores = details.get("score") or [None, None]
        return [{"from": colour_label(str(details.get("from"))),
                 "to": colour_label(str(details.get("to"))), "scores": scores}]
    if action == "credential.issue":
        parts = [{"text": purpose_label(details.get("purpose")), "verbatim": False}]
        if isinstance(details.get("exp"), int):
            parts.append({"until": details["exp"]})
        if details.get("run") is not None:
            parts.append(labelled("re-issue everyone", reasons))
        return parts
    if action == "credential.revoke_all":
        count = len(details.get("ctis") or ())
        return [{"text": ngettext("%(num)s code", "%(num)s codes", count),
                 "verbatim": False}, labelled(reason, reasons)]
    if action == "enrolment.create" and isinstance(details.get("expires_at"), int):
        return [{"link_until": details["expires_at"]}]
    if action == "holder.sign_in":
        return []
    return [labelled(reason, reasons)]


def audit_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An audit entry (as :meth:`Store.audit_entries` gives it) as the page shows it: its
    label (a generic one, ``known`` False, for an action without one), who, ``parts``, and
    ``log``: the index of its leaf in the public log (None if it has none)."""
    action = str(entry["action"])
    label = action_labels().get(action)
    who, who_id = actor_label(str(entry["actor"]))
    log = (entry.get("details") or {}).get("log")
    return {"at": entry["at"], "action": action, "known": label is not None,
            "log": log if isinstance(log, int) and not isinstance(log, bool) else None,
            "label": label or pgettext("my data", "Other change"), "who": who, "who_id": who_id,
            "parts": [p for p in _audit_parts(action, str(entry.get("reason") or ""),
                                              entry.get("details") or {})
                      if p.get("text") != ""]}


def credential_row(credential: Mapping[str, Any], now: int) -> dict[str, Any]:
    """A credential with its ``state`` at ``now`` (valid, expired or revoked), in words."""
    if credential.get("revoked_at") is not None:
        state = "revoked"
    elif credential["exp"] <= now:
        state = "expired"
    else:
        state = "valid"
    return {"issued": credential["iat"], "until": credential["exp"], "state": state,
            "colour": credential["colour"], "colour_label": colour_label(credential["colour"]),
            "score": credential["score"], "purpose": purpose_label(credential.get("purpose")),
            "revoked_at": credential.get("revoked_at"),
            "reason": labelled(credential.get("revocation_reason"), reason_labels())}


def appeal_row(appeal: Mapping[str, Any], observations: Mapping[int, Mapping[str, Any]],
               now: int) -> dict[str, Any]:
    """An appeal: what it contests (a record, or the colour), the holder's words, its state
    (``open``, ``overdue``, ``upheld``, ``rejected``) and the reviewer's written reason."""
    contested = observations.get(appeal["observation_id"]) \
        if appeal["observation_id"] is not None else None
    state = appeal["state"]
    if state == "open" and appeal["due_at"] is not None and appeal["due_at"] < now:
        state = "overdue"
    return {"id": appeal["id"], "sent": appeal["created_at"], "state": state,
            "record": None if contested is None else observation_row(contested),
            "reason": {"text": appeal["reason"], "verbatim": True},
            "due": appeal["due_at"], "decided": appeal["decided_at"],
            "decision": {"text": appeal["decision"] or "", "verbatim": True},
            "photo": appeal["attachment_type"] is not None}


def observation_row(observation: Mapping[str, Any]) -> dict[str, Any]:
    """An observation's kind, value and source in words; whether the holder may still
    withdraw it; and, once voided, when, by whom and why (``voided``)."""
    kind = str(observation["kind"])
    voided = None
    if observation.get("voided_at") is not None:
        who, who_id = actor_label(str(observation.get("voided_by")))
        voided = {"at": observation["voided_at"], "who": who, "who_id": who_id,
                  "reason": labelled(observation.get("void_reason"), reason_labels())}
    return {"id": observation.get("id"), "at": observation["observed_at"], "kind": kind,
            "label": labelled(kind, kind_labels()),
            "value": value_text(kind, observation["value"]),
            "source": labelled(observation.get("source"), source_labels()),
            "withdrawable": bool(observation.get("withdrawable")), "voided": voided}


def view(data: Mapping[str, Any], now: int, recent_audit: int = 20) -> dict[str, Any]:
    """Everything *My data* shows, newest first: ``summary``, ``person``, observations
    still ``counted`` toward the code, ``older`` ones and ``voided`` ones, ``credentials``,
    ``phones``, the
    newest ``recent_audit`` audit entries (``audit``) and the ``older_audit``."""
    retention = data["retention"]
    counted_days: Mapping[str, int] = retention["counted_days"]
    observations = sorted(data["observations"], key=lambda o: (o["observed_at"], o["id"]),
                          reverse=True)
    counted, older, voided = [], [], []
    for observation in observations:
        days = counted_days.get(str(observation["kind"]), 0)
        fresh = now - days * DAY < observation["observed_at"] <= now
        row = observation_row(observation)
        (voided if row["voided"] else counted if fresh else older).append(row)
    per_kind = Counter(str(o["kind"]) for o in observations)
    labels = kind_labels()
    kinds = [{"kind": k, "label": labels.get(k, k), "count": per_kind.get(k, 0),
              "days": counted_days.get(k)}
             for k in [*labels, *sorted(set(per_kind) - set(labels))]]
    credentials = [credential_row(c, now) for c in data["credentials"]]
    audit = [audit_row(e) for e in sorted(data["audit"], key=lambda e: (e["at"], e["seq"]),
                                               reverse=True)]
    assessment = data["assessment"]
    summary = {"colour": assessment["colour"], "colour_label": colour_label(assessment["colour"]),
               "score": assessment["score"], "assessed_at": assessment["assessed_at"],
               "observations": len(observations), "kinds": kinds,
               "credentials": len(credentials),
               "valid": sum(c["state"] == "valid" for c in credentials),
               "phones": len(data["phones"]),
               "phones_in_use": sum(p["revoked_at"] is None for p in data["phones"]),
               "audit": len(audit), "policy_id": retention["policy_id"],
               "lookback_days": retention["lookback_days"],
               "deleted_automatically": retention["deleted_automatically"],
               "kept_days": retention.get("kept_days")}
    phones = [{"bound": p["created_at"], "replaced": p["revoked_at"],
               "reason": labelled(p.get("revocation_reason"), reason_labels())}
              for p in data["phones"]]
    by_id = {o["id"]: o for o in observations}
    appeals = [appeal_row(a, by_id, now) for a in data.get("appeals", ())]
    return {"issuer": data["issuer"], "person": data["person"], "summary": summary,
            "appeals": appeals,
            "counted": counted, "older": older, "voided": voided, "credentials": credentials,
            "phones": phones,
            "audit": audit[:recent_audit], "older_audit": audit[recent_audit:]}
