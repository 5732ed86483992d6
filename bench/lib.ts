// Shared benchmark helpers: a throw-away sandbox (temp HOME + XDG_RUNTIME_DIR), a foreground daemon
// started from the compiled binary and always killed by PID, /proc readers for RSS and CPU time,
// percentiles, and the BenchResult shape every bench module returns.
//
// Adding a bench: create bench/<name>.ts exporting `run(): Promise<BenchResult>`, then append
// `{ name: "<name>", load: () => import("./<name>.ts") }` to BENCHES in bench/run.ts.
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, readdirSync, writeFileSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { processAlive as alive } from "../src/util/process.ts";

/** The one pid-alive check (src/util/process.ts), under the name the benchmarks use. */
export { alive };

export const ROOT = join(import.meta.dir, "..");
/** The binary under test; KASMOS_BENCH_BIN runs these benches against another build (a before/after pair). */
export const BIN = process.env.KASMOS_BENCH_BIN || join(ROOT, "dist", "kasmos");

// ---------------------------------------------------------------------------------------------
// Result shape

export interface Figure {
  label: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. "≤ 2.5" or "< 1 ms". Omitted for informational figures. */
  target?: string;
  /** Verdict against the target; omitted for informational figures. */
  pass?: boolean;
}

export interface BenchResult {
  name: string;
  figures: Figure[];
  notes: string[];
}

export interface BenchModule {
  run(): Promise<BenchResult>;
}

// ---------------------------------------------------------------------------------------------
// Small utilities

export function assertBinary(): void {
  if (!existsSync(BIN)) throw new Error(`compiled binary missing at ${BIN}: run \`bun scripts/build.ts\` (or \`bun run bench\`)`);
}

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  const idx = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[idx] ?? Number.NaN;
}

/** A whole-number size from the environment (bench sizes for smoke runs), else `fallback`. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${raw}: expected a whole number >= 0`);
  return n;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Poll `cond` every `stepMs` until true or `timeoutMs` has passed (bounded in time and count). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const maxIter = Math.ceil(timeoutMs / stepMs) + 1;
  for (let i = 0; i < maxIter && Date.now() < deadline; i++) {
    if (await cond()) return;
    await Bun.sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// ---------------------------------------------------------------------------------------------
// /proc readers

/** Resident set size of a PID in kB (VmRSS from /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number.parseInt(m[1], 10);
}

export function rssMb(pid: number): number {
  return rssKb(pid) / 1024;
}

const CLK_TCK = 100;

/** CPU time (user + system) consumed so far by a PID, in ms (/proc/<pid>/stat utime+stime, CLK_TCK 100). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The comm field may contain spaces; fields after ")" start with state (field 3).
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number.parseInt(rest[11] ?? "", 10); // field 14
  const stime = Number.parseInt(rest[12] ?? "", 10); // field 15
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return ((utime + stime) * 1000) / CLK_TCK;
}

function threadNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // thread exited between the listing and the read
    }
  }
  return out;
}

/**
 * On-CPU time of `pid` so far in ms: the live threads' time with ns resolution
 * (/proc/<pid>/task/<tid>/schedstat), or the process total in clock ticks (/proc/<pid>/stat, which
 * keeps the time of threads that exited) when that is larger.
 */
export function cpuPreciseMs(pid: number): number {
  let ns = 0;
  for (const v of threadNs(pid).values()) ns += v;
  return Math.max(ns / 1e6, cpuMs(pid));
}

/**
 * CPU time of `pid` over a window, in ms: call at the start, call the result at the end. Threads alive
 * at both ends count with ns resolution; if one exited meanwhile (its time is gone from the per-thread
 * figures), the tick-resolution process total is used when larger. Never negative.
 */
export function cpuWindow(pid: number): () => number {
  const t0 = threadNs(pid);
  const stat0 = cpuMs(pid);
  return () => {
    const t1 = threadNs(pid);
    let ns = 0;
    let vanished = false;
    for (const [tid, v] of t1) ns += v - (t0.get(tid) ?? 0);
    for (const tid of t0.keys()) if (!t1.has(tid)) vanished = true;
    const precise = Math.max(0, ns / 1e6);
    return vanished ? Math.max(precise, cpuMs(pid) - stat0) : precise;
  };
}

