"use client";
// Saving a decrypted file: large files stream straight to disk through the File System Access
// API where the browser has it (nothing held in memory); otherwise (and for small files) the
// plaintext is collected into a Blob and saved through a download link.

/** Files from this size on go through the save picker when there is one. */
export const STREAM_TO_DISK_FROM = 64 * 1024 * 1024;

interface SaveFilePicker {
  (options: { suggestedName?: string }): Promise<{
    createWritable(): Promise<WritableStream<Uint8Array>>;
  }>;
}

function picker(): SaveFilePicker | undefined {
  return (window as unknown as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
}

/** Where the bytes go: a writable file, or memory for a Blob download. */
export type SaveTarget =
  | { kind: "disk"; writable: WritableStream<Uint8Array> }
  | { kind: "blob" };

/**
 * Chooses the target. Call it first thing in the click handler: the save picker needs the
 * user's gesture. Resolves undefined when the user closes the picker.
 */
export async function chooseTarget(name: string, size: number | undefined): Promise<SaveTarget | undefined> {
  const show = picker();
  if (!show || size === undefined || size < STREAM_TO_DISK_FROM) return { kind: "blob" };
  try {
    const handle = await show.call(window, { suggestedName: name });
    return { kind: "disk", writable: await handle.createWritable() };
  } catch (e) {
    if ((e as { name?: string }).name === "AbortError") return undefined;
    return { kind: "blob" };
  }
}

/** Writes `plaintext` to the target, reporting bytes written; for a Blob, saves it as `name`. */
export async function saveTo(
  target: SaveTarget,
  plaintext: AsyncIterable<Uint8Array>,
  name: string,
  mimeType: string,
  onBytes: (bytes: number) => void,
): Promise<number> {
  let written = 0;
  if (target.kind === "disk") {
    const writer = target.writable.getWriter();
    try {
      for await (const piece of plaintext) {
        await writer.write(piece);
        written += piece.length;
        onBytes(written);
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e).catch(() => undefined);
      throw e;
    }
    return written;
  }
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for await (const piece of plaintext) {
    parts.push(piece as Uint8Array<ArrayBuffer>);
    written += piece.length;
    onBytes(written);
  }
  const url = URL.createObjectURL(new Blob(parts, { type: mimeType || "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return written;
}
