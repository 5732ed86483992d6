// Seeded fuzzing for kasmos: a tiny PRNG (mulberry32), generators for signal file names/bodies, API
// requests and daemon.toml texts, and the three fuzz targets with their property checks. Shared by the
// quick pass (test/fuzz/fuzz.test.ts, fixed seeds) and the long pass (bench/fuzz.ts, rotating seeds).
// Every target returns a list of property violations (empty = fine); nothing here loops unbounded.
import { Database } from "bun:sqlite";
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { ConfigError, flattenConfig, parseConfigText } from "../../src/config/load.ts";
import { ALL_KEYS } from "../../src/config/schema.ts";
import { FSM_EVENTS, TASK_STATUSES } from "../../src/lifecycle/types.ts";
import { ping, type Sandbox } from "../helpers/env.ts";

// ---------------------------------------------------------------- PRNG

export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const ODD = [" ", "  ", "\t", "\n", "\r", "..", ".", "-", "--", "_", "~", "$", "%", "%2F", "%00", "\\", "*", "?", "'", '"', "`", "#", ";", "&", "|", "<", ">", "\u00e9", "\u00fc", "\u4e2d", "\u{1F600}", "\u200b", "\u202e", "\ufeff", "\u0001", "\u007f", "\u00a0", ".md", ".md.md", "w", "t", "0", "-1", "1e3", "+1", "9999999999999999999"];

export function randText(r: Rng, max: number): string {
  const n = r.int(0, max);
  let s = "";
  for (let i = 0; i < n; i++) {
    const k = r.next();
    if (k < 0.6) s += ALNUM[r.int(0, ALNUM.length - 1)];
    else if (k < 0.9) s += r.pick(ODD);
    else s += String.fromCodePoint(r.int(0x20, 0x2fff));
  }
  return s;
}

/** Truncate to at most `max` UTF-8 bytes without splitting a code point. */
export function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = "";
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

// ---------------------------------------------------------------- signal files

const PREFIXES = ["planner-finished-", "implement-finished-", "review-approved-", "review-changes-", "implement-task-finished-", "implement-wave-", "elaborator-finished-", "cancel-", "verify-approved-", "mark-done-", "coder-finished-", ""];

/** Longest generated name: the OS limit (quarantine shortens long names in failed/ with a hash). */
export const DEFAULT_MAX_NAME_BYTES = 255;

/** A file name: never contains "/" or NUL (the OS forbids both), at most `maxBytes` (≤ 255) bytes, never "failed"/"processing". */
export function signalName(r: Rng, tasks: readonly string[], maxBytes = DEFAULT_MAX_NAME_BYTES): string {
  const prefix = r.pick(PREFIXES);
  let rest: string;
  const k = r.next();
  if (k < 0.3) rest = r.pick(tasks);
  else if (k < 0.45) rest = `${r.pick(tasks)}${r.pick([".md", ".md.md", " ", "..", "-", "\u00e9", ""])}`;
  else if (k < 0.55) rest = "x".repeat(r.int(150, 260)); // around MAX_TASK_NAME_LENGTH and the 255-byte limit
  else if (k < 0.65) rest = r.pick(["..", ".", "..md", ".hidden", "a..b", "..\\..\\etc\\passwd", "~root", "nested\\path\\plan.md", ""]);
  else rest = randText(r, 40);
  if (prefix === "implement-task-finished-" && r.chance(0.7)) rest = `w${r.pick(["1", "2", "0", "01", "-1", "x", "", "1e2", "99999999999999999999"])}-t${r.pick(["1", "3", "0", "", "+2"])}-${rest}`;
  if (prefix === "implement-wave-" && r.chance(0.7)) rest = `${r.pick(["1", "2", "0", "007", "", "-3", "1.5"])}-${rest}`;
  let name = prefix + rest;
  if (r.chance(0.05)) name = `.${name}`; // dot-file: must be ignored (left in place)
  if (r.chance(0.05)) name = ` ${name}`;
  name = clipBytes(name.replace(/[/\0]/g, "_"), Math.min(255, maxBytes));
  if (name === "" || name === "." || name === ".." || name === "failed" || name === "processing") name = `z${name}z`;
  return name;
}

