// What the kiosk page and the phone app share about a kiosk's server and the camera: posting a
// picture or a text to the kiosk (/api/frame, /api/upload, /api/text) for a verdict, and the
// words for a camera the browser would not give.
import { _, locale } from "/shared/i18n.js";

/** POST to a kiosk; its verdict, or an "invalid" verdict that says what the kiosk answered. */
export async function postToKiosk(url, body, type) {
  const headers = type ? { "Content-Type": type } : {};  // i18n: not shown
  const response = await fetch(url, { method: "POST", body, headers, cache: "no-store" });
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    return { state: "invalid", reason: (answer && answer.error) || "error",
             message: (answer && answer.message) || _("The kiosk answered {status}", { status: response.status }),
             code: null, announce: true };
  }
  return answer;
}

// The extractor reads no _() inside a template literal: these are joined with withFallback.
export const withFallback = (text) => [text, _("Use a photo or the code text below.")]
  .join(locale.startsWith("zh") ? "" : " ");
const CAMERA_ERRORS = {
  NotAllowedError: () => _("Camera access was denied. Allow the camera for this page in the browser's site settings and reload; meanwhile use a photo or the code text below."),
  SecurityError: () => withFallback(_("The browser blocked the camera for this page.")),
  NotFoundError: () => withFallback(_("No camera found on this device.")),
  OverconstrainedError: () => withFallback(_("No camera found on this device.")),
  NotReadableError: () => _("The camera is in use by another program, or failed to start. Close the other program and reload, or use a photo or the code text below."),
};

/** Why a page on an insecure origin has no camera, and what to do. */
export const insecureOrigin = () => _("This page is open on an insecure origin ({origin}): browsers give such pages no camera. Open it on this machine at http://127.0.0.1 or http://localhost, or serve it over HTTPS. Meanwhile use a photo or the code text below.",
  { origin: location.origin });

/** The words for a getUserMedia error, or `failed` (with the fallback) for one not named. */
export function cameraTrouble(error, failed) {
  const known = CAMERA_ERRORS[error && error.name];
  return known ? known() : withFallback(failed);
}
