/**
 * The anchor QR's text (docs/FORMAT.md, "Anchor QR"; written by `healthcode-issuer keys export
 * --anchor-qr`, read in Python by verifier/anchorqr.py):
 *   HCA1:<thumbprint>            or   HCA1:<thumbprint>;<URL to sync from>
 * <thumbprint>: the anchor's RFC 7638 SHA-256 thumbprint, 43 characters of canonical base64url.
 */

export const ANCHOR_QR_PREFIX = "HCA1:"; // i18n: not shown

/** A refused pin: reason "anchor_malformed" (not a pin nor an anchor QR) or "anchor_differs"
 * (another anchor is pinned: call again with {replace: true} once staff confirm). */
export class AnchorError extends Error {
  constructor(reason, values = {}) {
    super(reason);
    this.name = "AnchorError"; // i18n: not shown
    this.reason = reason;
    this.values = values;
  }
}

/** `HCA1:<thumbprint>[;<url>]`, or a bare thumbprint (optionally "sha256:"), ->
 * {pin, url|null}. Throws AnchorError("anchor_malformed"). */
export function parseAnchor(text) {
  if (typeof text !== "string" || text.length > 1024) throw new AnchorError("anchor_malformed");
  let body = text.trim();
  let url = null;
  if (body.startsWith(ANCHOR_QR_PREFIX)) {
    body = body.slice(ANCHOR_QR_PREFIX.length);
    const cut = body.indexOf(";");
    if (cut >= 0) {
      url = body.slice(cut + 1);
      body = body.slice(0, cut);
      let parsed;
      try {
        parsed = new URL(url);
      } catch {
        throw new AnchorError("anchor_malformed", { url });
      }
      if (!["http:", "https:"].includes(parsed.protocol) || !parsed.host || /[\s;]/.test(url)) {
        throw new AnchorError("anchor_malformed", { url });
      }
      url = url.replace(/\/+$/, "");
    }
  }
  if (body.startsWith("sha256:")) body = body.slice(7);
  // 32 bytes in base64url without padding: 43 characters, the last one carrying 4 bits.
  if (!/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(body)) throw new AnchorError("anchor_malformed");
  return { pin: body, url };
}