export function signalBody(r: Rng): Buffer {
  const k = r.next();
  if (k < 0.25) return Buffer.alloc(0);
  if (k < 0.5) return Buffer.from(randText(r, 200));
  if (k < 0.65) return r.bytes(r.int(1, 4096)); // binary, invalid UTF-8
  if (k < 0.75) return Buffer.from(JSON.stringify({ body: randText(r, 50), reviewed_sha: randText(r, 40) }));
  if (k < 0.85) return Buffer.alloc(256 * 1024 + r.int(1, 64 * 1024), r.int(0, 255)); // over the cap
  if (k < 0.92) return Buffer.alloc(256 * 1024, 0x61); // exactly the cap
  return Buffer.from("\ufeff\u202e" + "\u{1F600}".repeat(r.int(1, 1000)));
}

export interface SignalCtx {
  sb: Sandbox;
  repo: string;
  project: string;
  tasks: string[];
}

export function signalDirsOf(repo: string): string[] {
  return [join(repo, ".kasmos", "signals"), join(repo, ".worktrees", "plan-fuzz", ".kasmos", "signals")];
}

function dbQuery<T>(sb: Sandbox, sql: string): T[] {
  const d = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
  try {
    return d.query(sql).all() as T[];
  } finally {
    d.close();
  }
}

/** Non-dot, non-directory entries still waiting in a signals folder. */
function pending(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => {
    if (n.startsWith(".")) return false;
    try {
      return !lstatSync(join(dir, n)).isDirectory();
    } catch {
      return false;
    }
  });
}

/** Store-level properties: integrity, valid task statuses, and (when `settled`) no unfinished signal rows. */
export function storeViolations(sb: Sandbox, settled: boolean): string[] {
  const out: string[] = [];
  const ic = dbQuery<{ integrity_check: string }>(sb, "PRAGMA integrity_check");
  if (ic.length !== 1 || ic[0]!.integrity_check !== "ok") out.push(`integrity_check: ${JSON.stringify(ic)}`);
  const fk = dbQuery<Record<string, unknown>>(sb, "PRAGMA foreign_key_check");
  if (fk.length > 0) out.push(`foreign_key_check: ${JSON.stringify(fk.slice(0, 3))}`);
  for (const t of dbQuery<{ name: string; status: string }>(sb, "SELECT name, status FROM tasks")) {
    if (!(TASK_STATUSES as readonly string[]).includes(t.status)) out.push(`task ${JSON.stringify(t.name)} has invalid status ${JSON.stringify(t.status)}`);
  }
  for (const s of dbQuery<{ id: number; status: string; result: string; task: string; signal_type: string }>(sb, "SELECT id, status, result, task, signal_type FROM signals")) {
    if (s.status === "failed" && s.result.trim() === "") out.push(`signal row #${s.id} (${s.signal_type} ${JSON.stringify(s.task)}) failed without a reason`);
    if (settled && s.status !== "done" && s.status !== "failed") out.push(`signal row #${s.id} (${s.signal_type} ${JSON.stringify(s.task)}) still ${s.status}`);
  }
  return out;
}

/** Every file in failed/ has a `<name>.reason` (a `.reason` file is either someone's reason or has its own). */
export function failedDirViolations(dir: string): string[] {
  const f = join(dir, "failed");
  if (!existsSync(f)) return [];
  const names = new Set(readdirSync(f));
  const out: string[] = [];
  for (const n of names) {
    if (names.has(`${n}.reason`)) continue;
    if (n.endsWith(".reason") && names.has(n.slice(0, -".reason".length))) continue;
    out.push(`failed/${JSON.stringify(n)} has no .reason`);
  }
  return out;
}

/**
 * Target 1: drop `count` random signal files (root and worktree folders), ask for a scan, wait until
 * every non-dot file has left the folders, then check failed/, the signal rows and the store.
 */
