// Daemon logging: plain timestamped lines on stderr (colour only on a TTY). A daemonized daemon's
// stderr is its log file, so the same lines land there.
import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import { formatWithOptions } from "node:util";

const COLORS: Record<string, string> = { error: "\x1b[31m", fatal: "\x1b[31m", warn: "\x1b[33m", info: "\x1b[36m", success: "\x1b[32m", debug: "\x1b[90m" };

export type Logger = ConsolaInstance;

export function createDaemonLogger(opts: { color?: boolean; level?: number } = {}): Logger {
  const color = opts.color ?? (process.stderr.isTTY === true && !process.env.NO_COLOR);
  return createConsola({
    level: opts.level ?? (process.env.KASMOS_DEBUG ? 4 : 3),
    reporters: [
      {
        log(o: LogObject) {
          const type = o.type === "log" ? "INFO" : o.type.toUpperCase();
          const msg = formatWithOptions({ colors: false, breakLength: Number.POSITIVE_INFINITY }, ...o.args);
          const tag = color ? `${COLORS[o.type] ?? ""}${type}\x1b[0m` : type;
          process.stderr.write(`${o.date.toISOString()} ${tag} ${msg}\n`);
        },
      },
    ],
  });
}
