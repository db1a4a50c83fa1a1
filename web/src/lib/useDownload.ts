"use client";
// A download as the page shows it: the file is fetched from the providers, verified and
// decrypted in the browser (Web Workers decode), and saved; progress with rate; cancellable.
import type { GetFileOptions, GetFileResult } from "@coop-cloud/sdk/client";
import { useCallback, useEffect, useRef, useState } from "react";

import { chooseTarget, saveTo } from "./download";
import { createBrowserPipeline } from "./pipeline";
import { errorSentence } from "./tx";

export type DownloadState =
  | { phase: "idle" }
  | {
      phase: "running";
      name: string;
      bytes: number;
      total: number | undefined;
      rate: number;
      /** Shards failed and replaced by a spare, in words. */
      notes: string[];
    }
  | { phase: "done"; name: string; bytes: number; seconds: number }
  | { phase: "failed"; message: string }
  | { phase: "cancelled" };

type Open = (options: Pick<GetFileOptions, "signal" | "onProgress" | "workers">) => Promise<GetFileResult>;

export function useDownload() {
  const [state, setState] = useState<DownloadState>({ phase: "idle" });
  const controller = useRef<AbortController | undefined>(undefined);

  useEffect(() => () => controller.current?.abort(), []);

  /** `hint` names the file before it is opened (the save picker needs a name at the click). */
  const start = useCallback(async (open: Open, hint: { name: string; size?: number }) => {
    const target = await chooseTarget(hint.name, hint.size);
    if (!target) return; // the picker was closed
    const ac = new AbortController();
    controller.current?.abort();
    controller.current = ac;
    const workers = createBrowserPipeline();
    const started = performance.now();
    const notes: string[] = [];
    setState({ phase: "running", name: hint.name, bytes: 0, total: hint.size, rate: 0, notes });
    try {
      const file = await open({
        signal: ac.signal,
        workers,
        onProgress: (p) => {
          if (p.stage === "shard-failed") {
            notes.push(`shard ${p.shard} from ${p.endpoint} failed (${p.error}); using a spare`);
            setState((s) => (s.phase === "running" ? { ...s, notes: [...notes] } : s));
          }
        },
      });
      const name = file.manifest.name;
      const total = file.manifest.size;
      setState({ phase: "running", name, bytes: 0, total, rate: 0, notes: [...notes] });
      const bytes = await saveTo(target, file, name, file.manifest.mimeType, (written) => {
        const seconds = Math.max(0.001, (performance.now() - started) / 1000);
        setState((s) =>
          s.phase === "running" ? { ...s, bytes: written, rate: written / seconds } : s,
        );
      });
      setState({
        phase: "done",
        name,
        bytes,
        seconds: (performance.now() - started) / 1000,
      });
    } catch (e) {
      if (target.kind === "disk") await target.writable.abort().catch(() => undefined);
      if (ac.signal.aborted) setState({ phase: "cancelled" });
      else setState({ phase: "failed", message: errorSentence(e) });
    } finally {
      await workers.close();
      if (controller.current === ac) controller.current = undefined;
    }
  }, []);

  const cancel = useCallback(() => controller.current?.abort(), []);

  return { state, start, cancel, running: state.phase === "running" };
}