export async function fuzzSignals(ctx: SignalCtx, r: Rng, count: number, opts: { settleMs?: number; maxNameBytes?: number } = {}): Promise<string[]> {
  const settleMs = opts.settleMs ?? 15_000;
  const dirs = signalDirsOf(ctx.repo);
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const dropped: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = r.chance(0.8) ? dirs[0]! : dirs[1]!;
    const name = signalName(r, ctx.tasks, opts.maxNameBytes);
    const tmp = join(dir, `.fz${i}`);
    writeFileSync(tmp, signalBody(r));
    try {
      renameSync(tmp, join(dir, name));
      dropped.push(name);
    } catch (err) {
      return [`could not create signal file ${JSON.stringify(name)}: ${(err as Error).message}`];
    }
  }
  const deadline = Date.now() + settleMs;
  let left: string[] = [];
  while (Date.now() < deadline) {
    await request(ctx.sb.socket, "POST", "/v1/scan", "{}");
    left = dirs.flatMap((d) => pending(d).map((n) => join(d === dirs[0] ? "" : "wt", n)));
    if (left.length === 0) break;
    await Bun.sleep(50);
  }
  const out: string[] = [];
  if (left.length > 0) out.push(`${left.length} signal file(s) never left the signals folder, e.g. ${JSON.stringify(left.slice(0, 3))}`);
  for (const d of dirs) out.push(...failedDirViolations(d));
  // Files are moved/deleted in the same pass that finishes the row, so rows are settled now (allow a moment).
  let store = storeViolations(ctx.sb, true);
  for (let i = 0; i < 50 && store.length > 0; i++) {
    await Bun.sleep(100);
    store = storeViolations(ctx.sb, true);
  }
  out.push(...store);
  if (!(await ping(ctx.sb.socket))) out.push("daemon does not answer /v1/ping after the signal batch");
  return out;
}

// ---------------------------------------------------------------- API

export interface ApiResult {
  status: number;
}

