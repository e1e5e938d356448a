// The QR codes in a camera frame, read with zxing-wasm (zxing-cpp compiled to WebAssembly,
// vendored under /shared/vendor/zxing-wasm/), loaded from this page's own origin: the library's
// default would fetch the .wasm from a CDN.
//
// The frame is turned grey once and handed to zxing-cpp as a grey pixmap (the library's
// readBarcodes would convert and copy the RGBA frame again for every pass: at 1280×720 that
// costs more than a pass). Whole-frame passes: LocalAverage, then, only while no symbol was
// seen, GlobalHistogram and LocalAverage on the frame sharpened (blur washes out the finder
// patterns of a code held far away). When zxing sees a QR symbol it cannot read (1.5–3 pixels
// per module, soft, tilted, with glare), retries on that region only: cropped with a margin,
// sharpened, upscaled 2×, contrast-stretched, with other binarizers, until one reads or the
// frame's time budget is spent. A blurred QR code is often "seen" only as a sliver of it
// mistaken for a rectangular or micro QR symbol: its region is a square around that sliver.
// The same region retry runs in the Python kiosk (verifier/regions.py); bench/distance.py
// measures both (docs/PERFORMANCE.md).

import {
  binarizers,
  characterSets,
  defaultReaderOptions,
  eanAddOnSymbols,
  encodeFormats,
  prepareZXingModule,
  textModes,
} from "../vendor/zxing-wasm/reader/index.js";

export const WASM_URL = "/shared/vendor/zxing-wasm/zxing_reader.wasm";
/** Frames larger than this are scaled down (by a whole factor) before the first pass. */
export const MAX_FRAME_PIXELS = 1920 * 1080;
/** A cropped region is upscaled this many times (3× read no more, at twice the cost). */
const REGION_SCALE = 2;
/** The margin around a seen symbol, as a share of its size: the quiet zone and some slack. */
const REGION_MARGIN = 0.25;
/**
 * Symbols that are most often a sliver of a blurred QR code (a finder pattern and part of
 * what is next to it): their region is a square this many times their longer side.
 */
const SLIVER = /rmqr|micro/i;
const SLIVER_SCALE = 2;
/** At most this many unread symbols are retried per frame. */
const MAX_REGIONS = 2;

const BASE = {
  formats: ["QRCode"],
  tryHarder: true,
  tryRotate: false, // QR finder patterns are found at any angle; rotation only helps 1D codes
  tryInvert: false,
  // Downscaled scans find only big codes, which the full-resolution pass finds anyway.
  tryDownscale: false,
  returnErrors: true,
  maxNumberOfSymbols: 4,
};
// The whole-frame passes (see the head of this file).
// A symbol LocalAverage saw but could not read goes straight to the region retries (cheaper
// than another whole-frame pass, and they read what GlobalHistogram would).
const FRAME_PASSES = [
  { picture: "frame", options: { binarizer: "LocalAverage" } },
  { picture: "frame", options: { binarizer: "GlobalHistogram" }, unseenOnly: true },
  { picture: "sharp", options: { binarizer: "LocalAverage" }, unseenOnly: true },
  { picture: "sharp", options: { binarizer: "GlobalHistogram" }, unseenOnly: true },
];
/** How much the whole-frame pass sharpens, and the strong retry (see sharpen()). */
const FRAME_SHARPEN = 2;
const STRONG_SHARPEN = 4;
// The retries on a region, in the order they paid off (the sharpened picture reads all that
// the plain upscaled one reads): each a picture (see variant()) and reader options.
const RETRIES = [
  { picture: "sharp", options: { binarizer: "LocalAverage" } },
  { picture: "strong", options: { binarizer: "LocalAverage" } },
  { picture: "strongStretched", options: { binarizer: "FixedThreshold" } },
  { picture: "up", options: { binarizer: "GlobalHistogram" } },
  { picture: "stretched", options: { binarizer: "FixedThreshold" } },
  { picture: "sharp", options: { binarizer: "GlobalHistogram" } },
  { picture: "up", options: { binarizer: "LocalAverage", tryDenoise: true } },
  { picture: "crop", options: { binarizer: "LocalAverage" } },
  { picture: "sharp", options: { binarizer: "FixedThreshold" } },
  { picture: "up", options: { binarizer: "LocalAverage" } },
].map(({ picture, options }) => ({ picture, options: zxingOptions(options) }));
const PASSES = FRAME_PASSES.map((pass) => ({ ...pass, options: zxingOptions(pass.options) }));

