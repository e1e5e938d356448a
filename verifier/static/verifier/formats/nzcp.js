// Being written (issue 19): the nzcp format's verifier. Until then it reads no code.
import { VerificationError } from "../errors.js";

export const PREFIXES = [];
export async function loadKeys() { return null; }
export async function verify() { throw new VerificationError("malformed", { format: "nzcp", step: "detect" }); }