/** One bounded request; an SSE stream is cancelled once its headers arrive. status 0 = transport error. */
export async function request(socket: string, method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<ApiResult & { error?: string }> {
  try {
    const init: RequestInit & { unix: string } = { method, unix: socket, headers: { "content-type": "application/json", ...headers }, signal: AbortSignal.timeout(10_000) };
    if (body !== undefined && method !== "GET" && method !== "HEAD") init.body = body;
    const res = await fetch(`http://kasmos${path}`, init);
    if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) await res.body?.cancel();
    else await res.arrayBuffer();
    return { status: res.status };
  } catch (err) {
    return { status: 0, error: (err as Error).message };
  }
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function seg(r: Rng, known: readonly string[]): string {
  const k = r.next();
  if (k < 0.5) return encodeURIComponent(r.pick(known));
  if (k < 0.6) return r.pick(["%2e%2e", "..%2F..", "%00", "%ff", "%", "%zz", "a%2Fb", "%20", "~", "x".repeat(300)]);
  return encodeURIComponent(clipBytes(randText(r, 30), 200)) || "x";
}

/** A random route of the API (method usually the route's own) with mutated segments and queries. */
export function apiRoute(r: Rng, project: string, tasks: readonly string[]): { method: string; path: string } {
  const p = () => (r.chance(0.7) ? encodeURIComponent(project) : seg(r, [project, "nope", "", "bad"]));
  const t = () => seg(r, [...tasks, "ghost"]);
  const i = () => seg(r, [`${tasks[0] ?? "a"}-coder`, "x-plan", "unknown"]);
  const routes: [string, () => string][] = [
    ["GET", () => "/v1/ping"],
    ["GET", () => "/v1/status"],
    ["GET", () => "/v1/repos"],
    ["POST", () => "/v1/repos"],
    ["DELETE", () => `/v1/repos/${seg(r, ["nope", "", "bad", ".."])}`],
    ["POST", () => "/v1/reload"],
    ["GET", () => `/v1/repos/${p()}/tasks${r.chance(0.3) ? `?status=${encodeURIComponent(randText(r, 20))}` : ""}`],
    ["POST", () => `/v1/repos/${p()}/tasks`],
    ["GET", () => `/v1/repos/${p()}/tasks/${t()}`],
    ["POST", () => `/v1/repos/${p()}/tasks/${t()}/transition`],
    ["POST", () => `/v1/repos/${p()}/tasks/${t()}/transition`],
    ["GET", () => `/v1/repos/${p()}/signals${r.chance(0.5) ? `?limit=${encodeURIComponent(r.pick(["1", "-1", "0", "1e9", "abc", "99999999999999999999", ""]))}&status=${encodeURIComponent(randText(r, 10))}` : ""}`],
    ["POST", () => `/v1/repos/${p()}/signals`],
    ["POST", () => "/v1/scan"],
    ["GET", () => `/v1/repos/${p()}/instances${r.chance(0.5) ? `?all=${r.pick(["1", "0", "x"])}&task=${t()}` : ""}`],
    ["GET", () => `/v1/repos/${p()}/instances/${i()}/capture?lines=${encodeURIComponent(r.pick(["10", "-5", "0", "1e99", "x", "100000000"]))}`],
    ["POST", () => `/v1/repos/${p()}/instances/${i()}/send`],
    ["POST", () => `/v1/repos/${p()}/instances/${i()}/kill`],
    ["GET", () => "/v1/metrics"],
    ["GET", () => `/v1/events?${r.pick(["", "after=0", "after=-1", "after=x", `project=${p()}`, `kinds=${encodeURIComponent(randText(r, 10))}`])}`],
    ["GET", () => `/v1/${seg(r, ["x", "repos", ""])}/${seg(r, ["tasks", ".."])}`],
    ["GET", () => `/${randText(r, 10).replace(/[^a-z0-9]/g, "")}`],
  ];
  const [method, path] = r.pick(routes);
  return { method: r.chance(0.75) ? method : r.pick(METHODS), path: path() };
}

function randJson(r: Rng, depth: number): unknown {
  const k = r.next();
  if (depth <= 0 || k < 0.45) {
    return r.pick<() => unknown>([() => null, () => r.chance(0.5), () => r.int(-1e6, 1e6), () => r.next() * 1e308, () => -0, () => randText(r, 30), () => "", () => Number.MAX_SAFE_INTEGER + 2])();
  }
  if (k < 0.65) return Array.from({ length: r.int(0, 4) }, () => randJson(r, depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = r.int(0, 4); i > 0; i--) o[r.chance(0.3) ? r.pick(["__proto__", "constructor", "toString", ""]) : randText(r, 8)] = randJson(r, depth - 1);
  return o;
}

/** A body that is often almost right for the route (known keys, wrong values), else anything. */
export function apiBody(r: Rng, tasks: readonly string[], repo: string): string | Uint8Array | undefined {
  const k = r.next();
  if (k < 0.1) return undefined;
  if (k < 0.45) {
    const val = () => (r.chance(0.5) ? randJson(r, 2) : r.pick<unknown>([randText(r, 20), r.pick(tasks), r.pick(FSM_EVENTS), repo, "/", "/tmp", "relative", "x".repeat(300), ""]));
    const o: Record<string, unknown> = {};
    for (const key of ["name", "description", "topic", "branch", "plan", "event", "type", "task", "payload", "path", "prompt", "project"]) if (r.chance(0.35)) o[key] = val();
    if (r.chance(0.3)) o.event = r.pick(FSM_EVENTS);
    if (r.chance(0.2)) o.plan = r.pick(["## Wave 1: a\n### Task 1: one\ndo it\n", "## Wave 0\n", "# nothing", randText(r, 100)]);
    return JSON.stringify(o);
  }
  if (k < 0.65) return JSON.stringify(randJson(r, 4));
  if (k < 0.78) {
    const s = JSON.stringify(randJson(r, 3));
    return s.slice(0, r.int(0, Math.max(0, s.length - 1))) + r.pick(["", "}", "{", ",", "\u0000", "'"]); // broken JSON
  }
  if (k < 0.88) return r.bytes(r.int(1, 2048)); // binary
  if (k < 0.94) return JSON.stringify({ name: "big", description: "d".repeat(r.int(900_000, 1_200_000)) }); // around the 1 MiB cap
  return randText(r, 300);
}


/**
 * Target 2: `count` random requests. Property: no 5xx and no transport failure, ping answers after.
 * DELETE /v1/repos/<our project> is skipped so later batches keep their repo (removal is exercised by
 * the e2e tests).
 */
export async function fuzzApi(ctx: SignalCtx, r: Rng, count: number, statusCounts?: Record<string, number>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const { method, path } = apiRoute(r, ctx.project, ctx.tasks);
    if (method === "DELETE" && /^\/v1\/repos\/[^/]*$/.test(path) && decodeURIComponentSafe(path.slice("/v1/repos/".length)) === ctx.project) continue;
    const body = apiBody(r, ctx.tasks, ctx.repo);
    const headers: Record<string, string> = {};
    if (r.chance(0.1)) headers["content-type"] = r.pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]);
    if (r.chance(0.05)) headers["last-event-id"] = randText(r, 10).replace(/[^\x20-\x7e]/g, "");
    const res = await request(ctx.sb.socket, method, path, body, headers);
    if (statusCounts) statusCounts[res.status] = (statusCounts[res.status] ?? 0) + 1;
    const desc = `${method} ${path.slice(0, 120)} body=${body === undefined ? "none" : typeof body === "string" ? JSON.stringify(body.slice(0, 80)) : `<${body.length} binary bytes>`}`;
    if (res.status >= 500) out.push(`${res.status} for ${desc}`);
    if (res.status === 0) out.push(`transport error (${res.error}) for ${desc}`);
    if (out.length >= 5) break;
  }
  if (!(await ping(ctx.sb.socket))) out.push("daemon does not answer /v1/ping after the API batch");
  return out;
}