let ready = null;

/**
 * Load the reader (the .wasm from `wasmUrl`, same origin). Resolves to a decoder when ready;
 * rejects when the browser has no WebAssembly or the file cannot be loaded.
 */
export async function createDecoder({ wasmUrl = WASM_URL } = {}) {
  if (typeof WebAssembly !== "object") {
    throw new Error("WebAssembly is not available"); // i18n: not shown
  }
  const url = new URL(wasmUrl, globalThis.location?.href).href;
  if (ready === null || ready.url !== url) {
    const module = prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? url : prefix + path) },
      fireImmediately: true,
    });
    ready = { url, module };
    module.catch(() => { if (ready?.module === module) ready = null; });
  }
  const zxing = await ready.module;
  return { decode: (imageData, options) => decode(zxing, imageData, options) };
}

/** Reader options as the module's pixmap entry point takes them (what readBarcodes does). */
function zxingOptions(options) {
  const o = { ...defaultReaderOptions, ...BASE, ...options };
  return {
    ...o,
    formats: encodeFormats(o.formats),
    binarizer: binarizers.indexOf(o.binarizer),
    eanAddOnSymbol: eanAddOnSymbols.indexOf(o.eanAddOnSymbol),
    textMode: textModes.indexOf(o.textMode),
    characterSet: characterSets.indexOf(o.characterSet),
  };
}

/** zxing-cpp on a grey picture: [{isValid, text, position, format}]. */
function read(zxing, { width, height, pixels }, options) {
  const pointer = zxing._malloc(pixels.length);
  if (!pointer) throw new Error("out of WebAssembly memory"); // i18n: not shown
  try {
    zxing.HEAPU8.set(pixels, pointer);
    const found = zxing.readBarcodesFromPixmap(pointer, width, height, options);
    try {
      const results = [];
      for (let i = 0; i < found.size(); i++) {
        const { isValid, text, position, format } = found.get(i);
        results.push({ isValid, text, position, format });
      }
      return results;
    } finally {
      found.delete();
    }
  } finally {
    zxing._free(pointer);
  }
}

/**
 * The QR texts in `imageData` (an ImageData, or any {width, height, data} of RGBA bytes).
 * Resolves to {texts (in reading order, no repeats), symbolSeen (a QR symbol was found, read or
 * not), ms (time spent)}.
 */
async function decode(zxing, imageData, { budgetMs = 25 } = {}) {
  const start = performance.now();
  const frame = fit(imageData);
  const seen = [];
  const pictures = new Map([["frame", frame]]);
  let slowest = 0;
  for (const pass of PASSES) {
    const begun = performance.now();
    if (pass.unseenOnly && seen.length > 0) continue;
    if (slowest > 0 && begun - start + slowest * (pass.picture === "frame" ? 1 : 2) > budgetMs) {
      break;
    }
    if (!pictures.has(pass.picture)) pictures.set(pass.picture, sharpen(frame, FRAME_SHARPEN));
    const found = read(zxing, pictures.get(pass.picture), pass.options);
    const texts = readTexts(found);
    if (texts.length > 0) return done(texts, true, start);
    seen.push(...found.filter(hasPosition));
    slowest = Math.max(slowest, performance.now() - begun);
  }
  if (seen.length === 0) return done([], false, start);
  const areas = distinct(seen, frame.width, frame.height);
  return done(retry(zxing, frame, areas, start, budgetMs), true, start);
}

function done(texts, symbolSeen, start) {
  return { texts, symbolSeen, ms: performance.now() - start };
}

