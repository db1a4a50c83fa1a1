// Structured, namespaced logs (pino): `createLogger("provider:http")`. JSON lines in production,
// one readable line per record otherwise.
import { pino, type Logger } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export type LogFormat = "json" | "pretty";
export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** A destination that writes each JSON record as `time LEVEL ns message key=value …`. */
function prettyStream(out: NodeJS.WritableStream): { write(line: string): void } {
  return {
    write(line: string) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const { time, level, ns, msg, pid: _pid, hostname: _host, ...rest } = rec;
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      const t = new Date(time as number).toISOString().slice(11, 23);
      out.write(
        `${t} ${(LEVEL_NAMES[level as number] ?? level).toString().padEnd(5)} ${ns ?? ""} ${msg ?? ""}${extra ? ` ${extra}` : ""}\n`,
      );
    },
  };
}

let root: Logger | undefined;

/** Sets up the process's root logger once (called by the CLI before anything logs). */
export function configureLogging(options: {
  level: LogLevel;
  format: LogFormat;
  name?: string;
}): Logger {
  const base = options.name ? { name: options.name } : {};
  root =
    options.format === "json"
      ? pino({ level: options.level, base })
      : pino({ level: options.level, base }, prettyStream(process.stdout));
  return root;
}

/** A child logger whose records carry `ns` (e.g. "provider:prover"). */
export function createLogger(ns: string): Logger {
  root ??= pino({ level: process.env.COOP_PROVIDER_LOG_LEVEL ?? "info", base: {} });
  return root.child({ ns });
}
