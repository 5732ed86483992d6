// The sandbox policy run for real under bubblewrap: a script inside tries what a hostile agent would
// (read keys and secrets, write outside its work, signal a process outside) and what its work needs
// (write its worktree and the git common dir, its CLI's state, read its run folder).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bwrapArgs, envAllowed } from "../../src/sandbox/bwrap.ts";
import { buildPolicy, type PolicyInput, type SandboxNetwork } from "../../src/sandbox/policy.ts";
import { sandboxAvailability } from "../../src/sandbox/probe.ts";

const root = mkdtempSync(join(tmpdir(), "ksb-"));
const home = join(root, "home");
const repo = join(root, "repo");
const worktree = join(repo, ".worktrees", "feat-1");
const gitDir = join(repo, ".git");
const otherWorktree = join(repo, ".worktrees", "other-1");
const otherRepo = join(root, "other-repo");
const runDir = join(home, ".local", "state", "kasmos", "run", "repo", "feat-coder");
const otherRunDir = join(home, ".local", "state", "kasmos", "run", "repo", "other-coder");
const cliState = join(home, ".fakecli");
let bwrap = "";
const sentinels: Bun.Subprocess[] = [];

function plant(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

beforeAll(async () => {
  const avail = await sandboxAvailability();
  if (!avail.ok) throw new Error(`bubblewrap must run on the test machine (scripts/setup.sh installs it): ${avail.reason}`);
  bwrap = avail.bwrap;
  plant(join(home, ".ssh", "id_ed25519"), "PRIVATE KEY\n");
  plant(join(home, ".config", "kasmos", "daemon.toml"), '[notify]\nwebhook = "https://hooks.example/secret-abc"\n');
  plant(join(home, ".config", "gh", "hosts.yml"), "oauth_token: gho_secret\n");
  plant(join(worktree, "README.md"), "mine\n");
  plant(join(gitDir, "HEAD"), "ref: refs/heads/main\n");
  plant(join(otherWorktree, "secret.txt"), "other task\n");
  plant(join(otherRepo, "private.txt"), "other repo\n");
  plant(join(runDir, "prompt.md"), "my prompt\n");
  plant(join(otherRunDir, "prompt.md"), "their prompt\n");
  mkdirSync(cliState, { recursive: true });
  chmodSync(join(home, ".ssh", "id_ed25519"), 0o600);
});

afterAll(() => {
  for (const s of sentinels) s.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function input(network: SandboxNetwork = "on"): PolicyInput {
  return { home, cwd: worktree, gitCommonDir: gitDir, runDir, cliState: [cliState], programs: [], path: process.env.PATH ?? "/usr/bin:/bin", cliEnv: ["FAKECLI_KEY"], config: { write: [], read: [], env: [], network } };
}

async function inside(script: string, network: SandboxNetwork = "on", env: Record<string, string> = {}): Promise<{ out: string; code: number }> {
  const fullEnv: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home, ...env };
  const proc = Bun.spawn([bwrap, ...bwrapArgs(buildPolicy(input(network)), Object.keys(fullEnv)), "/bin/sh", "-c", script], { env: fullEnv, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(timer);
  return { out: out.trim(), code };
}

/** Each line of `checks` is `name: command`; the result is the name → "ok"/"fail" of each command's exit status. */
async function attempts(checks: Record<string, string>, network: SandboxNetwork = "on", env: Record<string, string> = {}): Promise<Record<string, string>> {
  const script = Object.entries(checks)
    .map(([name, cmd]) => `if ( ${cmd} ) >/dev/null 2>&1; then echo "${name}=ok"; else echo "${name}=fail"; fi`)
    .join("\n");
  const { out } = await inside(script, network, env);
  return Object.fromEntries(out.split("\n").map((l) => l.split("=") as [string, string]));
}

describe("the sandbox under bubblewrap", () => {
  test("what a hostile agent tries fails; what its work needs works", async () => {
    const sentinel = Bun.spawn(["sleep", "600"], { stdio: ["ignore", "ignore", "ignore"] });
    sentinels.push(sentinel);
    const r = await attempts({
      ssh_key: `cat ${home}/.ssh/id_ed25519`,
      daemon_config: `cat ${home}/.config/kasmos/daemon.toml`,
      gh_login: `cat ${home}/.config/gh/hosts.yml`,
      other_worktree: `cat ${otherWorktree}/secret.txt`,
      other_repo: `cat ${otherRepo}/private.txt`,
      other_prompt: `cat ${otherRunDir}/prompt.md`,
      write_home: `touch ${home}/planted`,
      write_etc: "touch /etc/planted",
      write_other_repo: `touch ${otherRepo}/planted`,
      write_run_dir: `touch ${runDir}/planted`,
      daemon_environ: `cat /proc/${process.pid}/environ`,
      kill_outside: `kill -9 ${sentinel.pid}`,
      // What the work needs:
      own_prompt: `cat ${runDir}/prompt.md`,
      write_worktree: `echo x > ${worktree}/new.txt`,
      write_git: `echo x > ${gitDir}/ORIG_HEAD`,
      write_cli_state: `echo x > ${cliState}/session.json`,
      write_tmp: "echo x > /tmp/scratch && test -f /tmp/scratch",
      run_git: "git --version",
    });
    expect(r).toEqual({
      ssh_key: "fail",
      daemon_config: "fail",
      gh_login: "fail",
      other_worktree: "fail",
      other_repo: "fail",
      other_prompt: "fail",
      write_home: "ok", // into a scratch home that vanishes with the sandbox: checked outside below
      write_etc: "fail",
      write_other_repo: "fail",
      write_run_dir: "fail",
      daemon_environ: "fail",
      kill_outside: "fail",
      own_prompt: "ok",
      write_worktree: "ok",
      write_git: "ok",
      write_cli_state: "ok",
      write_tmp: "ok",
      run_git: "ok",
    });
    expect(sentinel.exitCode).toBeNull();
    expect(readFileSync(join(worktree, "new.txt"), "utf8")).toBe("x\n");
    expect(existsSync(join(home, "planted"))).toBe(false);
    expect(existsSync(join(otherRepo, "planted"))).toBe(false);
  });

  test("the environment is an allow-list: tokens are gone, the CLI's key and the agent's KASMOS_* stay, no value on the command line", async () => {
    const env = { GITHUB_TOKEN: "ghp_secret", AWS_SECRET_ACCESS_KEY: "aws-secret", FAKECLI_KEY: "cli-key", KASMOS_TITLE: "title-value-7", LC_ALL: "C" };
    const { out } = await inside('echo "gh=${GITHUB_TOKEN:-none} aws=${AWS_SECRET_ACCESS_KEY:-none} key=${FAKECLI_KEY:-none} title=${KASMOS_TITLE:-none} lc=${LC_ALL:-none} home=$HOME tmp=$TMPDIR"', "on", env);
    expect(out).toBe(`gh=none aws=none key=cli-key title=title-value-7 lc=C home=${home} tmp=/tmp`);
    const args = bwrapArgs(buildPolicy(input()), Object.keys({ ...process.env, ...env }));
    for (const secret of Object.values(env)) if (secret !== "C") expect(args.join(" ")).not.toContain(secret);
  });

  test("its own processes only: the daemon and the other agents are not in its /proc", async () => {
    const { out } = await inside("ls /proc | grep -c '^[0-9]'");
    expect(Number(out)).toBeGreaterThan(0);
    expect(Number(out)).toBeLessThan(10);
  });

  test('network = "off": a loopback server outside is unreachable; "on": reachable', async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello") });
    try {
      const probe = `exec 3<>/dev/tcp/127.0.0.1/${server.port}`;
      // /dev/tcp is bash's; the check runs bash where it exists, else an equivalent with the system's git (no curl on every machine).
      const cmd = existsSync("/bin/bash") ? `bash -c '${probe}'` : `git ls-remote http://127.0.0.1:${server.port}/x`;
      expect((await attempts({ reach: cmd }, "on")).reach).toBe("ok");
      expect((await attempts({ reach: cmd }, "off")).reach).toBe("fail");
    } finally {
      server.stop(true);
    }
  });

  test("env names: exact and prefix entries", () => {
    expect(envAllowed("LC_CTYPE", ["LC_*"])).toBe(true);
    expect(envAllowed("LC", ["LC_*"])).toBe(false);
    expect(envAllowed("GITHUB_TOKEN", ["GITHUB"])).toBe(false);
  });
});