function retry(zxing, frame, areas, start, budgetMs) {
  let slowest = 0;
  for (const area of areas) {
    const pictures = new Map();
    for (const attempt of RETRIES) {
      const begun = performance.now();
      if (begun - start + slowest > budgetMs) return [];
      let picture = pictures.get(attempt.picture);
      if (picture === undefined) {
        picture = variant(attempt.picture, frame, area, pictures);
        pictures.set(attempt.picture, picture);
      }
      const texts = readTexts(read(zxing, picture, attempt.options));
      if (texts.length > 0) return texts;
      slowest = Math.max(slowest, performance.now() - begun);
    }
  }
  return [];
}

/** The regions of the symbols seen, without repeats (one symbol seen by two passes). */
function distinct(results, width, height) {
  const areas = [];
  for (const result of results) {
    const area = region(result.position, width, height, result.format);
    const cx = area.x + area.width / 2;
    const cy = area.y + area.height / 2;
    const inside = (a) => a.x <= cx && cx <= a.x + a.width && a.y <= cy && cy <= a.y + a.height;
    if (!areas.some(inside)) areas.push(area);
  }
  return areas.slice(0, MAX_REGIONS);
}

function readTexts(results) {
  return [...new Set(results.filter((r) => r.isValid).map((r) => r.text))];
}

function hasPosition(result) {
  const p = result.position;
  return Boolean(p && p.topLeft && p.bottomRight);
}

/** The frame in grey, scaled down by a whole factor when it is larger than we need. */
function fit(imageData) {
  const { width, height, data } = imageData;
  if (!(width > 0 && height > 0) || !(data?.length >= width * height * 4)) {
    throw new TypeError("not an RGBA image"); // i18n: not shown
  }
  const grey = { width, height, pixels: grayscale(imageData) };
  const factor = Math.ceil(Math.sqrt((width * height) / MAX_FRAME_PIXELS));
  return factor > 1 ? shrink(grey, factor) : grey;
}

/**
 * The region around a seen symbol, with a margin, clipped to the frame; around a sliver (see
 * SLIVER), a square centred on it.
 */
export function region(position, width, height, format = "") {
  const corners = [position.topLeft, position.topRight, position.bottomRight, position.bottomLeft]
    .filter(Boolean);
  let xs = corners.map((c) => c.x);
  let ys = corners.map((c) => c.y);
  let side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 8);
  if (SLIVER.test(format)) {
    const cx = xs.reduce((a, b) => a + b) / xs.length;
    const cy = ys.reduce((a, b) => a + b) / ys.length;
    side *= SLIVER_SCALE;
    xs = [cx - side / 2, cx + side / 2];
    ys = [cy - side / 2, cy + side / 2];
  }
  const margin = Math.ceil(side * REGION_MARGIN) + 4;
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - margin);
  const y0 = Math.max(0, Math.floor(Math.min(...ys)) - margin);
  const x1 = Math.min(width, Math.ceil(Math.max(...xs)) + margin);
  const y1 = Math.min(height, Math.ceil(Math.max(...ys)) + margin);
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/** One of the retry pictures of a region, built from (and cached with) the others. */
function variant(name, frame, area, cache) {
  const get = (other) => {
    if (!cache.has(other)) cache.set(other, variant(other, frame, area, cache));
    return cache.get(other);
  };
  switch (name) {
    case "crop": return crop(frame.pixels, frame.width, area);
    case "up": return upscale(get("crop"), REGION_SCALE);
    // Sharpened at the frame's own scale (the blur spans about a module), then upscaled.
    case "sharp": return upscale(sharpen(get("crop")), REGION_SCALE);
    case "stretched": return stretch(get("up"));
    // Blur that spans more than a module needs more: these read most of what the others miss.
    case "strong": return upscale(sharpen(get("crop"), STRONG_SHARPEN), REGION_SCALE);
    case "strongStretched": return stretch(get("strong"));
    default: throw new Error(name);
  }
}

// ---- small image operations on {width, height, pixels: Uint8Array (grey)} ----

function grayscale({ width, height, data }) {
  const pixels = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < pixels.length; i++, j += 4) {
    // The weights zxing-wasm itself uses (ITU-R BT.601, in 1/1024).
    pixels[i] = (306 * data[j] + 601 * data[j + 1] + 117 * data[j + 2] + 512) >> 10;
  }
  return pixels;
}

