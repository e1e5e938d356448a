/**
 * Draw a presentation's text as a QR code on the phone's screen, crisp at any pixel density.
 *
 * The encoder is the vendored qrcode-generator (../vendor/qrcode-generator/, MIT), itself an ES
 * module, so this module imports it and a page needs only
 *   <script type="module">import { drawQR } from "/static/holder/qr.js"; ...</script>
 * and no <script> tag for the library.
 *
 * Like the issuer's own images (issuer/render/qr.py): alphanumeric mode (Base45 text is made of
 * the QR alphanumeric set), error correction level M, the lowest version that holds the text,
 * dark modules on white with a four-module quiet zone.
 */

import qrcode from "../vendor/qrcode-generator/qrcode.mjs";

/** Light modules around the symbol, in modules (ISO/IEC 18004 asks for four). */
export const QUIET_ZONE = 4;
const LEVEL = "M";
const AUTO_VERSION = 0;
const DARK = "#000";
const LIGHT = "#fff";

/** Return the made symbol of `text`; throws Error for text outside the alphanumeric set or
 * too long for any version. */
function symbol(text) {
  const qr = qrcode(AUTO_VERSION, LEVEL);
  try {
    qr.addData(text, "Alphanumeric");
    qr.make();
  } catch (thrown) {
    // The library throws strings ("illegal char :a", "code length overflow...").
    throw new Error(`cannot encode as a QR code: ${thrown}`); // i18n: not shown
  }
  return qr;
}

/** Return the QR version (1-40) drawQR uses for `text`. */
export function qrVersion(text) {
  return (symbol(text).getModuleCount() - 17) / 4;
}

/** Return the canvas to draw on: `target` itself, or the canvas inside it (made if none). */
function canvasOf(target) {
  if (target instanceof HTMLCanvasElement) return target;
  let canvas = target.querySelector("canvas");
  if (!canvas) {
    canvas = document.createElement("canvas");
    target.replaceChildren(canvas);
  }
  return canvas;
}

/**
 * Draw the QR code of `text` into `target`, a <canvas> or an element to hold one, and return
 * {version, moduleSize} (moduleSize in device pixels).
 *
 * The code fills a square of `size` CSS pixels (default: the target's current width). The
 * canvas gets one backing pixel per device pixel (devicePixelRatio), and every module a whole
 * number of them, so no edge is blurred by scaling; the few pixels left over are white, centred
 * around the quiet zone. Throws Error for text the QR alphanumeric mode cannot hold.
 */
export function drawQR(target, text, { size } = {}) {
  const qr = symbol(text);
  const count = qr.getModuleCount();
  const canvas = canvasOf(target);
  const css = size ?? target.getBoundingClientRect().width;
  const ratio = window.devicePixelRatio || 1;
  const pixels = Math.max(1, Math.round(css * ratio));
  const total = count + 2 * QUIET_ZONE;
  const moduleSize = Math.max(1, Math.floor(pixels / total));
  const side = Math.max(pixels, moduleSize * total);
  canvas.width = canvas.height = side;
  // Keep the CSS size stable across redraws: the backing store is sized in device pixels.
  canvas.style.width = canvas.style.height = `${side / ratio}px`;
  canvas.style.imageRendering = "pixelated";
  const context = canvas.getContext("2d");
  context.fillStyle = LIGHT;
  context.fillRect(0, 0, side, side);
  context.fillStyle = DARK;
  const origin = Math.floor((side - moduleSize * count) / 2);
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) {
        context.fillRect(origin + col * moduleSize, origin + row * moduleSize,
                         moduleSize, moduleSize);
      }
    }
  }
  return { version: (count - 17) / 4, moduleSize };
}
