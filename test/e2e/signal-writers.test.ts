// Signal files as real writers produce them (regressions of the robustness pass): a shell redirect
// opens the file empty and writes later — the body must not be lost; CRLF bodies reach the store as LF.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const PLAN = "## Wave 1: a\n### Task 1: x\ny\n";
const row = (name: string) => sb.query<{ status: string; latest_feedback: string; review_cycle: number }>("SELECT status, latest_feedback, review_cycle FROM tasks WHERE name = ?", name)[0];

function drop(dir: string, name: string, body = ""): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `.tmp-${name}`), body);
  renameSync(join(dir, `.tmp-${name}`), join(dir, name));
}

async function reviewing(repo: string, sig: string, names: string[]): Promise<void> {
  writeFileSync(join(sb.dir, "p.md"), PLAN);
  for (const n of names) {
    expect((await sb.run(["task", "create", n, "--plan", join(sb.dir, "p.md")], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", n, "implement_start"], { cwd: repo })).code).toBe(0);
    drop(sig, `implement-finished-${n}`);
  }
  await waitFor(() => names.every((n) => row(n)?.status === "reviewing"), 15_000, "tasks in reviewing");
}

describe("signal writers", () => {
  test("a body written after the file was created empty (shell redirect with a delay) is not lost: 20 of 20", async () => {
    const repo = makeGitRepo(sb.dir, "w");
    const sig = join(repo, ".kasmos", "signals");
    sb.writeConfig("poll_interval_sec = 0.5\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    const names = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await reviewing(repo, sig, names);
    // Exactly the reported writer: the shell opens (creates) the file, the text comes 50 ms later.
    await Promise.all(names.map((n) => Bun.spawn(["sh", "-c", `(sleep 0.05; echo 'Fix the off-by-one in ${n}') > ${sig}/review-changes-${n}`]).exited));
    await waitFor(() => names.every((n) => row(n)?.status === "implementing"), 20_000, "all change requests applied");
    for (const n of names) expect(row(n)!.latest_feedback).toBe(`Fix the off-by-one in ${n}`);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);

  test("a body written in pieces (the writer keeps the file open between them) is taken whole, once the writer closed it: 9 of 9", async () => {
    const repo = makeGitRepo(sb.dir, "w");
    const sig = join(repo, ".kasmos", "signals");
    sb.writeConfig("poll_interval_sec = 0.5\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    const names = Array.from({ length: 9 }, (_, i) => `p${i}`);
    await reviewing(repo, sig, names);
    // The reported writer: the first line lands at once, the rest 20 ms later, the shell holding the file open.
    await Promise.all(names.map((n) => Bun.spawn(["sh", "-c", `{ echo Findings:; sleep 0.02; echo "1. fix ${n}"; sleep 0.3; echo "2. and test it"; } > ${sig}/review-changes-${n}`]).exited));
    await waitFor(() => names.every((n) => row(n)?.status === "implementing"), 20_000, "all change requests applied");
    for (const n of names) expect(row(n)!.latest_feedback).toBe(`Findings:\n1. fix ${n}\n2. and test it`);
    // A writer opening a file while the daemon holds its lease (microseconds) sends it SIGIO: survived.
    process.kill(daemon.pid, "SIGIO");
    await Bun.sleep(200);
    expect(await ping(sb.socket)).toBe(true);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);

  test("a writer that never closes the file does not hold the queue: its signal is taken after a bound, and logged", async () => {
    const repo = makeGitRepo(sb.dir, "w");
    const sig = join(repo, ".kasmos", "signals");
    sb.writeConfig("poll_interval_sec = 0.5\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await reviewing(repo, sig, ["stuck", "other"]);
    const writer = Bun.spawn(["sh", "-c", `{ echo "Fix it"; exec sleep 60; } > ${sig}/review-changes-stuck`]);
    sb.track(writer.pid);
    await waitFor(() => existsSync(join(sig, "review-changes-stuck")), 5_000, "the file");
    const t0 = Date.now();
    drop(sig, "review-changes-other", "Other fix"); // not held up behind it
    await waitFor(() => row("other")?.status === "implementing", 10_000, "the other signal");
    expect(Date.now() - t0).toBeLessThan(3_000);
    await waitFor(() => row("stuck")?.status === "implementing", 30_000, "the held-open signal after its bound");
    expect(row("stuck")!.latest_feedback).toBe("Fix it");
    writer.kill("SIGKILL");
    daemon.kill("SIGTERM");
    await daemon.exited;
    expect(await new Response(daemon.stderr).text()).toContain("still open for writing");
  }, 60_000);

  test("an empty review-changes file whose mtime is a moment ahead of the daemon's clock (created after the scan read it) waits for its body", async () => {
    // The race CI met: the scan read its clock, then a shell redirect created the file; the mtime was
    // "in the future" and the empty file was taken at once, before the shell wrote the body.
    const repo = makeGitRepo(sb.dir, "w");
    const sig = join(repo, ".kasmos", "signals");
    sb.writeConfig("poll_interval_sec = 0.5\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await reviewing(repo, sig, ["ahead", "far"]);
    const file = join(sig, "review-changes-ahead");
    writeFileSync(file, "");
    const soon = (Date.now() + 300) / 1000;
    utimesSync(file, soon, soon);
    await Bun.sleep(200); // well inside the 1 s an empty body is given
    writeFileSync(file, "Fix the parser");
    await waitFor(() => row("ahead")?.status === "implementing", 10_000, "the change request applied");
    expect(row("ahead")!.latest_feedback).toBe("Fix the parser");
    // An mtime an hour ahead is a clock jump, not a young file: it still goes through.
    const far = join(sig, "review-changes-far");
    writeFileSync(far, "Rename it");
    utimesSync(far, Date.now() / 1000 + 3600, Date.now() / 1000 + 3600);
    await waitFor(() => row("far")?.status === "implementing", 10_000, "the far-future change request applied");
    expect(row("far")!.latest_feedback).toBe("Rename it");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);

  test("an empty review-changes file left empty on purpose still goes through within about a second; CRLF bodies become LF", async () => {
    const repo = makeGitRepo(sb.dir, "w");
    const sig = join(repo, ".kasmos", "signals");
    sb.writeConfig("poll_interval_sec = 0.5\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await reviewing(repo, sig, ["empty", "crlf"]);
    const t0 = Date.now();
    writeFileSync(join(sig, "review-changes-empty"), "");
    drop(sig, "review-changes-crlf", "Review round 1\r\n- fix a\r\n- fix b\r\n");
    await waitFor(() => row("empty")?.status === "implementing" && row("crlf")?.status === "implementing", 10_000, "both applied");
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(row("empty")!.latest_feedback).toBe("");
    expect(row("crlf")!.latest_feedback).toBe("Review round 1\n- fix a\n- fix b");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);

  test("registering a repo leaves its git status clean: kasmos's folders are excluded, quarantined files too", async () => {
    const repo = makeGitRepo(sb.dir, "clean");
    sb.writeConfig("poll_interval_sec = 0.5\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    writeFileSync(join(repo, ".kasmos", "signals", "not-a-signal"), "x"); // quarantined into failed/ with a .reason
    await waitFor(() => sb.query("SELECT * FROM audit_events WHERE kind = 'signal_quarantined'").length > 0, 10_000, "the quarantine");
    const st = Bun.spawnSync(["git", "-C", repo, "status", "--porcelain", "--untracked-files=all"]).stdout.toString();
    expect(st).toBe("");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 30_000);

  test("a user's own folder under .worktrees/ (not a git worktree) is left alone; real worktrees are scanned", async () => {
    const repo = makeGitRepo(sb.dir, "wt");
    mkdirSync(join(repo, ".worktrees", "notes"), { recursive: true });
    writeFileSync(join(repo, ".worktrees", "notes", "todo.txt"), "mine");
    Bun.spawnSync(["git", "-C", repo, "worktree", "add", "-q", ".worktrees/plan-t", "-b", "plan/t"]);
    sb.writeConfig("poll_interval_sec = 0.2\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await reviewing(repo, join(repo, ".worktrees", "plan-t", ".kasmos", "signals"), ["t"]); // its signal came from the real worktree
    await Bun.sleep(600);
    expect(existsSync(join(repo, ".worktrees", "notes", ".kasmos"))).toBe(false);
    expect(existsSync(join(repo, ".worktrees", "plan-t", ".kasmos", "signals"))).toBe(true);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 30_000);

  test("quarantined files are kept within [retention]: at most quarantine_max_files, none older than days", async () => {
    const repo = makeGitRepo(sb.dir, "ret");
    const failed = join(repo, ".kasmos", "signals", "failed");
    mkdirSync(failed, { recursive: true });
    const old = new Date(Date.now() - 40 * 86_400_000);
    for (let i = 0; i < 30; i++) {
      const at = i < 5 ? old : new Date(Date.now() - (30 - i) * 1000); // distinct ages, oldest first
      for (const f of [`bad-${i}`, `bad-${i}.reason`]) {
        writeFileSync(join(failed, f), "x");
        utimesSync(join(failed, f), at, at);
      }
    }
    sb.writeConfig("poll_interval_sec = 0.1\n[retention]\ndays = 30\nquarantine_max_files = 20\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await waitFor(() => readdirSync(failed).length === 40, 30_000, "the quarantine to be pruned to 20 signals");
    const left = readdirSync(failed).filter((f) => !f.endsWith(".reason")).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
    expect(left).toEqual(Array.from({ length: 20 }, (_, i) => `bad-${i + 10}`)); // the 5 expired and the 5 oldest of the rest went
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});
