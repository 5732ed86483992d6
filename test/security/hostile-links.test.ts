// A repository whose own folders are symbolic links (committed in a clone, or swapped in by an agent)
// must never make kasmos read, move, write or delete files outside it. Each case points a link at an
// "outside" folder holding files that look like signals (and a plain document); after the daemon has
// scanned the repo many times, the outside folder must be exactly as it was, and the repo must be
// refused with a reason (status problem, `daemon add` error, an attention audit row).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPlanned, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { loadRepoOverrides } from "../../src/config/repo.ts";

let sb: Sandbox;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
let log = "";

/** An outside folder with a document and files named like signals (valid and invalid). */
function outside(name: string): string {
  const dir = join(sb.dir, "outside", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "notes.txt"), "my notes\n");
  writeFileSync(join(dir, "review-changes-victim"), "x\n");
  writeFileSync(join(dir, "implement-finished-victim"), "");
  writeFileSync(join(dir, "exclude"), "# mine\n");
  return dir;
}

function snapshot(dir: string): string {
  const walk = (d: string, pre: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name), `${pre}${e.name}/`) : [`${pre}${e.name}=${readFileSync(join(d, e.name), "utf8")}`],
    );
  return walk(dir, "").sort().join("\n");
}

const cases: { name: string; repo: string; out: string; before: string; expect: RegExp }[] = [];

function hostile(name: string, plant: (repo: string, out: string) => void, expectProblem: RegExp): void {
  const repo = makeGitRepo(sb.dir, name);
  const out = outside(name);
  plant(repo, out);
  cases.push({ name, repo, out, before: snapshot(out), expect: expectProblem });
}

async function status(): Promise<{ repos: { project: string; problem: string | null }[]; scan: { ticks: number } }> {
  return (await api(sb.socket, "GET", "/v1/status")).json as never;
}

beforeAll(async () => {
  sb = new Sandbox("khl-");
  hostile("l-signals", (repo, out) => {
    mkdirSync(join(repo, ".kasmos"));
    symlinkSync(out, join(repo, ".kasmos", "signals"));
  }, /\.kasmos\/signals is a symbolic link/);
  hostile("l-kasmos", (repo, out) => {
    mkdirSync(join(out, "signals"));
    writeFileSync(join(out, "signals", "bogus-name"), "");
    symlinkSync(out, join(repo, ".kasmos"));
  }, /\.kasmos is a symbolic link/);
  hostile("l-failed", (repo, out) => {
    const sig = join(repo, ".kasmos", "signals");
    mkdirSync(sig, { recursive: true });
    symlinkSync(out, join(sig, "failed"));
    writeFileSync(join(sig, "not-a-signal-name"), "");
  }, /signals\/failed is a symbolic link/);
  hostile("l-processing", (repo, out) => {
    const sig = join(repo, ".kasmos", "signals");
    mkdirSync(sig, { recursive: true });
    symlinkSync(out, join(sig, "processing"));
  }, /signals\/processing is a symbolic link/);
  hostile("l-worktrees", (repo, out) => {
    mkdirSync(join(out, "x", ".kasmos", "signals"), { recursive: true });
    writeFileSync(join(out, "x", ".git"), "gitdir: /nowhere\n");
    writeFileSync(join(out, "x", ".kasmos", "signals", "bogus-name"), "");
    symlinkSync(out, join(repo, ".worktrees"));
  }, /\.worktrees is a symbolic link/);
  hostile("l-lock", (repo, out) => {
    symlinkSync(join(out, "notes.txt"), join(repo, ".git", "kasmos-daemon.lock")); // the ownership lock kasmos writes
  }, /^$/);
  hostile("l-gitinfo", (repo, out) => {
    rmSync(join(repo, ".git", "info"), { recursive: true, force: true });
    symlinkSync(out, join(repo, ".git", "info"));
  }, /\.git\/info is a symbolic link/);

  // Healthy repos whose worktree's .kasmos (or signals folder) is a link: the worktree is refused, the repo works.
  for (const [name, rel] of [["wt-kasmos", ".kasmos"], ["wt-signals", ".kasmos/signals"]] as const) {
    const repo = makeGitRepo(sb.dir, name);
    const out = outside(name);
    Bun.spawnSync(["git", "-C", repo, "worktree", "add", "-q", ".worktrees/plan-x", "-b", "plan/x"]);
    const wt = join(repo, ".worktrees", "plan-x");
    if (rel === ".kasmos/signals") mkdirSync(join(wt, ".kasmos"), { recursive: true });
    symlinkSync(rel === ".kasmos" ? join(sb.dir, "outside", name, "..", name) : out, join(wt, rel));
    if (rel === ".kasmos") {
      mkdirSync(join(out, "signals"), { recursive: true });
      writeFileSync(join(out, "signals", "bogus-name"), "");
    }
    cases.push({ name, repo, out, before: snapshot(out), expect: /^$/ });
  }

  sb.writeConfig(`poll_interval_sec = 0.1\nrepos = [${cases.map((c) => `"${c.repo}"`).join(", ")}]\n`);
  proc = await sb.foreground();
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) log += decoder.decode(chunk, { stream: true });
  })();
});

