// Registrations survive restarts; config repos are merged; reload via SIGHUP and the API.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

interface Status {
  repos: { project: string; path: string; source: string; problem: string | null }[];
  poll_interval_sec: number;
  last_reload: { ok: boolean; error: string | null; seq: number } | null;
}
const status = async (s: Sandbox): Promise<Status> => JSON.parse((await s.run(["daemon", "status", "--json"])).stdout) as Status;

describe("persistence", () => {
  test("repos added at run time survive a restart and merge with config repos; a missing config repo is reported, not fatal", async () => {
    const a = makeGitRepo(sb.dir, "a1");
    const c = makeGitRepo(sb.dir, "c1");
    const gone = join(sb.dir, "gone");
    sb.writeConfig(`repos = ["${c}", "${gone}"]\n`);
    expect((await sb.run(["daemon", "start"])).code).toBe(0);
    expect((await sb.run(["daemon", "add", a])).code).toBe(0);
    let st = await status(sb);
    expect(st.repos.map((r) => r.project).sort()).toEqual(["a1", "c1", "gone"]);
    expect(st.repos.find((r) => r.project === "gone")!.problem).toContain("does not exist");
    expect((await sb.run(["daemon", "status"])).stdout).toContain("does not exist");

    expect((await sb.run(["daemon", "stop"])).code).toBe(0);
    expect((await sb.run(["daemon", "start"])).code).toBe(0);
    st = await status(sb);
    expect(st.repos.map((r) => `${r.project}:${r.source}`).sort()).toEqual(["a1:api", "c1:config", "gone:config"]);

    // removed at run time → stays removed after restart
    expect((await sb.run(["daemon", "remove", a])).code).toBe(0);
    expect((await sb.run(["daemon", "stop"])).code).toBe(0);
    expect((await sb.run(["daemon", "start"])).code).toBe(0);
    st = await status(sb);
    expect(st.repos.map((r) => r.project).sort()).toEqual(["c1", "gone"]);
  });
});

describe("reload", () => {
  test("SIGHUP applies a changed poll_interval_sec and repos list; a broken file is refused while serving", async () => {
    const r1 = makeGitRepo(sb.dir, "r1");
    sb.writeConfig("poll_interval_sec = 2.0\n");
    const proc = await sb.foreground();
    expect((await status(sb)).poll_interval_sec).toBe(2);

    sb.writeConfig(`poll_interval_sec = 0.5\nrepos = ["${r1}"]\n`);
    const rl = await sb.run(["daemon", "reload"]);
    expect(rl.code).toBe(0);
    expect(rl.stdout).toContain("daemon reloaded, 2 changes:\n");
    expect(rl.stdout).toContain("  poll_interval_sec: 2 → 0.5\n");
    expect(rl.stdout).toContain(`  repos: [] → ["${r1}"]\n`);
    let st = await status(sb);
    expect(st.poll_interval_sec).toBe(0.5);
    expect(st.repos.map((r) => r.project)).toEqual(["r1"]);

    // raw SIGHUP (what systemd's ExecReload would send)
    sb.writeConfig("poll_interval_sec = 3\n");
    process.kill(proc.pid, "SIGHUP");
    await waitFor(async () => (await status(sb)).poll_interval_sec === 3, 5000, "SIGHUP reload");
    expect((await status(sb)).repos).toEqual([]);

    sb.writeConfig("poll_interval_sec = [\n");
    const bad = await sb.run(["daemon", "reload"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("reload refused, previous config kept");
    expect(bad.stderr).toContain(sb.configPath);
    st = await status(sb);
    expect(st.poll_interval_sec).toBe(3);
    expect(st.last_reload?.ok).toBe(false);

    sb.writeConfig("max_review_fix_cycles = -1\n");
    const viaApi = await api(sb.socket, "POST", "/v1/reload");
    expect(viaApi.status).toBe(400);
    expect(String(viaApi.json.error)).toContain('key "max_review_fix_cycles"');
    expect((await api(sb.socket, "GET", "/v1/ping")).status).toBe(200);

    sb.writeConfig("poll_interval_sec = 1\n");
    const ok = await api(sb.socket, "POST", "/v1/reload");
    expect(ok.status).toBe(200);
    expect(ok.json.status).toBe("reloaded");
    expect((await status(sb)).poll_interval_sec).toBe(1);

    // --json, default_program, [agents] and a secret (masked, still shown as changed)
    sb.writeConfig(`poll_interval_sec = 1\ndefault_program = "claude"\n[agents.coder]\nmodel = "claude-opus-5-5"\n[notify]\nwebhook = "https://u:hunter2pass@hooks.example/x"\n`);
    const js = await sb.run(["daemon", "reload", "--json"]);
    expect(js.code, js.stderr).toBe(0);
    const out = JSON.parse(js.stdout) as { status: string; changes: string[] };
    expect(out.status).toBe("reloaded");
    expect(out.changes).toContain('default_program: "" → "claude"');
    expect(out.changes.some((c) => c.startsWith("agents.coder") && c.includes("claude-opus-5-5"))).toBe(true);
    expect(out.changes.some((c) => c.startsWith("notify.webhook"))).toBe(true);
    expect(js.stdout).not.toContain("hunter2pass");
    const same = await sb.run(["daemon", "reload"]);
    expect(same.stdout.trim()).toBe("daemon reloaded: no changes");

    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const log = await new Response(proc.stderr).text();
    expect(log).toContain("reload (SIGHUP) refused");
  });
});
