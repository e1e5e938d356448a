/**
 * The verifier in the browser: the same verdicts as the Python verifier (verifier/*.py), for
 * the checkpoint app. One module per Python module; this one re-exports the contract.
 */

export { RevocationListError, TrustListError, VerificationError } from "./errors.js";
export { TrustList, checkTrustSuccessor, loadTrustList } from "./trust.js";
export { RevocationList, checkRevocationSuccessor, loadRevocations } from "./revocation.js";
export {
  CLOCK_SKEW, CREDENTIAL_PREFIX, PRESENTATION_PREFIX, codeIdentity, decodeUnverified, verify,
} from "./verify.js";
export { PRESENTATION_WINDOW } from "./presentation.js";
export { Rule, RuleError } from "./rules.js";
export { pinFromAnchor } from "./anchor.js";
