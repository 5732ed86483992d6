// kasmos's state is private whatever the umask and whatever was there before: a hand-made 0755
// ~/.config/kasmos and 0644 files left by an older kasmos are tightened at start; the store, its WAL,
// the pid file, the log, prompts and run files are created 0600 in 0700 folders under umask 000; and a
// second local account (a throwaway user, removed after) cannot read the store.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPlanned, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { BIN, makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";
import { asUser, isRoot, type LocalUser, makeUser, missingUserTools, removeUser } from "../helpers/users.ts";

const canMakeUsers = isRoot && missingUserTools().length === 0;
let sb: Sandbox;
let repo: string;
let daemon: Bun.Subprocess<"ignore", "pipe", "pipe"> | null = null;
let other: LocalUser | null = null;

const mode = (p: string): number => statSync(p).mode & 0o777;

const asOther = (...argv: string[]): { code: number; out: string } => asUser(other!, argv);

beforeAll(async () => {
  sb = new Sandbox("kps-");
  // The sandbox's temp folders are 0700 (mkdtemp): opened so only kasmos's own modes stand in the way.
  for (const d of [sb.dir, sb.home, join(sb.home, ".config")]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
  }
  // A config folder made by hand (0755), and files an older kasmos left readable.
  mkdirSync(sb.configDir, { recursive: true, mode: 0o755 });
  chmodSync(sb.configDir, 0o755);
  mkdirSync(join(sb.configDir, "prompts", "old"), { recursive: true, mode: 0o755 });
  writeFileSync(join(sb.configDir, "prompts", "old", "old-coder.md"), "an old prompt\n", { mode: 0o644 });
  chmodSync(join(sb.configDir, "prompts"), 0o755);
  writeFileSync(join(sb.configDir, "daemon.log"), "old log\n", { mode: 0o644 });
  repo = makeGitRepo(sb.dir, "priv");
  sb.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=0.3", `repos = ["${repo}"]`));
  // The daemon under umask 000: nothing it creates may be readable by others anyway.
  const proc = Bun.spawn(["sh", "-c", `umask 000 && exec "${BIN}" daemon start --foreground`], { env: sb.env, cwd: sb.dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  sb.track(proc.pid);
  daemon = proc;
  await waitFor(async () => proc.exitCode !== null || (await ping(sb.socket)), 15_000, "the daemon to answer");
  expect(proc.exitCode).toBeNull();
  if (canMakeUsers) other = makeUser("kastest");
});

afterAll(async () => {
  daemon?.kill("SIGTERM");
  await daemon?.exited;
  await removeUser(other);
  await sb.cleanup();
});

test("under umask 000, with a hand-made 0755 config folder: 0700 folders, 0600 files", async () => {
  await createPlanned(sb, repo, "t1", SMALL_PLAN);
  // The coder's prompt and run folder are written by the daemon (umask 000) when it starts.
  const prompts = join(sb.configDir, "prompts", "priv");
  await waitFor(() => existsSync(prompts) && readdirSync(prompts).some((n) => n.endsWith(".md")), 30_000, "the coder's prompt file");
  // The run folder comes a moment later, with the spawn (the prompt is written first).
  await waitFor(() => existsSync(join(sb.configDir, "run")), 30_000, "the coder's run folder");
  const db = join(sb.configDir, "kasmos.db");
  expect(mode(sb.configDir).toString(8)).toBe("700");
  for (const f of [db, `${db}-wal`, `${db}-shm`, sb.pidFile]) expect(`${f} ${mode(f).toString(8)}`).toBe(`${f} 600`);
  for (const d of [join(sb.configDir, "prompts"), prompts, join(sb.configDir, "run"), join(sb.configDir, "prompts", "old")]) expect(`${d} ${mode(d).toString(8)}`).toBe(`${d} 700`);
  const prompt = readdirSync(prompts).find((n) => n.endsWith(".md"))!;
  expect(mode(join(prompts, prompt)).toString(8)).toBe("600");
  expect(mode(join(sb.configDir, "prompts", "old", "old-coder.md")).toString(8)).toBe("600"); // tightened
  expect(mode(sb.logFile).toString(8)).toBe("600"); // an old log left 0644: tightened
  const runs = join(sb.configDir, "run", "priv");
  for (const title of readdirSync(runs)) {
    expect(mode(join(runs, title)).toString(8)).toBe("700");
    for (const f of readdirSync(join(runs, title))) expect(`${f} ${mode(join(runs, title, f)).toString(8)}`).toBe(`${f} 600`);
  }
  // doctor agrees: nothing for others to read.
  const doc = JSON.parse((await sb.run(["doctor", "--json"])).stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
  const priv = doc.checks.find((c) => c.name === "private files");
  expect(priv?.ok, priv?.detail).toBe(true);
}, 90_000);

test("doctor names private files others can read", async () => {
  const f = join(sb.configDir, "prompts", "old", "old-coder.md");
  chmodSync(f, 0o644);
  try {
    const doc = JSON.parse((await sb.run(["doctor", "--json"])).stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
    const priv = doc.checks.find((c) => c.name === "private files");
    expect(priv?.ok).toBe(false);
    expect(priv?.detail).toContain(`${f} (0644)`);
  } finally {
    chmodSync(f, 0o600);
  }
}, 60_000);

describe.skipIf(!canMakeUsers)("a second local account", () => {
  test("cannot read the store, even with the config folder opened to 0755", () => {
    expect(other).not.toBeNull();
    const db = join(sb.configDir, "kasmos.db");
    expect(asOther("cat", db).code).not.toBe(0);
    chmodSync(sb.configDir, 0o755); // each layer alone must hold: now only the files' own 0600
    try {
      expect(asOther("ls", sb.configDir).code).toBe(0); // the account works and can reach the folder
      for (const f of [db, `${db}-wal`, sb.logFile]) {
        const r = asOther("cat", f);
        expect(`${f}: ${r.code}`).not.toBe(`${f}: 0`);
        expect(r.out).toMatch(/Permission denied/);
      }
    } finally {
      chmodSync(sb.configDir, 0o700);
    }
  }, 30_000);

  test("a readable file kasmos cannot tighten (another owner) is reported, not silently used", async () => {
    const f = join(sb.configDir, "prompts", "old", "foreign.md");
    writeFileSync(f, "x\n", { mode: 0o644 });
    chmodSync(f, 0o644);
    expect(Bun.spawnSync(["chown", other!.name, f]).exitCode).toBe(0);
    const doc = JSON.parse((await sb.run(["doctor", "--json"])).stdout) as { checks: { name: string; ok: boolean; detail: string; fix: string }[] };
    const priv = doc.checks.find((c) => c.name === "private files");
    expect(priv?.ok).toBe(false);
    expect(priv?.detail).toContain(`${f} (0644, not yours)`);
    expect(priv?.fix).toMatch(/chown/);
  }, 30_000);
});
