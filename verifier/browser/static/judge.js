// From the texts read off a frame (or pasted) to a verdict, in the page, offline: the same
// verdicts as the kiosk's server (verifier/kiosk/checkpoint.py), in the same shape as its
// JSON answers, so one view shows both; codes of other formats (EU, SMART, NZ) too, with the
// keys the trust list carries for them. Nothing about any code is stored: to announce a code
// once while it stays in view, the judge keeps, in memory and for a few seconds only, which
// codes it has just seen.
import { verify, codeIdentity, decodeUnverified, VerificationError } from "/shared/verifier/index.js";
import { detect, verifyForeign } from "/shared/verifier/formats/index.js";
import { chunkPosition, joinChunks } from "/shared/verifier/formats/shc.js";
import {
  screenWords, detailWords, timeDetail, refusalWords, ADMIT_MESSAGE, STATIC_REFUSED,
} from "/shared/checkpoint/words.js";
import { FORMATS, foreignRefusal } from "/shared/checkpoint/foreign.js";

/** A code seen again within this long of the last time it was seen is not announced. */
export const REPEAT_MS = 5000;
const PREFIXES = ["HCC1:", "HCP1:"];  // i18n: not shown
const MAX_TEXT_LENGTH = 2048;

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class Judge {
  /** `state`: the device's state (state.js): trust, revocations, rule, acceptStatic;
   * `options`: {window, rule (a Rule), clock (epoch s), issuerLang ("zh-CN" | "en")}. */
  constructor(state, { window = 60, rule, clock = nowSeconds, issuerLang = "en" } = {}) {
    this.state = state;
    this.window = window;
    this.rule = rule;
    this.clock = clock;
    this.issuerLang = issuerLang;
    this.seen = new Map();
  }

  /** The verdict on the QR texts read from one picture; null if none was given. */
  async judge(texts) {
    if (!texts.length) return null;
    const found = joinSmartChunks(
      texts.filter((t) => PREFIXES.some((p) => t.startsWith(p)) || detect(t)));
    const codes = found.length ? found : texts.slice(0, 1);
    const identity = safeIdentity(codes[0]);
    let trust = this.state.trust;
    if (!trust) return this.invalid("trust_list_malformed", identity);
    const now = this.clock();
    if (now > trust.expiresAt) {
      // Out of date but genuine: verify() would refuse every code with trust_list_expired,
      // so codes are checked against a view of it that is current now, as the kiosk does;
      // the warnings still say the list expired.
      trust = currentView(trust, now);
    }
    let first = null;
    for (const text of codes) {
      try {
        if (detect(text)) {  // keys of its own: the trust list's foreign member
          return this.validForeign(await verifyForeign(text, trust.foreign, now), identity, now);
        }
        const credential = await verify(text.slice(0, MAX_TEXT_LENGTH + 1), trust, now,
                                        this.state.revocations || [], { window: this.window });
        return this.valid(credential, identity, now);
      } catch (e) {
        if (!(e instanceof VerificationError)) throw e;
        first = first || { error: e, text };
      }
    }
    const { error, text } = first;
    return this.invalid(error.reason, identity, this.detail(error, text, now));
  }

  /** The verdict on pasted text. */
  async judgeText(text) {
    const trimmed = String(text || "").trim();
    if (!trimmed) return this.invalid("no_code", null);
    return this.judge([trimmed]);
  }

  /** A picture in which no QR code was found. */
  noCode() { return this.invalid("no_code", null); }

  valid(credential, identity, now) {
    const decided = this.rule.decide(credential);
    let refusal = decided ? refusalWords(decided, credential) : null;
    if (refusal === null && credential.static && !this.state.acceptStatic) refusal = STATIC_REFUSED();
    const state = refusal === null ? "admit" : "deny";
    const trust = this.state.trust;
    let issuerName = credential.iss;
    try { issuerName = trust ? trust.issuerName(credential.iss, this.issuerLang) : credential.iss; } catch (e) { /* keep the id */ }
    const verdict = {
      state, colour: credential.colour, score: credential.score,
      seconds_left: Math.max(credential.exp - now, 0), issuer: credential.iss,
      issuer_name: issuerName, static: !!credential.static,
      message: refusal === null ? ADMIT_MESSAGE() : refusal,
      id_check: credential.idCheck ? { name: credential.idCheck.name, id_tail: credential.idCheck.idTail } : null,
      family: !!credential.family,
      presented_ago: credential.presentedAt == null ? null : now - credential.presentedAt,
      code: identity,
    };
    verdict.announce = this.announce(identity, refusal === null ? "admitted" : "denied");
    return verdict;
  }

  /** The verdict on a verified foreign code, as the kiosk's (kiosk/verdicts.foreign_verdict):
   * the holder's name and date of birth are shown for staff to compare with an ID, never kept. */
  validForeign(code, identity, now) {
    const decided = this.rule.decide(code);
    const state = decided === null ? "admit" : "deny";
    const verdict = {
      state, format: code.format, format_name: FORMATS[code.format], issuer: code.issuer,
      country: code.country, kind: code.kind, name: code.holder.name,
      birth_date: code.holder.birth_date, shows: code.shows,
      seconds_left: code.expires_at === null ? null : Math.max(code.expires_at - now, 0),
      colour: null, score: null, static: false,
      message: decided === null ? ADMIT_MESSAGE() : foreignRefusal(decided), code: identity,
    };
    verdict.announce = this.announce(identity, state === "admit" ? "admitted" : "denied");
    return verdict;
  }

  invalid(reason, identity, detail = null) {
    const verdict = { state: "invalid", reason, message: screenWords(reason),
                      detail: detail || detailWords(reason), code: identity };
    verdict.announce = this.announce(identity, `invalid:${reason}`);
    return verdict;
  }

  detail(error, text, now) {
    const context = error.context || {};
    let claims = null;
    if (error.reason === "expired" || error.reason === "not_yet_valid") {
      try { claims = decodeUnverified(text); } catch (e) { claims = null; }
    }
    const made = context.presented_at ?? context.presentedAt ?? null;
    return timeDetail(error.reason, { claims, made, now, window: this.window });
  }

  /** True when this verdict is news: the code was not seen with this outcome in the last
   * REPEAT_MS (a live code held in view is announced once, but a refused recording followed
   * by the live phone is announced again). */
  announce(identity, outcome) {
    if (identity === null) return true;
    const at = performance.now();
    const key = `${outcome}\n${identity}`;
    const last = this.seen.get(key);
    this.seen.set(key, at);
    if (this.seen.size > 256) {  // bounded: drop codes not seen for a while
      for (const [k, t] of this.seen) if (at - t >= REPEAT_MS) this.seen.delete(k);
    }
    return last === undefined || at - last >= REPEAT_MS;
  }
}

/** `found` with the chunks of one SMART card printed in several QR codes joined, where its first
 * chunk was (as scan.health_codes does); as they are when they do not make one card. */
function joinSmartChunks(found) {
  const chunks = found.filter((t) => (chunkPosition(t) || [0, 1])[1] > 1);
  if (chunks.length < 2) return found;
  let joined;
  try { joined = joinChunks(chunks); } catch (e) {
    if (e instanceof VerificationError) return found;
    throw e;
  }
  const at = found.indexOf(chunks[0]);
  const rest = found.filter((t) => !chunks.includes(t));
  return [...rest.slice(0, at), joined, ...rest.slice(at)];
}

function safeIdentity(text) {
  try { return codeIdentity(text); } catch (e) { return text; }
}

/** The trust list as it would be if it expired only now: every other property and method
 * comes from the real one. */
function currentView(trust, now) {
  return Object.create(trust, { expiresAt: { value: now, enumerable: true } });
}
