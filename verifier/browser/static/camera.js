// The back camera, full screen, and the frame loop: each new video frame is drawn into a
// canvas and read by the QR decoder in the page (/shared/scan/decoder.js, WebAssembly); the
// texts go to the judge. Where the decoder cannot run (no WebAssembly) and a kiosk served the
// page, frames go to the kiosk's server instead (its /api/frame), as its own page does.
// One frame is in flight at a time: the next is taken when the last is done.
import { _ } from "/shared/i18n.js";
import { cameraTrouble, insecureOrigin, withFallback } from "/shared/checkpoint/server.js";

const MAX_FRAME_WIDTH = 1920;  // larger frames are scaled down (a phone may offer 4K)
const JPEG_QUALITY = 0.85;
const BUDGET_MS = 25;          // the decoder's retries stop within this per frame

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Camera {
  /** `decode(imageData) -> {texts}` or null (no decoder); `serverFrame(blob) -> verdict` or
   * null (no kiosk); `onTexts(texts)`, `onVerdict(verdict)` for each frame's outcome;
   * `say(text)` shows a camera problem; `hooks`: the test/bench timeline. */
  constructor({ decode, serverFrame, onTexts, onVerdict, say, hooks }) {
    Object.assign(this, { decode, serverFrame, onTexts, onVerdict, say, hooks });
    this.video = document.getElementById("video");
    this.canvas = document.getElementById("canvas");
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.stream = null;
    this.torchOn = false;
    this.generation = 0;
  }

  /** Start the camera; false (and the reason said) when there is none. */
  async start() {
    if (!window.isSecureContext) {
      this.say(insecureOrigin());
      return false;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.say(withFallback(_("This browser offers no camera to web pages.")));
      return false;
    }
    // The back camera, 1280x720 or more: a phone's live code has 65 modules and is read at
    // arm's length. `ideal`, not `exact`: a camera that offers less still starts.
    const video = { facingMode: { ideal: "environment" }, width: { ideal: 1280 },  // i18n: not shown
                    height: { ideal: 720 } };
    try {
      if (this.hooks.startedAt === null) this.hooks.startedAt = performance.now();
      this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (e) {
      this.say(cameraTrouble(e, _("The camera could not start ({error}).", { error: e.name })));
      return false;
    }
    this.say("");
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {});
    const settings = this.track().getSettings();
    this.hooks.camera = { width: settings.width, height: settings.height };
    this.generation += 1;
    this.loop(this.generation);
    return true;
  }

  track() { return this.stream && this.stream.getVideoTracks()[0]; }

  /** Whether the camera has a light the page may switch (not every phone, no laptop). */
  get hasTorch() {
    const track = this.track();
    const caps = track && track.getCapabilities ? track.getCapabilities() : {};
    return !!caps.torch;
  }

  async setTorch(on) {
    await this.track().applyConstraints({ advanced: [{ torch: on }] });
    this.torchOn = on;
  }

  /** Wait until the video shows a frame the loop has not seen yet. */
  nextFrame() {
    if (this.video.requestVideoFrameCallback) {
      return new Promise((resolve) => this.video.requestVideoFrameCallback(() => resolve()));
    }
    return new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }

  /** The current frame into the canvas, scaled down only if wider than MAX_FRAME_WIDTH. */
  draw() {
    const w = this.video.videoWidth, h = this.video.videoHeight;
    if (!w || !h) return false;
    const scale = Math.min(1, MAX_FRAME_WIDTH / w);
    const width = Math.round(w * scale), height = Math.round(h * scale);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.context.drawImage(this.video, 0, 0, width, height);
    return true;
  }

  async loop(mine) {
    while (mine === this.generation) {
      await this.nextFrame();
      if (!this.draw()) { await sleep(50); continue; }
      this.hooks.frames += 1;
      try {
        if (this.decode) {
          const image = this.context.getImageData(0, 0, this.canvas.width, this.canvas.height);
          const result = await this.decode(image, { budgetMs: BUDGET_MS });
          this.hooks.frameMs.push(result.ms);
          if (this.hooks.frameMs.length > 300) this.hooks.frameMs.shift();
          await this.onTexts(result.texts);
        } else if (this.serverFrame) {
          const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
          this.onVerdict(await this.serverFrame(blob));
        } else {
          return;
        }
      } catch (e) {
        this.hooks.errors.push(String(e && e.message || e));
        await sleep(500);
      }
    }
  }
}

/** A picture file as ImageData, at most `maxPixels` (a phone photo is scaled down). */
export async function pictureData(file, maxPixels = 4_000_000) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, Math.sqrt(maxPixels / (bitmap.width * bitmap.height)));
  const canvas = new OffscreenCanvas(Math.max(1, Math.round(bitmap.width * scale)),
                                     Math.max(1, Math.round(bitmap.height * scale)));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}