/** The whole machine from now: busy and stolen (by the hypervisor) CPU, in % of all cores. */
export function machineWindow(): () => { busyPct: number; stealPct: number } {
  const read = (): number[] => (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  return () => {
    const b = read();
    const d = b.map((x, i) => x - (a[i] ?? 0));
    const total = d.reduce((x, y) => x + y, 0) || 1;
    // user nice system idle iowait irq softirq steal …
    const idle = (d[3] ?? 0) + (d[4] ?? 0);
    return { busyPct: ((total - idle) / total) * 100, stealPct: ((d[7] ?? 0) / total) * 100 };
  };
}

// ---------------------------------------------------------------------------------------------
// Sandbox + daemon

export interface Daemon {
  pid: number;
  socket: string;
  proc: Bun.Subprocess;
}

/**
 * Temp HOME / XDG_RUNTIME_DIR under /tmp (short: unix socket paths are limited to 107 bytes), or under
 * $KASMOS_BENCH_TMP (e.g. /dev/shm, to take a noisy disk out of the figures).
 */
export class Sandbox {
  readonly dir: string;
  readonly home: string;
  readonly runtime: string;
  private readonly pids = new Set<number>();

  constructor(prefix = "kb-") {
    this.dir = mkdtempSync(join(process.env.KASMOS_BENCH_TMP || "/tmp", prefix));
    this.home = join(this.dir, "h");
    this.runtime = join(this.dir, "r");
    mkdirSync(this.home, { recursive: true });
    mkdirSync(this.runtime, { recursive: true, mode: 0o700 });
  }

  get env(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: this.home,
      XDG_RUNTIME_DIR: this.runtime,
      NO_COLOR: "1",
      LANG: "C.UTF-8",
      // Agents (if any) go to this sandbox's own tmux server.
      KASMOS_TMUX_SOCKET: `kb-${this.dir.split("/").pop()}`,
    };
  }

  get socket(): string {
    return join(this.runtime, "kasmos", "kas.sock");
  }

  get logFile(): string {
    return join(this.dir, "daemon.out");
  }

  /**
   * Spawn `kasmos daemon start --foreground` and wait (≤ 15 s) until it answers /v1/ping. `extraEnv`:
   * e.g. `{ BUN_OPTIONS: "--cpu-prof-md --cpu-prof-dir=/tmp/prof" }` to profile the daemon.
   */
  async startDaemon(extraEnv: Record<string, string> = {}, wait: { timeoutMs?: number; pollMs?: number } = {}): Promise<Daemon> {
    assertBinary();
    // Daemon output goes to a file in the sandbox (never an undrained pipe).
    const fd = openSync(this.logFile, "w");
    let proc: Bun.Subprocess;
    try {
      proc = Bun.spawn([BIN, "daemon", "start", "--foreground"], { env: { ...this.env, ...extraEnv }, cwd: this.dir, stdin: "ignore", stdout: fd, stderr: fd });
    } finally {
      closeSync(fd);
    }
    this.pids.add(proc.pid);
    const socket = this.socket;
    try {
      await waitFor(async () => {
        if (proc.exitCode !== null) throw new Error(`daemon exited early with code ${proc.exitCode}`);
        return ping(socket);
      }, wait.timeoutMs ?? 15_000, "foreground daemon to answer /v1/ping", wait.pollMs);
    } catch (e) {
      await this.stop(proc.pid);
      throw e;
    }
    return { pid: proc.pid, socket, proc };
  }

  /** SIGTERM a PID we started, wait ≤ 5 s for it to exit, then SIGKILL. */
  async stop(pid: number): Promise<void> {
    if (!this.pids.has(pid)) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      this.pids.delete(pid);
      return;
    }
    try {
      // Graceful stop may checkpoint a large WAL after heavy load: allow the daemon's own 10 s bound.
      await waitFor(() => !alive(pid), 12_000, `pid ${pid} to exit`);
    } catch {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
      await waitFor(() => !alive(pid), 3_000, `pid ${pid} to die`).catch(() => {});
    }
    this.pids.delete(pid);
  }

  /** Run the kasmos binary to completion (≤ 30 s unless told) inside the sandbox. */
  run(args: string[], timeoutMs = 30_000): { code: number; stdout: string; stderr: string } {
    const r = Bun.spawnSync([BIN, ...args], { env: this.env, cwd: this.dir, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** A small real git repository inside the sandbox (git init + one commit). */
  makeGitRepo(name: string): string {
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    const env = { ...this.env, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@b", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@b" };
    const git = (...a: string[]): void => {
      const r = Bun.spawnSync(["git", "-C", dir, ...a], { env, stdout: "ignore", stderr: "pipe", timeout: 10_000 });
      if (r.exitCode !== 0) throw new Error(`git ${a.join(" ")} failed: ${r.stderr.toString()}`);
    };
    git("init", "-q", "-b", "main");
    writeFileSync(join(dir, "README.md"), `# ${name}\n`);
    git("add", ".");
    git("commit", "-q", "-m", "init");
    return dir;
  }

  /** Register `count` fresh git repos with the running daemon via `kasmos daemon add`. */
  addRepos(count: number): void {
    for (let i = 0; i < count; i++) {
      const dir = this.makeGitRepo(`g${i}`);
      const r = this.run(["daemon", "add", dir]);
      if (r.code !== 0) throw new Error(`daemon add ${dir} failed (${r.code}): ${r.stderr}`);
    }
  }

  /** Kill (by PID) everything still running that we started, and remove the temp dir. */
  async cleanup(): Promise<void> {
    for (const pid of [...this.pids]) await this.stop(pid);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Run `fn` with a fresh sandbox + foreground daemon (optionally with `repos` registered); always cleans up. */
export async function withDaemon<T>(fn: (d: Daemon, sb: Sandbox) => Promise<T>, opts: { repos?: number } = {}): Promise<T> {
  const sb = new Sandbox();
  try {
    const d = await sb.startDaemon();
    if (opts.repos) sb.addRepos(opts.repos);
    return await fn(d, sb);
  } finally {
    await sb.cleanup();
  }
}


// ---------------------------------------------------------------------------------------------
// HTTP over the unix socket

export async function ping(socket: string): Promise<boolean> {
  try {
    const r = await fetch("http://kasmos/v1/ping", { unix: socket, signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * `n` sequential GETs of `path`, returning per-request round-trip times in ms (response body fully read).
 * `signal` bounds the whole run in time; pass one shared signal rather than a timer per request.
 */
export async function sequentialGets(socket: string, path: string, n: number, signal: AbortSignal): Promise<number[]> {
  const times: number[] = [];
  const url = `http://kasmos${path}`;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await fetch(url, { unix: socket, signal });
    await r.arrayBuffer();
    const dt = performance.now() - t0;
    if (!r.ok) throw new Error(`GET ${path} → ${r.status}`);
    times.push(dt);
  }
  return times;
}

/** /v1/ping from a process of its own (bench/ping-probe.ts) while `during` runs: p99 and max in ms. */
export async function pingProbe(sb: Sandbox, socket: string, during: () => Promise<void>): Promise<{ p99: number; max: number; n: number }> {
  const stopFile = join(sb.dir, `ping-stop-${performance.now()}`);
  const probe = Bun.spawn(["bun", join(import.meta.dir, "ping-probe.ts"), socket, "900000", stopFile], { stdout: "pipe", stderr: "inherit" });
  try {
    await Bun.sleep(300); // the probe's own start-up
    await during();
  } finally {
    writeFileSync(stopFile, "");
  }
  const times = (JSON.parse(await new Response(probe.stdout).text()) as number[]).sort((a, b) => a - b);
  await probe.exited;
  return { p99: percentile(times, 99), max: times[times.length - 1] ?? 0, n: times.length };
}
