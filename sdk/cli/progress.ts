// Progress bars on stderr (cli-progress): one per stage or per shard, each with bytes, rate and
// ETA. Off with --json and when stderr is not a terminal, so scripts see clean output.
import cliProgress from "cli-progress";

import { formatBytes } from "../src/client/format.ts";

interface Tracked {
  bar: cliProgress.SingleBar;
  start: number;
  total: number;
  value: number;
  /** When the bar first reached its total: the rate stays what it was then. */
  doneAt: number | undefined;
}

/** A set of named bars, created on first update. */
export class Bars {
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, Tracked>();

  private readonly quiet: boolean;

  /** Bars are drawn unless --json or stderr is no terminal; `log` lines are dropped with --json. */
  constructor(json: boolean) {
    this.quiet = json;
    this.multi =
      !json && process.stderr.isTTY
        ? new cliProgress.MultiBar(
            {
              format: "{label} |{bar}| {percentage}% {done}/{size} {rate} ETA {eta_formatted}",
              barsize: 24,
              hideCursor: true,
              clearOnComplete: false,
              stopOnComplete: false,
              etaBuffer: 20,
              fps: 8,
              stream: process.stderr,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
  }

  /** Sets bar `key` to `value` of `total` bytes (labels are padded to line up). */
  update(key: string, label: string, value: number, total: number): void {
    if (!this.multi) return;
    let t = this.bars.get(key);
    if (!t) {
      const bar = this.multi.create(Math.max(total, 1), 0, this.payload(label, 0, total, 0));
      t = { bar, start: Date.now(), total, value: 0, doneAt: undefined };
      this.bars.set(key, t);
    }
    if (value < t.value) {
      // A new attempt (an upload retried from the start): measure it afresh.
      t.start = Date.now();
      t.doneAt = undefined;
    }
    t.value = value;
    if (value >= total && t.doneAt === undefined) t.doneAt = Date.now();
    if (total !== t.total) {
      t.bar.setTotal(Math.max(total, 1));
      t.total = total;
    }
    const seconds = ((t.doneAt ?? Date.now()) - t.start) / 1000;
    t.bar.update(Math.min(value, Math.max(total, 1)), this.payload(label, value, total, seconds));
  }

  private payload(label: string, value: number, total: number, seconds: number) {
    const rate = seconds > 0.2 ? `${formatBytes(Math.round(value / seconds))}/s` : "";
    return {
      label: label.padEnd(14),
      done: formatBytes(value),
      size: formatBytes(total),
      rate: rate.padStart(11),
    };
  }

  /** Writes a line above the bars (or to stderr when bars are off). */
  log(line: string): void {
    if (this.multi) this.multi.log(line + "\n");
    else if (!this.quiet) process.stderr.write(line + "\n");
  }

  /** Stops drawing; the last state stays on screen. */
  stop(): void {
    this.multi?.stop();
  }
}