function crop(gray, stride, { x, y, width, height }) {
  const pixels = new Uint8Array(width * height);
  for (let row = 0; row < height; row++) {
    const from = (y + row) * stride + x;
    pixels.set(gray.subarray(from, from + width), row * width);
  }
  return { width, height, pixels };
}

function shrink({ width, height, pixels }, factor) {
  const w = Math.floor(width / factor);
  const h = Math.floor(height / factor);
  const out = new Uint8Array(w * h);
  const area = factor * factor;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < factor; dy++) {
        const row = (y * factor + dy) * width + x * factor;
        for (let dx = 0; dx < factor; dx++) sum += pixels[row + dx];
      }
      out[y * w + x] = (sum + (area >> 1)) / area;
    }
  }
  return { width: w, height: h, pixels: out };
}

/** Bilinear upscaling by `scale` (pixel centres aligned). */
function upscale({ width, height, pixels }, scale) {
  const w = Math.round(width * scale);
  const h = Math.round(height * scale);
  const out = new Uint8Array(w * h);
  const xs = new Int32Array(w);
  const fx = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const sx = Math.min(width - 1, Math.max(0, (x + 0.5) / scale - 0.5));
    xs[x] = Math.min(width - 2, Math.floor(sx));
    fx[x] = sx - xs[x];
  }
  for (let y = 0; y < h; y++) {
    const sy = Math.min(height - 1, Math.max(0, (y + 0.5) / scale - 0.5));
    const y0 = Math.min(height - 2, Math.floor(sy));
    const fy = sy - y0;
    const top = Math.max(0, y0) * width;
    const bottom = Math.min(height - 1, y0 + 1) * width;
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, xs[x]);
      const x1 = Math.min(width - 1, x0 + 1);
      const a = pixels[top + x0] + (pixels[top + x1] - pixels[top + x0]) * fx[x];
      const b = pixels[bottom + x0] + (pixels[bottom + x1] - pixels[bottom + x0]) * fx[x];
      out[y * w + x] = a + (b - a) * fy + 0.5;
    }
  }
  return { width: w, height: h, pixels: out };
}

/** Unsharp mask: each pixel plus `amount` × its difference from the mean of its 3×3. */
function sharpen({ width, height, pixels }, amount = 1.5) {
  const k = amount / 9;
  const rows = new Uint16Array(pixels.length); // horizontal sums of three, edges repeated
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const last = row + width - 1;
    rows[row] = 2 * pixels[row] + pixels[Math.min(row + 1, last)];
    for (let i = row + 1; i < last; i++) rows[i] = pixels[i - 1] + pixels[i] + pixels[i + 1];
    if (width > 1) rows[last] = pixels[last - 1] + 2 * pixels[last];
  }
  const out = new Uint8ClampedArray(pixels.length); // clamps and rounds on assignment
  for (let y = 0; y < height; y++) {
    const here = y * width;
    const up = y > 0 ? here - width : here;
    const down = y < height - 1 ? here + width : here;
    for (let x = 0; x < width; x++) {
      const p = pixels[here + x];
      out[here + x] = p + k * (9 * p - rows[up + x] - rows[here + x] - rows[down + x]);
    }
  }
  return { width, height, pixels: out };
}

/** Contrast stretched so the 2nd–98th percentiles span 0–255 (a fixed threshold then works). */
function stretch({ width, height, pixels }) {
  const histogram = new Uint32Array(256);
  for (const value of pixels) histogram[value]++;
  const cut = pixels.length * 0.02;
  let low = 0;
  for (let seen = 0; low < 255 && (seen += histogram[low]) <= cut; low++);
  let high = 255;
  for (let seen = 0; high > 0 && (seen += histogram[high]) <= cut; high--);
  const out = new Uint8Array(pixels.length);
  const span = Math.max(1, high - low);
  for (let i = 0; i < pixels.length; i++) {
    const value = ((pixels[i] - low) * 255) / span;
    out[i] = value < 0 ? 0 : value > 255 ? 255 : value;
  }
  return { width, height, pixels: out };
}
