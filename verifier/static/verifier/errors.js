/**
 * The verifier's one exception tree, as verifier/errors.py: every refusal carries a `reason`,
 * the same stable code Python gives (the app words it in the reader's language), and a
 * `context` ({kid, exp, now, presented_at, ...}). Messages are for developers, never shown.
 */

export class VerificationError extends Error {
  constructor(reason, context = {}) {
    super(reason);
    this.name = "VerificationError"; // i18n: not shown
    this.reason = reason;
    this.context = context;
  }
}

/** trust_list_* reasons. */
export class TrustListError extends VerificationError {
  constructor(reason, context = {}) {
    super(reason, context);
    this.name = "TrustListError"; // i18n: not shown
  }
}

/** revocation_list_* reasons. */
export class RevocationListError extends VerificationError {
  constructor(reason, context = {}) {
    super(reason, context);
    this.name = "RevocationListError"; // i18n: not shown
  }
}

/** Throw a VerificationError (or `Kind`) with `reason`. */
export function reject(reason, context = {}, Kind = VerificationError) {
  throw new Kind(reason, context);
}
