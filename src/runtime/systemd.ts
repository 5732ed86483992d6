// systemd user service for the daemon: the unit text (the README's unit, byte for byte, with the
// resolved binary in ExecStart), unit-file parsing for `daemon service status`, ExecStart quoting,
// and the few `systemctl --user` calls `daemon service` makes. Everything but the last section is pure.
import { isAbsolute, join } from "node:path";
import { homeDir } from "../config/paths.ts";

export const SERVICE_NAME = "kasmos";
export const UNIT_FILE_NAME = `${SERVICE_NAME}.service`;

/** systemctl invocations, as argv (without the leading `systemctl`). */
export const SYSTEMCTL_INSTALL: readonly (readonly string[])[] = [
  ["--user", "daemon-reload"],
  ["--user", "enable", "--now", SERVICE_NAME],
];
export const SYSTEMCTL_UNINSTALL: readonly (readonly string[])[] = [
  ["--user", "disable", "--now", SERVICE_NAME],
  ["--user", "daemon-reload"],
];

export const JOURNAL_HINT = `journalctl --user -u ${SERVICE_NAME} -f`;

/** `$XDG_CONFIG_HOME/systemd/user` (absolute values only, per the XDG spec), else `~/.config/systemd/user`: where systemd looks for user units. */
export function userUnitDir(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homeDir(), ".config");
  return join(base, "systemd", "user");
}

export function unitPath(): string {
  return join(userUnitDir(), UNIT_FILE_NAME);
}

/** The `enable` symlink (`WantedBy=default.target`). */
export function wantsLinkPath(): string {
  return join(userUnitDir(), "default.target.wants", UNIT_FILE_NAME);
}

/**
 * Quote one word of a systemd command line (systemd.service "Command lines"): plain words stay bare,
 * anything else is double-quoted with C escapes; `%` (specifiers) and `$` (variables) are doubled.
 */
export function quoteExecArg(word: string): string {
  if (/^[A-Za-z0-9_./:=,+@-]+$/.test(word)) return word;
  let out = "";
  for (const ch of word) {
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "%") out += "%%";
    else if (ch === "$") out += "$$";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `"${out}"`;
}

/** Inverse of quoteExecArg for what it produces (and plain systemd command lines): split into words. */
export function splitExecLine(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) break;
    let word = "";
    let quote: string | null = null;
    for (; i < n; i++) {
      const ch = line[i]!;
      if (quote === null && /\s/.test(ch)) break;
      if (quote === null && (ch === '"' || ch === "'") && word === "") {
        quote = ch;
        continue;
      }
      if (quote !== null && ch === quote) {
        quote = null;
        i++;
        break;
      }
      if (ch === "\\" && i + 1 < n) {
        const nx = line[++i]!;
        if (nx === "n") word += "\n";
        else if (nx === "t") word += "\t";
        else if (nx === "r") word += "\r";
        else if (nx === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 1, i + 3))) {
          word += String.fromCharCode(Number.parseInt(line.slice(i + 1, i + 3), 16));
          i += 2;
        } else word += nx;
        continue;
      }
      if ((ch === "%" || ch === "$") && line[i + 1] === ch) {
        word += ch;
        i++;
        continue;
      }
      word += ch;
    }
    words.push(word);
  }
  return words;
}

export interface UnitOptions {
  /** Absolute path of the kasmos binary. */
  binary: string;
  /** Absolute path passed as `--config`. */
  configPath?: string | undefined;
}

export function execStartWords(opts: UnitOptions): string[] {
  const words = [opts.binary, "daemon", "start", "--foreground"];
  if (opts.configPath) words.push("--config", opts.configPath);
  return words;
}

/** The unit: the README's (and contrib/kasmos.service's) text with this ExecStart. */
export function renderUnit(opts: UnitOptions): string {
  return [
    "[Unit]",
    "Description=kasmos daemon",
    "After=network.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${execStartWords(opts).map(quoteExecArg).join(" ")}`,
    "ExecReload=/bin/kill -HUP $MAINPID",
    "Restart=on-failure",
    "RestartForceExitStatus=SIGHUP",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

export type ParsedUnit = Record<string, Record<string, string[]>>;

/** Minimal unit-file parser: sections → key → values (in order; repeated keys accumulate, an empty assignment resets). */
export function parseUnit(text: string): ParsedUnit {
  const out: ParsedUnit = {};
  let section = "";
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const entries = (out[section] ??= {});
    if (value === "") entries[key] = [];
    else (entries[key] ??= []).push(value);
  }
  return out;
}

/** The (last) ExecStart of a unit's text, or null. */
export function execStartOf(text: string): string | null {
  const values = parseUnit(text).Service?.ExecStart ?? [];
  return values.length > 0 ? values[values.length - 1]! : null;
}

/** The executable ExecStart runs (prefixes like `-`/`@`/`!` stripped), or null. */
export function execBinaryOf(execStart: string): string | null {
  const first = splitExecLine(execStart)[0];
  if (!first) return null;
  return first.replace(/^[-@:+!]+/, "") || null;
}

export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=,+@-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

// ---- side effects: the binary, and systemctl ----

/** The compiled binary's path (what ExecStart must run), or null under `bun src/cli.ts`. */
export function compiledBinary(): string | null {
  return Bun.isStandaloneExecutable ? process.execPath : null;
}

export interface SystemctlResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `systemctl <args>` (bounded). A missing systemctl is a failed result, not a throw. */
export function systemctl(args: readonly string[], timeoutMs = 15_000): SystemctlResult {
  try {
    const r = Bun.spawnSync(["systemctl", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    return { ok: r.exitCode === 0, code: r.exitCode, stdout: r.stdout.toString().trim(), stderr: r.stderr.toString().trim() };
  } catch (err) {
    return { ok: false, code: null, stdout: "", stderr: `systemctl: ${(err as Error).message}` };
  }
}

const RUNNING_STATES = new Set(["initializing", "starting", "running", "degraded", "maintenance", "stopping"]);

/**
 * Is a user systemd manager reachable? `systemctl --user is-system-running` answers with a state
 * (exit 1 for "degraded", which still counts), else `systemctl --user show-environment` must succeed.
 */
export function userSystemdReachable(): { reachable: boolean; reason: string } {
  const state = systemctl(["--user", "is-system-running"], 5_000);
  if (state.ok || RUNNING_STATES.has(state.stdout)) return { reachable: true, reason: `user manager ${state.stdout || "running"}` };
  const env = systemctl(["--user", "show-environment"], 5_000);
  if (env.ok) return { reachable: true, reason: "user manager reachable" };
  const why = (env.stderr || state.stderr || state.stdout || "systemctl --user failed").split("\n")[0]!;
  return { reachable: false, reason: why };
}
