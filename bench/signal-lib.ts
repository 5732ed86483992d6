// Helpers shared by the signal benches (signal-latency, signal-burst, idle-100-repos): daemon config,
// seeding tasks straight into the SQLite store, repo registration over the socket, atomic signal-file
// writes, wall-clock timestamps comparable across processes, and a tiny SSE reader for /v1/events.
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AuditEntry } from "../src/api/events.ts";
import { openStore } from "../src/store/db.ts";
import { createTask } from "../src/store/tasks.ts";
import { applyTaskUpdate } from "../src/store/task-update.ts";
import type { Sandbox } from "./lib.ts";

/** A plan that makes implement_start legal (same shape the brief / CLI uses). */
export const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n";

/** Wall-clock ms since the epoch with sub-ms precision; comparable with the daemon's `new Date()` timestamps. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function configDir(sb: Sandbox): string {
  return join(sb.home, ".config", "kasmos");
}

export function storeFile(sb: Sandbox): string {
  return join(configDir(sb), "kasmos.db");
}

/** Write `$HOME/.config/kasmos/daemon.toml` (call before startDaemon). */
export function writeConfig(sb: Sandbox, cfg: { poll_interval_sec?: number; watch_signals?: boolean; auto_review_fix?: boolean }): void {
  mkdirSync(configDir(sb), { recursive: true, mode: 0o700 });
  const lines: string[] = [];
  if (cfg.poll_interval_sec !== undefined) lines.push(`poll_interval_sec = ${cfg.poll_interval_sec.toFixed(1)}`);
  if (cfg.watch_signals !== undefined) lines.push(`watch_signals = ${cfg.watch_signals}`);
  if (cfg.auto_review_fix !== undefined) lines.push(`auto_review_fix = ${cfg.auto_review_fix}`);
  writeFileSync(join(configDir(sb), "daemon.toml"), `${lines.join("\n")}\n`);
}

/** Insert tasks (with a plan) directly into the store, all set to `status`. One transaction per call. */
export function seedTasks(sb: Sandbox, project: string, names: readonly string[], status: "implementing" | "reviewing"): void {
  const db = openStore(storeFile(sb));
  try {
    db.transaction(() => {
      for (const name of names) {
        createTask(db, { project, name, branch: `plan/${name}`, content: PLAN });
        applyTaskUpdate(db, project, name, { status });
      }
    }).immediate();
  } finally {
    db.close();
  }
}

/** Read-only connection to the daemon's store (WAL: never blocks the daemon's writer). */
export function openReadOnly(sb: Sandbox): Database {
  const db = new Database(storeFile(sb), { readonly: true });
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

/** `git init` only (what registration requires); one process per repo. */
export function gitInit(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = Bun.spawnSync(["git", "init", "-q", dir], { stdout: "ignore", stderr: "pipe", timeout: 10_000 });
  if (r.exitCode !== 0) throw new Error(`git init ${dir} failed: ${r.stderr.toString()}`);
}

/** POST /v1/repos over the unix socket. */
export async function registerRepo(socket: string, path: string): Promise<void> {
  const r = await fetch("http://kasmos/v1/repos", {
    unix: socket,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  if (r.status !== 201) throw new Error(`POST /v1/repos ${path} → ${r.status}: ${text}`);
}

export async function getJson<T>(socket: string, path: string): Promise<T> {
  const r = await fetch(`http://kasmos${path}`, { unix: socket, signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`GET ${path} → ${r.status}`);
  return (await r.json()) as T;
}

export function signalsDir(repo: string): string {
  return join(repo, ".kasmos", "signals");
}

/** Atomic signal write: body into a dot-file (ignored by the daemon), then rename into place. */
export function writeSignalAtomic(dir: string, name: string, body = "bench\n"): void {
  const tmp = join(dir, `.tmp-${name}`);
  writeFileSync(tmp, body);
  renameSync(tmp, join(dir, name));
}

/** Non-dot entries left in a signals folder (files only; processing/ and failed/ are reported separately). */
export function leftovers(dir: string): { pending: number; failed: number; processing: number } {
  const count = (d: string, filesOnly: boolean): number => {
    try {
      return readdirSync(d, { withFileTypes: true }).filter((e) => !e.name.startsWith(".") && (!filesOnly || !e.isDirectory())).length;
    } catch {
      return 0;
    }
  };
  return { pending: count(dir, true), failed: count(join(dir, "failed"), false), processing: count(join(dir, "processing"), false) };
}

// ---------------------------------------------------------------------------------------------
// SSE

export type AuditEvent = AuditEntry;

/** Subscriber to GET /v1/events: parses `event:`/`data:` blocks into AuditEvents, delivered in order. */
export class EventStream {
  private queue: AuditEvent[] = [];
  private waiter: ((e: AuditEvent | null) => void) | null = null;
  private ended = false;
  private readonly abort = new AbortController();

  private constructor() {}

  /** Opens the stream; resolves once the daemon answered (its cursor is set before the response is sent). */
  static async open(socket: string, query: string): Promise<EventStream> {
    const s = new EventStream();
    const r = await fetch(`http://kasmos/v1/events?${query}`, { unix: socket, signal: s.abort.signal });
    if (!r.ok || !r.body) throw new Error(`GET /v1/events → ${r.status}`);
    void s.read(r.body);
    return s;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of body) {
        buf += dec.decode(chunk, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (data) this.push(JSON.parse(data.slice(6)) as AuditEvent);
        }
      }
    } catch {
      // aborted by close() or the daemon went away
    }
    this.ended = true;
    this.waiter?.(null);
    this.waiter = null;
  }

  private push(e: AuditEvent): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(e);
    } else this.queue.push(e);
  }

  /** Next event, or throws after `timeoutMs` / when the stream ended. */
  async next(timeoutMs: number): Promise<AuditEvent> {
    const q = this.queue.shift();
    if (q) return q;
    if (this.ended) throw new Error("event stream ended");
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const e = await new Promise<AuditEvent | null>((resolve) => {
        this.waiter = resolve;
        timer = setTimeout(() => {
          this.waiter = null;
          resolve(null);
        }, timeoutMs);
      });
      if (!e) throw new Error(`no event within ${timeoutMs} ms`);
      return e;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.abort.abort();
  }
}
