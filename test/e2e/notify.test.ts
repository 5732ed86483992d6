// Notifications end to end (compiled daemon, a loopback webhook, a command channel): exactly one per
// attention item plus one reminder, retries after 500s, valid JSON on a command's stdin, and a webhook
// that hangs never holds up signal processing.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
let hook: ReturnType<typeof Bun.serve> | null = null;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  hook?.stop(true);
  hook = null;
  await sb.cleanup();
});

const SMALL = "## Wave 1: a\n### Task 1: x\ny\n";

describe("notifications", () => {
  test("a stuck agent: one notification through webhook (after two 500s) and command, one reminder, nothing more", async () => {
    const got: { status: number; body: unknown }[] = [];
    hook = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const body = (await req.json()) as unknown;
        const status = got.filter((g) => g.status === 500).length < 2 ? 500 : 200;
        got.push({ status, body });
        return new Response(status === 200 ? "ok" : "boom", { status });
      },
    });
    const repo = makeGitRepo(sb.dir, "web");
    const out = join(sb.dir, "cmd.jsonl");
    writeFileSync(join(sb.dir, "p.md"), SMALL);
    sb.writeConfig(
      `poll_interval_sec = 0.2\ndefault_program = "sh -c 'exit 3'"\n[notify]\nwebhook = "http://127.0.0.1:${hook.port}/hook"\ncommand = "sh -c 'cat >> ${out}'"\nreminder_after_sec = 6\nkinds = ["stuck"]\n`,
    );
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "b", "--plan", join(sb.dir, "p.md")], { cwd: repo });
    await sb.run(["task", "transition", "b", "implement_start"], { cwd: repo });
    await waitFor(() => got.filter((g) => g.status === 200).length === 2, 30_000, "the notification and its reminder");
    await Bun.sleep(3000); // no more come
    const ok = got.filter((g) => g.status === 200).map((g) => g.body as { kind: string; task: string; reminder: boolean; attention: string });
    expect(ok.map((b) => [b.kind, b.task, b.reminder])).toEqual([["stuck", "b", false], ["stuck", "b", true]]);
    expect(ok[0]!.attention).toContain("without its signal");
    expect(got.length).toBe(4); // 500, 500, 200, reminder 200
    const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { kind: string; project: string; reminder: boolean });
    expect(lines.map((l) => [l.kind, l.project, l.reminder])).toEqual([["stuck", "web", false], ["stuck", "web", true]]);
    const sent = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'notify_sent'");
    expect(sent.length).toBe(4);
    expect(sent.some((s) => s.message.includes("(attempt 3)"))).toBe(true);
    // kas notify test goes through every channel
    const t = await sb.run(["notify", "test"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("ok   webhook");
    expect(t.stdout).toContain("ok   command");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 90_000);

  test("a webhook that hangs does not hold up signal processing", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let pending = 0;
    hook = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 60,
      async fetch() {
        pending++;
        await held;
        return new Response("late");
      },
    });
    const repo = makeGitRepo(sb.dir, "web");
    writeFileSync(join(sb.dir, "p.md"), SMALL);
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'exit 3'"\nauto_review_fix = false\n[notify]\nwebhook = "http://127.0.0.1:${hook.port}/hook"\nkinds = ["stuck"]\n`);
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "b", "--plan", join(sb.dir, "p.md")], { cwd: repo });
    await sb.run(["task", "transition", "b", "implement_start"], { cwd: repo });
    await waitFor(() => pending > 0, 30_000, "the webhook to be called (and hang)");
    // Meanwhile another task moves through a signal file.
    await sb.run(["task", "create", "c"], { cwd: repo });
    const sig = join(repo, ".kasmos", "signals");
    mkdirSync(sig, { recursive: true });
    expect((await sb.run(["task", "transition", "c", "plan_start"], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "plan", "c", "--file", join(sb.dir, "p.md")], { cwd: repo })).code).toBe(0); // as its planner would
    writeFileSync(join(sig, ".tmp"), "");
    renameSync(join(sig, ".tmp"), join(sig, "planner-finished-c"));
    await waitFor(() => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 'c'")[0]?.status === "ready", 10_000, "c's signal to be applied while the webhook hangs");
    expect(pending).toBeGreaterThan(0); // still hanging: the signal did not wait for it
    release();
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});