// ---------------------------------------------------------------- config

export const EXAMPLE_TOML = `poll_interval_sec = 2.0
repos = []
auto_advance = false
auto_advance_waves = true
auto_review_fix = true
auto_readiness_review = true
max_review_fix_cycles = 0
readiness_self_fix_max_lines = 80
readiness_max_verify_cycles = 2
socket_path = ""
watch_signals = true
auto_create_pr = true
default_program = "claude"

[pr_monitor]
enabled = false
poll_interval_sec = 60.0
reactions = ["eyes"]

[github]
api_url = "https://api.github.com"

[agents.reviewer]
program = "codex"
model = "o4-mini"
flags = []
skip_permissions = true

[orchestration]
blueprint_skip_threshold = 2
max_parallel_wave_tasks = 0
`;

const TOML_VALUES = ["true", "false", "0", "-1", "1", "2.5", "-0.0", "1e400", "nan", "inf", "-inf", "+inf", "86401", "1_000", "0x10", "0o7", "0b1", "1979-05-27", "1979-05-27T07:32:00Z", "07:32:00", '""', '"x"', "'lit'", '"""multi\nline"""', "[]", "[1, 2]", '["a", ""]', '[" ", "  "]', "[[1], [2]]", "{}", "{ a = 1 }", '{ enabled = "yes" }', '"\\u0000"', '"\\uD800"', '"http://"', '"https://x y"', '"ftp://x"', "9223372036854775807", "9223372036854775808", "99999999999999999999"];
const TOML_KEYS = [...ALL_KEYS.map((s) => s.key), "pr_monitor", "agents", "agents.coder", "agents.nobody.program", "orchestration", "github", "__proto__", "constructor", "__proto__.polluted", "ui.auto_advance", "Poll_Interval_Sec", "\"quoted key\"", "a.b.c.d"];

/** Random TOML: line-level mutations of the product page example (values, keys, tables, syntax). */
export function tomlText(r: Rng): string {
  if (r.chance(0.05)) return r.bytes(r.int(0, 200)).toString("latin1");
  if (r.chance(0.05)) return randText(r, 200);
  const lines = EXAMPLE_TOML.split("\n");
  for (let m = r.int(1, 6); m > 0; m--) {
    const i = r.int(0, lines.length - 1);
    const line = lines[i]!;
    const eq = line.indexOf("=");
    switch (r.int(0, 9)) {
      case 0:
      case 1:
      case 2:
        if (eq > 0) lines[i] = `${line.slice(0, eq + 1)} ${r.pick(TOML_VALUES)}`;
        break;
      case 3:
        lines.splice(i, 0, `${r.pick(TOML_KEYS)} = ${r.pick(TOML_VALUES)}`);
        break;
      case 4:
        lines.splice(i, 0, `[${r.pick(["pr_monitor", "agents", "agents.coder", "agents.x", "github", "orchestration", "ui", "repos", "poll_interval_sec", "__proto__", "a.b"])}]`);
        break;
      case 5:
        lines.splice(i, 1);
        break;
      case 6: // syntax breakage
        lines[i] = line.slice(0, r.int(0, line.length)) + r.pick(["", "[", "]", '"', "=", " = = ", "\\", "#", "\u0000", "\ufeff"]);
        break;
      case 7:
        lines.splice(i, 0, lines[r.int(0, lines.length - 1)]!); // duplicate key / table
        break;
      case 8:
        lines.splice(i, 0, `[[${r.pick(["pr_monitor", "agents", "x"])}]]`);
        break;
      default:
        lines[i] = `${line} ${r.pick(["# comment", "", "x", ","])}`;
    }
  }
  return lines.join(r.chance(0.1) ? "\r\n" : "\n");
}

/** flattened key → schema of that key */
const SPECS = new Map(ALL_KEYS.map((s) => [s.key, s.schema] as const));

