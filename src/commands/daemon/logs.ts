// `kasmos daemon logs [-f] [-n N]`: tail ~/.config/kasmos/daemon.log (the log of a daemonized daemon).
import { defineCommand } from "citty";
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { withExamples } from "../_help.ts";
import { fail, guard, print, printErr } from "../_util.ts";
import { logFilePath } from "../../config/paths.ts";
import { JOURNAL_HINT, unitPath } from "../../runtime/systemd.ts";

const CHUNK = 64 * 1024;
const POLL_MS = 200;

/** The last `n` lines of `text` (a trailing newline ends the last line, it does not start a new one). */
export function tailLines(text: string, n: number): string {
  if (n <= 0 || text.length === 0) return "";
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const lines = body.split("\n");
  const kept = lines.slice(Math.max(0, lines.length - n)).join("\n");
  return text.endsWith("\n") ? `${kept}\n` : kept;
}

/** Read just enough of the end of an open file (size `size`) to hold its last `n` lines. */
export function readTail(fd: number, size: number, n: number): string {
  if (n <= 0 || size === 0) return "";
  const chunks: Buffer[] = [];
  let end = size;
  let newlines = 0;
  let first = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const buf = Buffer.alloc(end - start);
    readSync(fd, buf, 0, buf.length, start);
    chunks.unshift(buf);
    // The final byte, when a newline, terminates the last line: don't count it.
    const scanEnd = first && buf[buf.length - 1] === 0x0a ? buf.length - 1 : buf.length;
    for (let i = 0; i < scanEnd; i++) if (buf[i] === 0x0a) newlines++;
    first = false;
    end = start;
    if (newlines >= n) break; // n newlines before the end ⇒ the n last lines are complete
  }
  return tailLines(Buffer.concat(chunks).toString("utf8"), n);
}

function parseCount(raw: unknown): number {
  const s = String(raw ?? "50").trim();
  if (!/^\d+$/.test(s)) fail(`--lines must be a non-negative integer, got "${s}"`);
  return Number.parseInt(s, 10);
}

/** Print complete lines as they are appended; reopen the path when it is replaced (rotation to daemon.log.1) or truncated. */
async function follow(path: string, fd: number, pos: number, pending: string): Promise<never> {
  let stop = false;
  let wake: (() => void) | null = null;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const decoder = new TextDecoder();
  let ino = fstatSync(fd).ino;
  let dev = fstatSync(fd).dev;

  const drain = () => {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, pos);
      if (got <= 0) break;
      pos += got;
      pending += decoder.decode(buf.subarray(0, got), { stream: true });
    }
    const cut = pending.lastIndexOf("\n");
    if (cut >= 0) {
      print(pending.slice(0, cut + 1));
      pending = pending.slice(cut + 1);
    }
  };

  while (!stop) {
    drain();
    let st: ReturnType<typeof statSync> | null = null;
    try {
      st = statSync(path);
    } catch {
      st = null; // rotated away, new file not created yet: keep the old one open
    }
    if (st && (st.ino !== ino || st.dev !== dev)) {
      drain(); // the rest of the rotated file (now daemon.log.1)
      let next: number;
      try {
        next = openSync(path, "r");
      } catch {
        next = -1;
      }
      if (next >= 0) {
        closeSync(fd);
        fd = next;
        pos = 0;
        const fst = fstatSync(fd);
        ino = fst.ino;
        dev = fst.dev;
        continue;
      }
    } else if (st && st.size < pos) {
      pos = 0; // truncated in place
    }
    await new Promise<void>((res) => {
      wake = res;
      setTimeout(res, POLL_MS);
    });
    wake = null;
  }
  drain();
  const rest = pending + decoder.decode();
  if (rest.length > 0) print(`${rest}\n`);
  closeSync(fd);
  process.exit(0);
}

export default withExamples(defineCommand({
  meta: {
    name: "logs",
    description: "Print the last lines of ~/.config/kasmos/daemon.log (the log of a daemonized daemon); -f follows it across rotation until Ctrl-C. Under systemd the daemon logs to the journal: journalctl --user -u kasmos -f.",
  },
  args: {
    lines: { type: "string", alias: "n", description: "number of lines to print", default: "50", valueHint: "N" },
    follow: { type: "boolean", alias: "f", description: "keep printing lines as they are appended (Ctrl-C to stop)" },
  },
  async run({ args }) {
    await guard(async () => {
      const n = parseCount(args.lines);
      const path = logFilePath();
      const unitInstalled = existsSync(unitPath());
      const underSystemd = unitInstalled || Boolean(process.env.INVOCATION_ID) || Boolean(process.env.JOURNAL_STREAM);
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch (err) {
        if ((err as { code?: string }).code !== "ENOENT") fail(`${path}: ${(err as Error).message}`);
        if (underSystemd) fail(`${path} does not exist: the daemon runs under systemd and logs to the journal; use: ${JOURNAL_HINT}`);
        fail(`${path} does not exist: the daemon has not logged yet (start it with \`kas daemon start\`)`);
      }
      if (unitInstalled) printErr(`note: kasmos.service is installed; the service logs to the journal (${JOURNAL_HINT}), ${path} only holds logs of \`kas daemon start\`\n`);
      const size = fstatSync(fd).size;
      let text = readTail(fd, size, n);
      let pending = "";
      if (args.follow && text.length > 0 && !text.endsWith("\n")) {
        // An unfinished last line: print it once it is complete.
        const cut = text.lastIndexOf("\n");
        pending = text.slice(cut + 1);
        text = text.slice(0, cut + 1);
      } else if (text.length > 0 && !text.endsWith("\n")) {
        text += "\n";
      }
      if (text.length > 0) print(text);
      if (!args.follow) {
        closeSync(fd);
        return;
      }
      await follow(path, fd, size, pending);
    });
  },
}), ["kas daemon logs", "kas daemon logs -n 200", "kas daemon logs -f"]);
