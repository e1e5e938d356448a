"""Fake webcam clips for Chromium (``--use-file-for-fake-video-capture``) and a browser launcher.

A clip is a YUV4MPEG2 file, 4:2:0: per frame the luma plane at full size and two chroma planes
at half size. Our frames are grey scenes (chroma neutral), some holding a QR code as a phone
held up to the camera would show it: a light screen in a darker room, slightly soft.
Chromium plays the clip at its own frame rate and loops it.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from issuer.render.qr import make_qr

CHROMIUM = "/usr/bin/chromium"
SIZE = (640, 480)
FPS = 10
BROWSER_ARGS = [
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # The network unplugged: no name resolves but loopback, so nothing can leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def empty_frame(size: tuple[int, int] = SIZE, shade: int = 96) -> Image.Image:
    """A scene with no code: a grey room with a lighter shape (a door, a face) in it."""
    frame = Image.new("L", size, shade)
    draw = ImageDraw.Draw(frame)
    w, h = size
    draw.rectangle((w // 8, h // 6, w // 3, h - h // 8), fill=shade + 40)
    draw.ellipse((w // 2, h // 5, w // 2 + w // 5, h // 5 + h // 3), fill=shade + 70)
    return frame.filter(ImageFilter.GaussianBlur(2))


def code_frame(text: str, size: tuple[int, int] = SIZE, width_fraction: float = 0.5
               ) -> Image.Image:
    """A scene with a phone screen showing ``text`` as a QR code, centred."""
    frame = empty_frame(size)
    qr = make_qr(text)
    modules = qr.symbol_size(border=4)[0]
    scale = max(2, int(size[1] * width_fraction) // modules)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4)
    symbol = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    screen = Image.new("L", (symbol.width + 24, symbol.height + 60), 235)
    screen.paste(symbol, (12, 30))
    frame.paste(screen, ((size[0] - screen.width) // 2, (size[1] - screen.height) // 2))
    return frame.filter(ImageFilter.GaussianBlur(0.6))


def write_clip(path: Path, frames: Sequence[Image.Image], fps: int = FPS) -> Path:
    """Write ``frames`` (greyscale, all one size) as a Y4M clip; return ``path``."""
    width, height = frames[0].size
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            fh.write(b"FRAME\n")
            fh.write(frame.convert("L").tobytes())
            fh.write(chroma)
            fh.write(chroma)
    return path


def clip(path: Path, *, empty_seconds: float = 0.0, code: str | None = None,
         code_seconds: float = 2.0, fps: int = FPS) -> Path:
    """A clip of ``empty_seconds`` without a code, then ``code_seconds`` showing ``code``."""
    blank = empty_frame()
    frames = [blank] * round(empty_seconds * fps)
    if code is not None:
        frames += [code_frame(code)] * round(code_seconds * fps)
    return write_clip(path, frames or [blank], fps)


@contextlib.contextmanager
def browser(playwright, clip_path: Path | None, profile: Path, *,
            extra_args: Sequence[str] = (), **context_options) -> Iterator[object]:
    """A fresh headless Chromium profile whose camera plays ``clip_path`` (None: no camera
    file, Chromium's own test pattern); ``extra_args``: more command-line switches."""
    args = [*BROWSER_ARGS, *extra_args]
    if clip_path is not None:
        args.append(f"--use-file-for-fake-video-capture={os.fspath(clip_path)}")
    context = playwright.chromium.launch_persistent_context(
        os.fspath(profile), executable_path=CHROMIUM, headless=True, args=args,
        **context_options)
    try:
        yield context
    finally:
        context.close()