/** Target 3 (in-process): parseConfigText returns a schema-valid config or throws ConfigError naming the file. */
export function checkConfigText(text: string, path = "/fuzz/daemon.toml"): string | null {
  let res: ReturnType<typeof parseConfigText>;
  try {
    res = parseConfigText(text, path);
  } catch (err) {
    if (!(err instanceof ConfigError)) return `non-ConfigError ${(err as Error)?.name}: ${String((err as Error)?.message ?? err).split("\n")[0]}`;
    if (!err.message.includes(path)) return `ConfigError does not name the file: ${err.message.split("\n")[0]}`;
    return null;
  }
  const flat = flattenConfig(res.config);
  for (const [key, value] of Object.entries(flat)) {
    const schema = SPECS.get(key);
    if (schema && !v.safeParse(schema, value).success) return `accepted config has ${key} = ${JSON.stringify(value)}, which its schema refuses`;
  }
  if (({} as Record<string, unknown>).polluted !== undefined) return "Object.prototype polluted";
  return null;
}

export function fuzzConfig(r: Rng, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count && out.length < 5; i++) {
    const text = tomlText(r);
    const bad = checkConfigText(text);
    if (bad) out.push(`${bad}\n--- input (JSON-escaped) ---\n${JSON.stringify(text)}`);
  }
  return out;
}

/** Target 3 (CLI): `kasmos daemon config --config <file>` exits 0 or 1 with no stack trace. */
export async function fuzzConfigCli(sb: Sandbox, r: Rng, count: number): Promise<string[]> {
  const out: string[] = [];
  const file = join(sb.dir, "fuzz.toml");
  for (let i = 0; i < count; i++) {
    const text = tomlText(r);
    writeFileSync(file, text);
    const res = await sb.run(["daemon", "config", "--config", file], { timeoutMs: 15_000 });
    const trace = /^\s+at .+[:(]/m.test(res.stderr) || /panic|Segmentation fault|Unhandled|TypeError|RangeError/i.test(res.stderr);
    if ((res.code !== 0 && res.code !== 1) || trace) {
      out.push(`daemon config exited ${res.code}${trace ? " with a stack trace" : ""}: ${res.stderr.split("\n").slice(0, 3).join(" | ")}\n--- input ---\n${JSON.stringify(text)}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- harness

export const FUZZ_TASKS = ["alpha", "beta", "gamma", "delta", "eps.md", "zeta_1"];
const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n### Task 2: two\ndo that\n## Wave 2: b\n### Task 3: three\nlast\n";

/**
 * One sandbox, one git repo ("fz") and one compiled foreground daemon. Agent programs point to a path
 * that does not exist, so transitions never start tmux sessions (they give attention items instead).
 */
export async function startFuzzDaemon(): Promise<SignalCtx & { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; stop: () => Promise<void> }> {
  const { Sandbox: SB, makeGitRepo } = await import("../helpers/env.ts");
  const sb = new SB("kfz-");
  try {
    const repo = makeGitRepo(sb.dir, "fz");
    // A real linked worktree: only those are scanned (a plain folder under .worktrees/ is the user's).
    Bun.spawnSync(["git", "-C", repo, "worktree", "add", "-q", ".worktrees/plan-fuzz", "-b", "fuzz-wt"]);
    sb.writeConfig(`poll_interval_sec = 0.2\nrepos = [${JSON.stringify(repo)}]\ndefault_program = "/nonexistent/kasmos-fuzz-agent"\nauto_create_pr = false\n`);
    const proc = await sb.foreground();
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
    const tasks = [...FUZZ_TASKS];
    for (const [i, name] of tasks.entries()) {
      const res = await request(sb.socket, "POST", "/v1/repos/fz/tasks", JSON.stringify({ name, plan: PLAN }));
      if (res.status !== 201) throw new Error(`creating task ${name}: HTTP ${res.status}`);
      if (i % 2 === 1) await request(sb.socket, "POST", `/v1/repos/fz/tasks/${encodeURIComponent(name)}/transition`, JSON.stringify({ event: "implement_start" }));
    }
    const stop = async () => {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await proc.exited;
        clearTimeout(t);
      }
      await sb.cleanup();
    };
    return { sb, repo, project: "fz", tasks, proc, stop };
  } catch (err) {
    await sb.cleanup();
    throw err;
  }
}
