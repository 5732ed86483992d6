// Small helpers shared by CLI commands: one-line errors with exit 1, JSON output, socket resolution.
import { defaultConfigPath, defaultSocketPath } from "../config/paths.ts";
import { KasmosError } from "../util/errors.ts";

/** An expected failure: printed as one line on stderr, exit code 1, no stack trace. */
export class CliError extends KasmosError {
  override name = "CliError";
  readonly code = "invalid";
}

export function fail(message: string): never {
  throw new CliError(message);
}

/** Wrap a command body: expected errors → one stderr line + exit 1; unexpected ones too, with the stack under KASMOS_DEBUG. */
export async function guard(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as Error;
    if (err instanceof KasmosError) {
      printErr(`${e.message.startsWith("daemon not running") ? "daemon not running" : e.message}\n`);
      if (process.env.KASMOS_DEBUG) printErr(`${e.message}\n`);
    } else {
      printErr(`error: ${e?.message ?? String(err)}\n`);
      if (process.env.KASMOS_DEBUG && e?.stack) printErr(`${e.stack}\n`);
    }
    process.exit(1);
  }
}

/**
 * Output goes through console.log/console.error, never process.stdout/stderr: the first touch of
 * those Node streams costs ~4 ms of setup, a fifth of a `kas daemon status` (bench/cold-start.ts).
 */
export function print(text: string): void {
  console.log(text.endsWith("\n") ? text.slice(0, -1) : text);
}

export function printErr(text: string): void {
  console.error(text.endsWith("\n") ? text.slice(0, -1) : text);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/**
 * Client-side socket: --socket, else `socket_path` from ~/.config/kasmos/daemon.toml, else the default.
 * Async and lazy on purpose: the TOML parser and node:fs are only loaded when a config file exists,
 * which keeps `kas daemon status` close to a bare process start (bench/cold-start.ts).
 */
export async function clientSocketPath(flag: string | undefined): Promise<string> {
  const socket = await chooseSocketPath(flag);
  // Never talk to a socket another account could have put there (runtime-dir.ts).
  const { checkSocketPath } = await import("../runtime/runtime-dir.ts");
  checkSocketPath(socket, { create: false });
  return socket;
}

async function chooseSocketPath(flag: string | undefined): Promise<string> {
  if (flag && flag.length > 0) return flag;
  // Agents get the socket of the daemon that started them (it may not be the default one).
  const fromEnv = process.env.KASMOS_SOCKET;
  if (fromEnv && fromEnv.length > 0) return fromEnv;
  const cfgPath = defaultConfigPath();
  if (await Bun.file(cfgPath).exists()) {
    try {
      const { parseTOML } = await import("confbox/toml");
      const { readBoundedText } = await import("../util/bounded-read.ts");
      const raw = parseTOML(readBoundedText(cfgPath)) as { socket_path?: unknown };
      if (typeof raw.socket_path === "string" && raw.socket_path.length > 0) return raw.socket_path;
    } catch {
      // A broken config is the daemon's to report; the client just uses the default.
    }
  }
  return defaultSocketPath();
}

/**
 * An agent title or task name typed on the command line, checked before it becomes part of a request
 * path (an empty one would reach no route and read as "not found: POST /v1/…").
 */
export function nameArg(value: string | undefined, what: "agent title" | "task name"): string {
  const v = (value ?? "").trim();
  const hint = what === "agent title" ? "kas agent list --all shows them" : "kas task list shows them";
  if (v === "") fail(`${what} is required (${hint})`);
  if (v !== value || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v) || v.length > 255) fail(`invalid ${what} "${value}": ${hint}`);
  return v;
}
