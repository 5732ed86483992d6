// Path traversal and odd names: task, project and instance names are refused before they can become a
// branch, a worktree, a tmux target or a file path. A logging tmux wrapper first on the daemon's PATH
// records every tmux invocation, so "no tmux call with a weird target" is checked, not assumed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
let sig: string;
let tmuxLog: string;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
const MARK = `/tmp/kasmos-sec-names-${process.pid}-${Date.now()}`;

const BAD_NAMES: string[] = [
  "..",
  ".",
  "../x",
  "../../etc/passwd",
  "a/b",
  "a\\b",
  "a\u0000b",
  "x".repeat(300),
  "-rf",
  "--help",
  ".hidden",
  "naïve",
  "日本語",
  "a b",
  "a\nb",
  "$(touch " + MARK + ")",
  "`id`",
  "a;b",
  "",
  "   ",
];

function q<T>(sql: string): T[] {
  const d = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
  try {
    return d.query(sql).all() as T[];
  } finally {
    d.close();
  }
}

function branches(): string[] {
  const r = Bun.spawnSync(["git", "-C", repo, "for-each-ref", "--format=%(refname)", "refs/heads"]);
  return r.stdout.toString().trim().split("\n").filter(Boolean);
}

function drop(name: string, body = ""): void {
  mkdirSync(sig, { recursive: true });
  const tmp = join(sig, ".tmp-drop");
  writeFileSync(tmp, body);
  renameSync(tmp, join(sig, name));
}

