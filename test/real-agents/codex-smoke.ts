// Smoke: the REAL codex CLI runs a kasmos wave-coder prompt unattended against the loopback Responses
// model and drops the completion signal. Run: bun test/real-agents/codex-smoke.ts
// Env: CODEX_BIN (default /tmp/clis/node_modules/.bin/codex), KEEP_TMP=1 keeps the temp dir.
// Only loopback: codex's provider points at 127.0.0.1; its update check is off.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildPrompt } from "../../src/agents/prompts.ts";
import type { Scenario } from "./model/brain.ts";
import { startResponsesModel } from "./model/responses.ts";

const CODEX = process.env.CODEX_BIN ?? "/tmp/clis/node_modules/.bin/codex";
const WAIT_MS = 90_000;
const API_KEY_ENV = "KASMOS_LOOPBACK_API_KEY";

function run(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): { code: number; out: string } {
  const p = Bun.spawnSync(argv, { cwd: opts.cwd, env: opts.env ?? (process.env as Record<string, string>), stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: `${p.stdout.toString()}${p.stderr.toString()}` };
}

function must(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
  const r = run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.out}`);
  return r.out;
}

function tomlString(s: string): string {
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * What kasmos must do before starting codex in `folder` (NOT a fixture shortcut): codex 0.169 shows
 * "Trust this folder?" in every unseen folder, even with --dangerously-bypass-approvals-and-sandbox,
 * and -c 'projects."<p>".trust_level=…' does not count. Accepting writes exactly this table to
 * $CODEX_HOME/config.toml. codex keys it by the realpath of the cwd; for a subdirectory or a linked
 * worktree (<repo>/.worktrees/x) the dialog offers the MAIN repository root, but an entry for the
 * exact cwd is honoured as well. Trust both so either lookup hits.
 */
export function preflightLikeKasmos(codexHome: string, cwd: string): string[] {
  const file = join(codexHome, "config.toml");
  const folders = new Set<string>([realpathSync(cwd)]);
  const common = run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd });
  if (common.code === 0) {
    const gitDir = common.out.trim();
    if (gitDir.endsWith("/.git")) folders.add(realpathSync(dirname(gitDir)));
  }
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const added: string[] = [];
  for (const f of folders) {
    const header = `[projects.${tomlString(f)}]`;
    if (text.includes(header)) continue;
    text = `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}\n${header}\ntrust_level = "trusted"\n`;
    added.push(f);
  }
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(file, text);
  return added;
}

/** The panes' process ids and all their descendants (to check nothing outlives the session). */
function descendants(roots: number[]): number[] {
  const ps = run(["ps", "-eo", "pid=,ppid="]).out;
  const children = new Map<number, number[]>();
  for (const line of ps.split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || Number.isNaN(pid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const p = queue.shift();
    if (p === undefined) break;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function findFiles(dir: string, pred: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, pred));
    else if (pred(e.name)) out.push(p);
  }
  return out;
}

async function main(): Promise<number> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "kasmos-codex-smoke-")));
  const home = join(root, "home");
  const codexHome = join(home, ".codex");
  const repo = join(root, "repo");
  const socket = `kasmos-codex-smoke-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => run(["tmux", "-L", socket, ...args]);
  const usage = { input_tokens: 1000, output_tokens: 50, cached_input_tokens: 200, reasoning_output_tokens: 7 };
  const scenario: Scenario = { plan: "# Plan\n\n## Wave 1\n\n### Task 1: Greeting file\nCreate greeting.txt\n" };
  const model = await startResponsesModel({ scenario, usage });
  let ok = false;
  let panePids: number[] = [];
  const t0 = Date.now();
  try {
    // A user's setup: a custom provider and its API key in the environment. Nothing else.
    mkdirSync(codexHome, { recursive: true });
    writeFileSync(
      join(codexHome, "config.toml"),
      [
        `model_provider = "loopback"`,
        `model = "loopback-model"`,
        `check_for_update_on_startup = false`,
        ``,
        `[model_providers.loopback]`,
        `name = "Loopback"`,
        `base_url = ${tomlString(model.url)}`,
        `wire_api = "responses"`,
        `env_key = "${API_KEY_ENV}"`,
        ``,
      ].join("\n"),
    );

    // A repository with one commit.
    mkdirSync(repo, { recursive: true });
    const gitEnv = { ...(process.env as Record<string, string>), HOME: home };
    must(["git", "init", "-q", "-b", "main"], { cwd: repo, env: gitEnv });
    writeFileSync(join(repo, "README.md"), "# demo\n");
    must(["git", "add", "README.md"], { cwd: repo, env: gitEnv });
    must(["git", "-c", "user.name=t", "-c", "user.email=t@loopback.test", "commit", "-q", "-m", "init"], { cwd: repo, env: gitEnv });

    // The prompt file, outside the repo as kasmos keeps it (<config>/prompts/<project>/<title>.md).
    const task = "greet";
    const prompt = buildPrompt({
      role: "coder",
      mode: "wave",
      project: "demo",
      task,
      repoPath: repo,
      worktreePath: repo,
      branch: "main",
      description: "Add a greeting file",
      waveNumber: 1,
      taskNumber: 1,
      taskTitle: "Greeting file",
      taskBody: "Create greeting.txt",
      peers: 0,
      headerContext: "**Goal:** greet",
    });
    const promptFile = join(root, "config", "prompts", "demo", "greet-w1-t1.md");
    mkdirSync(dirname(promptFile), { recursive: true });
    writeFileSync(promptFile, prompt);
    const signal = join(repo, ".kasmos", "signals", `implement-task-finished-w1-t1-${task}`);

    // notify hook: records what codex passes at each turn end.
    const notifyLog = join(root, "notify.log");
    const notifyProg = join(root, "notify.sh");
    writeFileSync(notifyProg, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> ${JSON.stringify(notifyLog)}\nprintf '%s\\n' '---' >> ${JSON.stringify(notifyLog)}\n`);
    chmodSync(notifyProg, 0o755);

    const trusted = preflightLikeKasmos(codexHome, repo);
    console.log(`preflight trusted: ${trusted.join(", ")}`);

    const pointer = `Read the file ${promptFile} and follow its instructions exactly; it is your complete task prompt.`;
    const argv = [
      CODEX,
      "--dangerously-bypass-approvals-and-sandbox",
      "--disable",
      "daemon_auto_start",
      "-c",
      `notify=[${tomlString(notifyProg)},"--agent","w1-t1"]`,
      pointer,
    ];
    const env: Record<string, string> = {
      HOME: home,
      CODEX_HOME: codexHome,
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      TERM: "xterm-256color",
      LANG: "C.UTF-8",
      [API_KEY_ENV]: "sk-loopback-not-a-secret",
    };
    const spawnAt = Date.now();
    const r = run(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "agent", "-x", "200", "-y", "50", "-c", repo, "--", ...argv], { env });
    if (r.code !== 0) throw new Error(`tmux new-session: ${r.out}`);
    panePids = tmux("list-panes", "-a", "-F", "#{pane_pid}")
      .out.split("\n")
      .map(Number)
      .filter((n) => n > 0);

    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline && !existsSync(signal)) {
      if (tmux("has-session", "-t", "agent").code !== 0) break;
      await Bun.sleep(250);
    }
    const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
    const pane = tmux("capture-pane", "-p", "-t", "agent").out;
    if (!existsSync(signal)) {
      console.error(`FAIL: no signal ${signal} after ${elapsed}s\n--- pane ---\n${pane}\n--- requests ---`);
      for (const q of model.requests) console.error(`${q.method} ${q.path} ${q.kind} ${q.status} ${JSON.stringify(q.step ?? null)}`);
      return 1;
    }
    const first = model.requests.find((q) => q.kind === "turn");
    console.log(`signal after ${elapsed}s (first model request ${first ? ((first.at - spawnAt) / 1000).toFixed(2) : "?"}s after spawn): ${signal}`);
    // Let the final text turn finish (notify + rollout token_count), bounded.
    const settle = Date.now() + 15_000;
    while (Date.now() < settle && !(existsSync(notifyLog) && readFileSync(notifyLog, "utf8").includes("Done:"))) await Bun.sleep(250);

    const log = must(["git", "log", "--oneline"], { cwd: repo });
    const status = must(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], { cwd: repo });
    console.log(`git log:\n${log}git status (incl. ignored):\n${status}`);
    const turns = model.requests.filter((q) => q.kind === "turn");
    console.log(`model requests: ${model.requests.map((q) => `${q.method} ${q.path} [${q.kind}]${q.step ? ` ${q.step.kind}` : ""}`).join(" | ")}`);
    console.log(`notify log:\n${existsSync(notifyLog) ? readFileSync(notifyLog, "utf8") : "(none)"}`);
    const rollouts = findFiles(join(codexHome, "sessions"), (n) => n.startsWith("rollout-") && n.endsWith(".jsonl"));
    console.log(`rollouts: ${rollouts.map((p) => p.slice(codexHome.length + 1)).join(", ")}`);
    let lastTotal: unknown = null;
    for (const f of rollouts) {
      for (const line of readFileSync(f, "utf8").split("\n")) {
        if (!line.includes('"token_count"')) continue;
        const o = JSON.parse(line) as { payload?: { type?: string; info?: { total_token_usage?: unknown } | null } };
        if (o.payload?.type === "token_count" && o.payload.info) lastTotal = o.payload.info.total_token_usage;
      }
    }
    console.log(`last total_token_usage: ${JSON.stringify(lastTotal)} (expected input ${usage.input_tokens * turns.length}, output ${usage.output_tokens * turns.length} over ${turns.length} turn requests)`);
    const daemons = run(["ps", "-eo", "pid=,args="]).out.split("\n").filter((l) => l.includes(codexHome) && l.includes("app-server"));
    console.log(`app-server daemons under this CODEX_HOME: ${daemons.length === 0 ? "none" : daemons.join("; ")}`);
    console.log(`--- pane ---\n${pane.replace(/\n{3,}/g, "\n\n")}`);
    ok = log.includes("task 1: w1-t1.txt");
    if (!ok) console.error("FAIL: the coder's commit is missing");
    return ok ? 0 : 1;
  } finally {
    const procs = descendants(panePids);
    tmux("kill-server");
    const until = Date.now() + 5_000;
    while (Date.now() < until && procs.some(alive)) await Bun.sleep(100);
    for (const p of procs.filter(alive)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await model.stop();
    if (ok && process.env.KEEP_TMP !== "1") rmSync(root, { recursive: true, force: true });
    else console.log(`kept ${root}`);
  }
}

process.exit(await main());
