/**
 * Bounded inflating for the foreign formats (zlib for the EU's, raw DEFLATE for SMART's), with
 * the browser's DecompressionStream: the compressed bytes are fed a slice at a time and the
 * output read chunk by chunk, and reading stops (the stream cancelled) as soon as the output
 * passes `limit`, so a zip bomb costs about one slice's output, not its whole.
 */

import { concat } from "../keys.js";

/** `compressed` inflated ("deflate": zlib; "deflate-raw"), or null: not of that format, cut
 * short, followed by more bytes, or more than `limit` bytes out. `slice`: bytes fed at a time
 * (each DEFLATE byte inflates to at most ~1 KiB). */
export async function inflateAtMost(compressed, format, limit, slice) {
  let at = 0;
  const source = new ReadableStream({
    pull(controller) {
      if (at >= compressed.length) controller.close();
      else controller.enqueue(compressed.slice(at, at += slice));
    },
  }, { highWaterMark: 0 });
  const reader = source.pipeThrough(new DecompressionStream(format)).getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    let read;
    try {
      read = await reader.read();
    } catch {
      return null;
    }
    if (read.done) return concat(...chunks);
    size += read.value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(read.value);
  }
}