afterAll(async () => {
  proc?.kill("SIGKILL");
  await sb.cleanup();
});

test("a repo whose kasmos folders are links is refused with the reason, and nothing outside it is touched", async () => {
  const first = (await status()).scan.ticks;
  // Many passes over every repo (the old code moved every outside file within one).
  await waitFor(async () => (await status()).scan.ticks >= first + 20, 30_000, "20 scan passes");
  const s = await status();
  for (const c of cases) {
    expect(snapshot(c.out), `${c.name}: files outside the repo`).toBe(c.before);
    const r = s.repos.find((x) => x.project === c.name);
    if (c.expect.source === "^$") expect(r?.problem ?? null, `${c.name}: ${r?.problem}`).toBeNull();
    else expect(r?.problem ?? "", c.name).toMatch(c.expect);
  }
  // A worktree whose .kasmos is a link: refused loudly, once.
  await waitFor(() => /wt-kasmos: \.worktrees\/plan-x\/\.kasmos\/signals refused: .*plan-x\/\.kasmos is a symbolic link/.test(log), 10_000, "the worktree refusal in the log");
  await waitFor(() => /wt-signals: \.worktrees\/plan-x\/\.kasmos\/signals refused: .*is a symbolic link/.test(log), 10_000, "the worktree refusal in the log");
  const attention = sb.query<{ project: string; message: string }>("SELECT project, message FROM audit_events WHERE kind = 'attention' AND level = 'error'");
  expect(attention.filter((a) => a.project === "wt-kasmos")).toHaveLength(1);
  expect(attention.some((a) => a.project === "l-signals" && /symbolic link/.test(a.message))).toBe(true);
}, 90_000);

test("`daemon add` refuses such a repo with the reason", async () => {
  const repo = makeGitRepo(sb.dir, "l-add");
  const out = outside("l-add");
  mkdirSync(join(repo, ".kasmos"));
  symlinkSync(out, join(repo, ".kasmos", "signals"));
  const before = snapshot(out);
  const r = await sb.run(["daemon", "add", repo]);
  expect(r.code).not.toBe(0);
  expect(r.stderr + r.stdout).toMatch(/\.kasmos\/signals is a symbolic link \(to .*outside\/l-add\)/);
  expect(snapshot(out)).toBe(before);
}, 60_000);

test("a signal file that is a link is quarantined as a link; its target is never read or moved", async () => {
  const c = cases.find((x) => x.name === "wt-kasmos")!;
  const sig = join(c.repo, ".kasmos", "signals");
  const secret = join(sb.dir, "outside", "secret.txt");
  writeFileSync(secret, "secret\n");
  symlinkSync(secret, join(sig, "review-changes-victim"));
  await waitFor(() => existsSync(join(sig, "failed", "review-changes-victim.reason")), 15_000, "the link to be quarantined");
  expect(readFileSync(join(sig, "failed", "review-changes-victim.reason"), "utf8")).toMatch(/not a regular file/);
  expect(readFileSync(secret, "utf8")).toBe("secret\n");
}, 60_000);

