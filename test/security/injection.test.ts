// Shell injection: a task description and review feedback full of shell metacharacters flow into agent
// prompts. They must land verbatim in the prompt FILE, never on the agent's command line and never be
// evaluated by a shell (marker files stay absent).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

const TAG = `${process.pid}-${Date.now()}`;
const M = (n: number) => `/tmp/pwned-${TAG}-${n}`;
const MARKS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(M);
const DESCRIPTION = `desc $(touch ${M(1)}) \`touch ${M(2)}\`; touch ${M(3)} && touch ${M(4)} | touch ${M(5)} 'q' "dq" \\ $HOME \${IFS}\n;rm -rf /nonexistent-${TAG}; -- end`;
const FEEDBACK = `please fix $(touch ${M(6)}) \`touch ${M(7)}\` ; touch ${M(8)}\n";touch ${M(9)};" '$(touch ${M(10)})' ;rm -rf /nonexistent-${TAG}`;
const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n";

let sb: Sandbox;
let repo: string;
let sig: string;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;

function q<T>(sql: string, ...p: string[]): T[] {
  const d = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
  try {
    return d.query(sql).all(...p) as T[];
  } finally {
    d.close();
  }
}

function running(title: string): { program: string; session: string } | undefined {
  return q<{ program: string; session: string }>("SELECT program, session FROM agents WHERE title = ? AND state = 'running'", title)[0];
}

function paneStartCommands(): string {
  const r = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-panes", "-a", "-F", "#{session_name} #{pane_start_command}"], { stdout: "pipe", stderr: "pipe" });
  return r.stdout.toString();
}

function drop(name: string, body = ""): void {
  mkdirSync(sig, { recursive: true });
  writeFileSync(join(sig, `.tmp-${name}`), body);
  renameSync(join(sig, `.tmp-${name}`), join(sig, name));
}

beforeAll(async () => {
  for (const m of MARKS) rmSync(m, { force: true });
  sb = new Sandbox();
  repo = makeGitRepo(sb.dir, "proj");
  sig = join(repo, ".kasmos", "signals");
  // A fake agent that only shows its prompt file and idles (generic adapter: the file path is $1).
  const agent = join(sb.dir, "cat-agent.sh");
  writeFileSync(agent, '#!/bin/sh\ncat "$1"\nexec sleep 600\n');
  chmodSync(agent, 0o755);
  sb.writeConfig(`poll_interval_sec = 0.2\nauto_review_fix = true\nrepos = ["${repo}"]\ndefault_program = "${agent}"\n`);
  proc = await sb.foreground();
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  await sb?.cleanup();
  for (const m of MARKS) rmSync(m, { force: true });
});

describe("bodies never reach a shell or an argv", () => {
  test("task description → planner prompt file verbatim; not in argv; nothing executed", async () => {
    const c = await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name: "inj", description: DESCRIPTION });
    expect(c.status).toBe(201);
    expect((await api(sb.socket, "POST", "/v1/repos/proj/tasks/inj/transition", { event: "plan_start" })).status).toBe(200);
    await waitFor(() => running("inj-plan") !== undefined, 20_000, "planner to start");
    const promptFile = join(sb.configDir, "prompts", "proj", "inj-plan.md");
    expect(readFileSync(promptFile, "utf8")).toContain(DESCRIPTION);
    const a = running("inj-plan")!;
    expect(a.program).not.toContain("touch");
    expect(a.program).toContain(promptFile);
    await waitFor(() => paneStartCommands().includes(a.session), 5000, "pane listed");
    const starts = paneStartCommands();
    expect(starts).not.toContain("touch");
    expect(starts).not.toContain("pwned");
    await Bun.sleep(500);
    for (const m of MARKS) expect(existsSync(m)).toBe(false);
  }, 40_000);

  test("review feedback → fixer prompt file verbatim; not in argv; nothing executed", async () => {
    writeFileSync(join(sb.dir, "plan.md"), PLAN);
    expect((await sb.run(["task", "plan", "inj", "--file", join(sb.dir, "plan.md")], { cwd: repo })).code).toBe(0); // as its planner would
    drop("planner-finished-inj");
    await waitFor(() => q<{ status: string }>("SELECT status FROM tasks WHERE name = 'inj'")[0]?.status === "ready", 15_000, "ready");
    expect((await api(sb.socket, "POST", "/v1/repos/proj/tasks/inj/transition", { event: "implement_start" })).status).toBe(200);
    await waitFor(() => running("inj-coder") !== undefined, 20_000, "coder to start");
    drop("implement-finished-inj");
    await waitFor(() => running("inj-review-1") !== undefined, 20_000, "reviewer to start");
    drop("review-changes-inj", FEEDBACK);
    await waitFor(() => running("inj-fix-1") !== undefined, 20_000, "fixer to start");
    const promptFile = join(sb.configDir, "prompts", "proj", "inj-fix-1.md");
    expect(readFileSync(promptFile, "utf8")).toContain(FEEDBACK.trim());
    const a = running("inj-fix-1")!;
    expect(a.program).not.toContain("touch");
    await waitFor(() => paneStartCommands().includes(a.session), 5000, "pane listed");
    expect(paneStartCommands()).not.toContain("touch");
    // /proc cmdline of every process on the sandbox's tmux server: no body anywhere.
    const pids = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-panes", "-a", "-F", "#{pane_pid}"]).stdout.toString().trim().split("\n").filter(Boolean);
    for (const pid of pids) {
      let cmd = "";
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      expect(cmd).not.toContain("touch");
    }
    // The pane shows the prompt text literally (cat), i.e. it arrived as data.
    const cap = await api(sb.socket, "GET", "/v1/repos/proj/instances/inj-fix-1/capture");
    expect(cap.status).toBe(200);
    await Bun.sleep(500);
    for (const m of MARKS) expect(existsSync(m)).toBe(false);
  }, 90_000);

  test("text sent to an agent (send route) is typed, not run by the daemon", async () => {
    const r = await api(sb.socket, "POST", "/v1/repos/proj/instances/inj-fix-1/send", { prompt: `$(touch ${M(1)}); touch ${M(2)}` });
    expect(r.status).toBe(204);
    await Bun.sleep(500);
    // The fake agent is `sleep`, so nothing reads the line; the daemon must not have run it either.
    expect(existsSync(M(1))).toBe(false);
    expect(existsSync(M(2))).toBe(false);
  });

  test("named adapters (claude, opencode, codex) pass only a pointer to the prompt file, never the prompt text", async () => {
    const { buildCommand } = await import("../../src/agents/programs.ts");
    const secret = "feedback $(touch /tmp/x) with secrets";
    for (const program of ["claude", "opencode", "codex"]) {
      const { argv } = buildCommand({ program, flags: [], model: "", skipPermissions: true }, { promptFile: "/p/prompt.md" });
      expect(argv.join(" ")).not.toContain("secrets");
      expect(argv.join(" ")).toContain("/p/prompt.md");
    }
  });
});
