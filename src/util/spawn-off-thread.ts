// Child processes started from a worker thread. Bun.spawn blocks its caller's thread until the child
// has exec'd: ~1 ms on a quiet machine, 12–26 ms at the 90th percentile and worst case on a loaded one
// (measured on the 2-core machine). The daemon starts git and tmux several times per agent start, so a
// 100-agent start storm held its event loop (signals, hook reports, requests) for seconds in small
// pieces. Started from a worker, the wait is the worker's; the daemon's thread only posts a message.
// Only the daemon turns it on (startProcessesOffThread); should the worker fail to start, processes
// are started on the caller's thread as before.

export interface OffThreadOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to the child's stdin in full (none: stdin is /dev/null). */
  stdin?: string;
  /** The child is killed (SIGKILL) after this long; the result says timedOut. */
  timeoutMs: number;
}

export interface OffThreadResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

interface Request extends OffThreadOptions {
  id: number;
  argv: string[];
}

type Reply = { id: number; ok: true; result: OffThreadResult } | { id: number; ok: false; message: string };

/** Start `argv` here, wait for it, read stdout and stderr in full (the worker runs the same code). */
async function runHere(argv: string[], opts: OffThreadOptions): Promise<OffThreadResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v;
  const proc = Bun.spawn(argv, { cwd: opts.cwd, env, stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]), stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

// The worker's code travels as a blob: no second entry point for `bun build --compile`.
const WORKER_SOURCE = `
const runHere = ${runHere.toString()};
self.onmessage = async (e) => {
  const { id, argv, ...opts } = e.data;
  try {
    postMessage({ id, ok: true, result: await runHere(argv, opts) });
  } catch (err) {
    postMessage({ id, ok: false, message: String((err && err.message) || err) });
  }
};
`;

let worker: Worker | null = null;
let workerFailed = false;
let enabled = false;
let nextId = 1;
const waiting = new Map<number, { resolve: (r: OffThreadResult) => void; reject: (e: Error) => void; watchdog: ReturnType<typeof setTimeout> }>();
/** Past the child's own timeout, how long an answer may take before the request fails. */
const ANSWER_GRACE_MS = 5_000;

/**
 * The daemon's choice (src/daemon/run.ts): a CLI run or a test starts its few processes in place. The
 * worker keeps the process alive (the daemon exits with process.exit). Under bun test, an answer
 * awaited through expect(…).rejects was not delivered until the next message: tests that use tmux.ts
 * or worktree.ts directly run in place.
 */
export function startProcessesOffThread(on: boolean): void {
  enabled = on;
}

function settled(id: number): { resolve: (r: OffThreadResult) => void; reject: (e: Error) => void } | undefined {
  const pending = waiting.get(id);
  if (!pending) return undefined;
  waiting.delete(id);
  clearTimeout(pending.watchdog);
  return pending;
}

function failWorker(message: string): void {
  workerFailed = true;
  worker?.terminate();
  worker = null;
  for (const id of [...waiting.keys()]) settled(id)?.reject(new Error(`process worker failed: ${message}`));
}

function ensureWorker(): Worker | null {
  if (worker || workerFailed) return worker;
  try {
    const w = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" })));
    w.onmessage = (e: MessageEvent<Reply>) => {
      const m = e.data;
      const pending = settled(m.id);
      if (!pending) return;
      if (m.ok) pending.resolve(m.result);
      else pending.reject(new Error(m.message));
    };
    w.onerror = (e: ErrorEvent) => failWorker(e.message);
    worker = w;
  } catch {
    workerFailed = true;
  }
  return worker;
}

/**
 * Run `argv` to completion with its output read in full, started from a worker thread. Rejects when it
 * cannot be started (e.g. the program does not exist), like Bun.spawn throws.
 */
export function runOffThread(argv: string[], opts: OffThreadOptions): Promise<OffThreadResult> {
  const w = enabled ? ensureWorker() : null;
  if (!w) return runHere(argv, opts);
  const id = nextId++;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v;
  const request: Request = { id, argv, env, timeoutMs: opts.timeoutMs, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }), ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }) };
  return new Promise<OffThreadResult>((resolve, reject) => {
    const watchdog = setTimeout(() => settled(id)?.reject(new Error(`no answer from the process worker for ${argv[0] ?? ""} within ${opts.timeoutMs + ANSWER_GRACE_MS} ms`)), opts.timeoutMs + ANSWER_GRACE_MS);
    watchdog.unref();
    waiting.set(id, { resolve, reject, watchdog });
    w.postMessage(request);
  });
}
