// `kas daemon gc` with the compiled daemon: a dry run reports and removes nothing; a real run removes
// the old history of a long-done task (the store file shrinks), its prompt files, and the worktrees of
// done tasks whose branch is merged or pushed, while a dirty worktree and an unpushed branch are kept and
// reported. /v1/metrics counters stay where they were, also after a daemon restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GcReport } from "../../src/api/gc.ts";
import { openStore } from "../../src/store/db.ts";
import { seedHistory, seedTask } from "../helpers/history.ts";
import { makeGitRepo, ping, Sandbox } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
const storeFile = () => join(sb.configDir, "kasmos.db");

function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-C", cwd, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

/** The task's worktree on a new branch from main; `commit` adds a commit on it. */
function worktree(name: string, commit: boolean): string {
  const path = join(repo, ".worktrees", `plan-${name}`);
  git(repo, "worktree", "add", "-q", "-b", `plan/${name}`, path, "main");
  if (commit) {
    writeFileSync(join(path, `${name}.txt`), `${name}\n`);
    git(path, "add", ".");
    git(path, "commit", "-q", "-m", name);
  }
  return path;
}

/** Sum of kasmos_signals_total and kasmos_transitions_total. */
async function counters(): Promise<{ signals: number; transitions: number }> {
  const text = await (await fetch("http://kasmos/v1/metrics", { unix: sb.socket })).text();
  const sum = (name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`)).reduce((a, l) => a + Number(l.split(" ").pop()), 0);
  return { signals: sum("kasmos_signals_total"), transitions: sum("kasmos_transitions_total") };
}

async function gc(...args: string[]): Promise<GcReport> {
  const r = await sb.run(["daemon", "gc", "--json", ...args], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kas daemon gc ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as GcReport;
}

beforeAll(() => {
  sb = new Sandbox("kgc-");
  repo = makeGitRepo(sb.dir, "shop");
  const remote = join(sb.dir, "remote.git");
  git(sb.dir, "init", "-q", "--bare", remote);
  git(repo, "remote", "add", "origin", remote);
  worktree("merged", false); // nothing beyond main: merged
  const pushed = worktree("pushed", true);
  git(pushed, "push", "-q", "origin", "plan/pushed");
  const dirty = worktree("dirty", false);
  writeFileSync(join(dirty, "notes.txt"), "work in progress\n");
  worktree("local", true); // a commit that is nowhere else
  worktree("recent", false); // done yesterday: inside the grace period

  const db = openStore(storeFile());
  for (const t of ["merged", "pushed", "dirty", "local"]) seedTask(db, "shop", t, "done", 30);
  seedTask(db, "shop", "recent", "done", 1);
  seedTask(db, "shop", "old", "done", 200);
  seedTask(db, "shop", "active", "implementing", null);
  seedHistory(db, "shop", "old", 8000, 150);
  seedHistory(db, "shop", "active", 20, 150);
  seedHistory(db, "shop", "merged", 2, 20);
  db.close();
  const prompts = join(sb.configDir, "prompts", "shop");
  mkdirSync(prompts, { recursive: true });
  for (const t of ["merged", "dirty"]) writeFileSync(join(prompts, `${t}-coder.md`), "prompt\n");
  for (const t of ["merged", "dirty"]) {
    mkdirSync(join(sb.configDir, "run", "shop", `${t}-coder`), { recursive: true });
    writeFileSync(join(sb.configDir, "run", "shop", `${t}-coder`, "exit-status"), "0\n");
  }

  sb.writeConfig([`repos = ["${repo}"]`, "poll_interval_sec = 0.5", "auto_create_pr = false", "[retention]", "days = 90", "worktree_grace_days = 7"].join("\n"));
});

afterAll(async () => {
  await sb.cleanup();
});

describe("kas daemon gc", () => {
  test("without a daemon: one clear line, exit 1; unknown options refused", async () => {
    const r = await sb.run(["daemon", "gc"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("daemon not running");
    const bad = await sb.run(["daemon", "gc", "--dryrun"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--dry-run");
  });

  test("dry run reports, real run removes; kept worktrees reported; counters never drop", async () => {
    let daemon = await sb.foreground();
    const before = await counters();
    expect(before.signals).toBe(8022);
    const rows = () => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM signals")[0]!.n;
    const nSignals = rows();
    const sizeBefore = statSync(storeFile()).size;

    const dry = await gc("--dry-run");
    expect(dry.dry_run).toBe(true);
    expect(dry.removed.signals).toBeGreaterThanOrEqual(7999); // the newest row of a table always stays
    expect(dry.removed.agents).toBe(1);
    expect(dry.removed.prompt_files).toBe(1); // merged's; dirty's stays with its worktree
    expect(dry.removed.run_folders).toBe(1); // the same
    expect(dry.worktrees_removed.map((w) => w.task).sort()).toEqual(["merged", "pushed"]);
    const kept = Object.fromEntries(dry.worktrees_kept.map((w) => [w.task, w.reason]));
    expect(kept.dirty).toContain("uncommitted work");
    expect(kept.dirty).toContain("notes.txt");
    expect(kept.local).toContain("neither pushed nor merged");
    expect(Object.keys(kept).sort()).toEqual(["dirty", "local"]);
    expect(rows()).toBe(nSignals);
    expect(existsSync(join(repo, ".worktrees", "plan-merged"))).toBe(true);

    const text = await sb.run(["daemon", "gc", "--dry-run"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("dry run: would remove");
    expect(text.stdout).toContain("worktrees kept (2):");

    // Trust entries preflight added for the task worktrees (Claude Code and codex), among the user's own settings.
    const wt = (t: string) => join(repo, ".worktrees", `plan-${t}`);
    const claudeJson = join(sb.home, ".claude.json");
    writeFileSync(claudeJson, `${JSON.stringify({ hasCompletedOnboarding: true, projects: { "/mine": { allowedTools: ["x"] }, [wt("merged")]: { hasTrustDialogAccepted: true }, [wt("dirty")]: { hasTrustDialogAccepted: true } } }, null, 2)}\n`);
    chmodSync(claudeJson, 0o640);
    mkdirSync(join(sb.home, ".codex"), { recursive: true });
    const codexToml = join(sb.home, ".codex", "config.toml");
    const userToml = `# mine\nmodel_provider = "x"\n\n[projects."/mine"]\ntrust_level = "trusted"\n`;
    const entry = (t: string) => `\n[projects.${JSON.stringify(wt(t))}]\ntrust_level = "trusted"\n`;
    writeFileSync(codexToml, `${userToml}${entry("merged")}${entry("dirty")}${entry("pushed")}`);

    // The API keeps answering while gc works through its batches.
    let done = false;
    let answered = 0;
    const running = gc().finally(() => {
      done = true;
    });
    for (let i = 0; i < 10_000 && !done; i++) if (await ping(sb.socket)) answered++;
    const real = await running;
    expect(answered).toBeGreaterThan(0);
    expect(real.dry_run).toBe(false);
    expect(real.removed.signals).toBe(dry.removed.signals);
    expect(real.removed.audit).toBe(dry.removed.audit);
    expect(real.worktrees_removed.map((w) => w.task).sort()).toEqual(["merged", "pushed"]);
    expect(real.vacuum).toBe("incremental");
    expect(real.bytes_after).toBeLessThan(real.bytes_before / 2);
    expect(rows()).toBe(nSignals - real.removed.signals);
    // The active task's old history is all there.
    expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM signals WHERE task = 'active'")[0]!.n).toBe(20);
    expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE task = 'active'")[0]!.n).toBe(20);
    for (const t of ["merged", "pushed"]) expect(existsSync(join(repo, ".worktrees", `plan-${t}`))).toBe(false);
    for (const t of ["dirty", "local", "recent"]) expect(existsSync(join(repo, ".worktrees", `plan-${t}`))).toBe(true);
    expect(git(repo, "worktree", "list")).not.toContain("plan-merged");
    expect(git(repo, "branch", "--list", "plan/merged")).toContain("plan/merged"); // branches are kept
    // Their trust entries went with them; the rest of each file is as it was (mode too).
    const projects = (JSON.parse(readFileSync(claudeJson, "utf8")) as { projects: Record<string, unknown> }).projects;
    expect(Object.keys(projects).sort()).toEqual(["/mine", wt("dirty")].sort());
    expect(statSync(claudeJson).mode & 0o777).toBe(0o640);
    expect(readFileSync(codexToml, "utf8")).toBe(`${userToml}${entry("dirty")}`);
    expect(existsSync(join(sb.configDir, "prompts", "shop", "merged-coder.md"))).toBe(false);
    expect(existsSync(join(sb.configDir, "prompts", "shop", "dirty-coder.md"))).toBe(true);
    expect(existsSync(join(sb.configDir, "run", "shop", "merged-coder"))).toBe(false);
    expect(existsSync(join(sb.configDir, "run", "shop", "dirty-coder", "exit-status"))).toBe(true);
    const audit = sb.query<{ kind: string; task: string }>("SELECT kind, task FROM audit_events WHERE kind IN ('gc', 'worktree_kept', 'worktree_removed') ORDER BY id");
    expect(audit.filter((a) => a.kind === "worktree_kept").map((a) => a.task).sort()).toEqual(["dirty", "local"]);
    expect(audit.filter((a) => a.kind === "worktree_removed").map((a) => a.task).sort()).toEqual(["merged", "pushed"]);
    expect(audit.filter((a) => a.kind === "gc").length).toBe(1);
    expect(await counters()).toEqual(before);

    // A second run finds nothing more and reports the kept worktrees again (one audit row each per daemon run).
    const again = await gc();
    expect(again.removed.signals).toBe(0);
    expect(again.worktrees_kept.length).toBe(2);
    expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'worktree_kept'")[0]!.n).toBe(2);

    // Restart: the counters come from the store again, folded totals included.
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    expect(statSync(storeFile()).size).toBeLessThan(sizeBefore / 2);
    daemon = await sb.foreground();
    expect(await counters()).toEqual(before);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  });
});