beforeAll(async () => {
  sb = new Sandbox();
  repo = makeGitRepo(sb.dir, "proj");
  sig = join(repo, ".kasmos", "signals");
  // Logging tmux wrapper, first on the daemon's PATH.
  const bin = join(sb.dir, "bin");
  mkdirSync(bin);
  tmuxLog = join(sb.dir, "tmux.log");
  const realTmux = Bun.which("tmux") ?? "/usr/bin/tmux";
  writeFileSync(join(bin, "tmux"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${tmuxLog}'\nexec '${realTmux}' "$@"\n`);
  chmodSync(join(bin, "tmux"), 0o755);
  sb.writeConfig(`poll_interval_sec = 0.2\nrepos = ["${repo}"]\n`);
  proc = await sb.foreground([], { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` });
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  await sb?.cleanup();
});

function nothingCreated(): void {
  expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM tasks")[0]!.n).toBe(0);
  expect(branches()).toEqual(["refs/heads/main"]);
  expect(existsSync(join(repo, ".worktrees"))).toBe(false);
  expect(existsSync(MARK)).toBe(false);
  expect(existsSync(join(sb.dir, "x"))).toBe(false);
  expect(existsSync(join(repo, "..", "x"))).toBe(false);
  // Nothing new next to the repo or the config dir.
  expect(readdirSync(sb.dir).filter((f) => !["bin", "h", "proj", "r", "tmux.log"].includes(f))).toEqual([]);
}

describe("task names", () => {
  test("API: every odd name is a 400 and nothing is created", async () => {
    for (const name of BAD_NAMES) {
      const r = await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name, description: "x" });
      expect({ name, status: r.status }).toEqual({ name, status: 400 });
      expect(typeof r.json.error).toBe("string");
    }
    // Raw JSON with an escaped NUL, in case a client library strips it.
    const raw = await api(sb.socket, "POST", "/v1/repos/proj/tasks", '{"name":"a\\u0000b"}');
    expect(raw.status).toBe(400);
    nothingCreated();
  });

  test("API: odd task names in signal enqueue are a 400 and queue nothing", async () => {
    for (const task of BAD_NAMES) {
      const r = await api(sb.socket, "POST", "/v1/repos/proj/signals", { type: "implement_finished", task });
      expect({ task, status: r.status }).toEqual({ task, status: 400 });
    }
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM signals")[0]!.n).toBe(0);
  });

  test("CLI: every odd name exits 1 and nothing is created", async () => {
    for (const name of BAD_NAMES) {
      if (name.includes("\0")) continue; // argv cannot carry NUL at all
      const r = await sb.run(["task", "create", name, "--description", "x"], { cwd: repo });
      // A leading "-" reads as an option (`--help` prints help and exits 0): it must just not create a task.
      if (!name.startsWith("-")) expect({ name, code: r.code }).toEqual({ name, code: 1 });
      // Also behind "--" so names starting with "-" really reach the validator.
      const r2 = await sb.run(["task", "create", "--", name], { cwd: repo });
      if (name !== "--help") expect({ name, code2: r2.code }).toEqual({ name, code2: 1 }); // citty answers --help even after "--"
    }
    nothingCreated();
  });

  test("a valid 200-char name is accepted, 201 is not", async () => {
    const ok = await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name: "a".repeat(200) });
    expect(ok.status).toBe(201);
    const bad = await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name: "a".repeat(201) });
    expect(bad.status).toBe(400);
    const del = await api(sb.socket, "POST", `/v1/repos/proj/tasks/${"a".repeat(200)}/transition`, { event: "cancel" });
    expect(del.status).toBe(200);
  });

  test("branches that are not git branch names (or escape .worktrees/) are refused by the API and the CLI", async () => {
    for (const branch of ["..", "../x", "a/../b", "/abs", "x//y", "x/", ".hidden", "x.lock", "a b", "-rf", "plan/.x"]) {
      const r = await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name: "br-test", branch });
      expect(r.status).toBe(400);
      expect(String(r.json.error)).toContain("invalid branch");
      const c = await sb.run(["task", "create", "br-test", "--branch", branch], { cwd: repo });
      expect(c.code).toBe(1);
    }
    expect((await api(sb.socket, "GET", "/v1/repos/proj/tasks/br-test")).status).toBe(404);
  });

  test("task names that would not make valid git branches are refused (a..b, x.lock, trailing dot)", async () => {
    for (const name of ["a..b", "x.lock", "x."]) {
      expect((await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name })).status).toBe(400);
      expect((await sb.run(["task", "create", name], { cwd: repo })).code).toBe(1);
    }
  });
});

describe("project names in routes", () => {
  const paths = [
    "/v1/repos/..%2F..%2Fetc/tasks",
    "/v1/repos/%2e%2e/tasks",
    "/v1/repos/..%2Fproj/tasks",
    "/v1/repos/proj%2F..%2F..%2Fetc/tasks",
    "/v1/repos/%00/tasks",
    "/v1/repos/proj%00/tasks",
    `/v1/repos/${"p".repeat(5000)}/tasks`,
    "/v1/repos/..%2F..%2Fetc/signals",
    "/v1/repos/..%2F..%2Fetc/instances",
  ];
  test("GET with traversal-ish project names → 404/400, never a 500", async () => {
    for (const p of paths) {
      const r = await api(sb.socket, "GET", p);
      expect({ p, ok: [400, 404].includes(r.status) }).toEqual({ p, ok: true });
    }
  });
  test("POST task / signal / DELETE repo with traversal-ish project names → 404/400 and nothing created", async () => {
    for (const p of ["..%2F..%2Fetc", "%2e%2e", "proj%2F..", "%00"]) {
      const t = await api(sb.socket, "POST", `/v1/repos/${p}/tasks`, { name: "fine" });
      expect({ p, ok: [400, 404].includes(t.status) }).toEqual({ p, ok: true });
      const s = await api(sb.socket, "POST", `/v1/repos/${p}/signals`, { type: "implement_finished", task: "fine" });
      expect({ p, ok: [400, 404].includes(s.status) }).toEqual({ p, ok: true });
      const d = await api(sb.socket, "DELETE", `/v1/repos/${p}`);
      expect({ p, ok: [400, 404].includes(d.status) }).toEqual({ p, ok: true });
    }
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE name = 'fine'")[0]!.n).toBe(0);
    const st = await api(sb.socket, "GET", "/v1/repos");
    expect((st.json as unknown as { project: string }[]).map((r) => r.project)).toEqual(["proj"]);
  });
  test("registering a non-repo path with .. is refused", async () => {
    for (const path of ["/etc/../tmp", `${repo}/../..`, "../x", `${repo}/\u0000`]) {
      const r = await api(sb.socket, "POST", "/v1/repos", { path });
      expect({ path, ok: [400, 409].includes(r.status) }).toEqual({ path, ok: true });
    }
  });
});

describe("instance titles", () => {
  const titles = ["..", "..%2F..%2Fx", "a%2Fb", "%00", "..%2Fproj--x", "%3Bkill-server", "-t", "%3D", "x".repeat(3000)];
  test("capture / send / kill with weird titles → 404, and tmux never sees them", async () => {
    const before = existsSync(tmuxLog) ? readFileSync(tmuxLog, "utf8") : "";
    for (const t of titles) {
      const c = await api(sb.socket, "GET", `/v1/repos/proj/instances/${t}/capture`);
      expect({ t, s: c.status }).toEqual({ t, s: 404 });
      const s = await api(sb.socket, "POST", `/v1/repos/proj/instances/${t}/send`, { prompt: "$(touch " + MARK + ")" });
      expect({ t, s: s.status }).toEqual({ t, s: 404 });
      const k = await api(sb.socket, "POST", `/v1/repos/proj/instances/${t}/kill`);
      expect({ t, s: k.status }).toEqual({ t, s: 404 });
    }
    const after = existsSync(tmuxLog) ? readFileSync(tmuxLog, "utf8") : "";
    const added = after.slice(before.length);
    for (const line of added.split("\n").filter(Boolean)) {
      expect(line).not.toMatch(/capture-pane|paste-buffer|send-keys|kill-session|load-buffer/);
      expect(line).not.toContain("..");
    }
    expect(existsSync(MARK)).toBe(false);
  });
});

describe("signal file names", () => {
  const odd = [
    "implement-finished-..",
    "implement-finished-.",
    "review-approved-.hidden",
    `planner-finished-${"y".repeat(230)}`,
    "implement-finished-a b",
    "implement-finished-a\nb",
    "implement-finished-a\tb",
    `implement-finished-$(touch ${MARK.split("/").pop()})`,
    "implement-finished-`id`",
    "implement-finished-日本語",
    "implement-wave-1-..",
    "implement-task-finished-w1-t1-..",
    "elaborator-finished-..",
    "implement-finished-..md",
  ];
  test("odd remainders are quarantined into failed/ with a reason, never processed", async () => {
    for (const name of odd) drop(name, "body");
    // Long names are kept under a shortened name in failed/; their .reason names the original.
    const reasonFor = (name: string): string | null => {
      const direct = join(sig, "failed", `${name}.reason`);
      if (existsSync(direct)) return readFileSync(direct, "utf8");
      for (const f of readdirSync(join(sig, "failed"))) {
        if (!f.endsWith(".reason")) continue;
        const text = readFileSync(join(sig, "failed", f), "utf8");
        if (text.includes(`original name: ${name}`)) return text;
      }
      return null;
    };
    for (const name of odd) {
      await waitFor(() => (reasonFor(name) ?? "").length > 0, 15_000, `${JSON.stringify(name)} quarantined`);
      expect(existsSync(join(sig, name))).toBe(false);
      expect(reasonFor(name)).toMatch(/^\d{4}-\d\d-\d\dT\S+ \S/);
    }
    // No task was created or moved, no transitions happened, no file escaped the signal dir.
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE status <> 'cancelled'")[0]!.n).toBe(0);
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM signals WHERE status NOT IN ('failed')")[0]!.n).toBe(0);
    expect(existsSync(MARK)).toBe(false);
    expect(existsSync(join(repo, ".kasmos", "failed"))).toBe(false);
    expect(readdirSync(sig).filter((f) => f !== "failed" && f !== "processing")).toEqual([]);
    if (existsSync(join(sig, "processing"))) expect(readdirSync(join(sig, "processing"))).toEqual([]);
  });
});