test("a link swapped in and out while the daemon scans never lets it touch the outside folder", async () => {
  const c = cases.find((x) => x.name === "wt-signals")!;
  const wt = join(c.repo, ".worktrees", "plan-x", ".kasmos");
  const real = join(wt, "real");
  mkdirSync(real, { recursive: true });
  const before = snapshot(c.out);
  const deadline = Date.now() + 6000;
  // Bounded: at most 400 swaps or 6 s. Files keep landing in the real folder so the daemon keeps working there.
  const signals = join(wt, "signals");
  // The daemon re-creates a missing signals folder (and failed/ in it) at any moment: clear it and retry.
  const place = (fn: () => void): void => {
    for (let k = 0; k < 10; k++) {
      try {
        return fn();
      } catch {
        rmSync(signals, { force: true, recursive: true }); // a link is removed, never followed
      }
    }
    throw new Error("could not swap the signals folder in 10 tries");
  };
  for (let i = 0; i < 400 && Date.now() < deadline; i++) {
    writeFileSync(join(real, `bogus-${i}`), "");
    place(() => renameSync(real, signals)); // the real folder…
    await Bun.sleep(2);
    renameSync(signals, real);
    place(() => symlinkSync(c.out, signals)); // …and a link to the outside folder in its place
    await Bun.sleep(2);
  }
  rmSync(signals, { force: true, recursive: true });
  const first = (await status()).scan.ticks;
  await waitFor(async () => (await status()).scan.ticks >= first + 5, 30_000, "5 more scan passes");
  expect(snapshot(c.out)).toBe(before);
}, 90_000);

test("an ownership lock that is a FIFO does not block the daemon", async () => {
  const repo = makeGitRepo(sb.dir, "l-fifo");
  expect(Bun.spawnSync(["mkfifo", join(repo, ".git", "kasmos-daemon.lock")]).exitCode).toBe(0);
  const add = await sb.run(["daemon", "add", repo], { timeoutMs: 20_000 });
  expect(add.code, add.stderr).toBe(0);
  expect((await api(sb.socket, "GET", "/v1/status")).status).toBe(200);
}, 60_000);

describe("a task worktree folder that is a link", () => {
  let sb2: Sandbox;
  let daemon: Bun.Subprocess<"ignore", "pipe", "pipe">;
  afterAll(async () => {
    daemon?.kill("SIGKILL");
    await sb2?.cleanup();
  });

  test("the agent never runs in the link's target: the link is set aside and a real worktree made", async () => {
    sb2 = new Sandbox("khw-");
    const repo = makeGitRepo(sb2.dir, "esc");
    const victim = makeGitRepo(join(sb2.dir, "elsewhere"), "victim");
    const head = () => Bun.spawnSync(["git", "-C", victim, "rev-parse", "HEAD"]).stdout.toString().trim();
    const before = head();
    mkdirSync(join(repo, ".worktrees"));
    symlinkSync(victim, join(repo, ".worktrees", "plan-t1")); // what a repo can commit under .worktrees/
    sb2.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=0.3", `repos = ["${repo}"]`));
    daemon = await sb2.foreground();
    await createPlanned(sb2, repo, "t1", SMALL_PLAN);
    await waitFor(() => sb2.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE task = 't1' AND role != 'planner'")[0]!.n > 0, 30_000, "an agent for t1");
    const cwds = sb2.query<{ cwd: string }>("SELECT cwd FROM agents WHERE task = 't1'").map((r) => r.cwd);
    for (const cwd of cwds) expect(cwd).toBe(join(repo, ".worktrees", "plan-t1"));
    expect(Bun.spawnSync(["git", "-C", repo, "worktree", "list"]).stdout.toString()).toContain(join(repo, ".worktrees", "plan-t1"));
    expect(readdirSync(join(repo, ".worktrees")).some((n) => n.startsWith("plan-t1.stale-"))).toBe(true); // the link, set aside
    expect(head()).toBe(before);
    expect(Bun.spawnSync(["git", "-C", victim, "status", "--porcelain"]).stdout.toString()).toBe("");
  }, 90_000);
});

test("a repo's .kasmos/config.toml that is a link is not read: its target's settings do not apply", () => {
  const repo = makeGitRepo(sb.dir, "l-config");
  const target = join(sb.dir, "outside", "theirs.toml");
  writeFileSync(target, 'default_program = "/tmp/evil"\n');
  mkdirSync(join(repo, ".kasmos"));
  symlinkSync(target, join(repo, ".kasmos", "config.toml"));
  const r = loadRepoOverrides(repo);
  expect(r.overrides.default_program).toBeUndefined();
  expect(r.error).toMatch(/config\.toml: is a symbolic link/);
});
