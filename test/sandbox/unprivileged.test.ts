// kasmos as most people run it: as an ordinary account, not root. A throwaway local user (useradd,
// removed after) runs the compiled daemon with its own HOME and socket in a fresh 0700 folder, adds a
// repo of its own, and a scripted task goes to done with every agent in bubblewrap (mode = "bwrap":
// user namespaces, no privilege). Inside, the coder cannot read that user's ~/.ssh/id_ed25519, which
// the user itself reads outside. A second account cannot reach the daemon's socket, not even with
// the folders above it opened: the socket's own mode holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FAKE_AGENT, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { api, BIN, makeGitRepo, ping, waitFor } from "../helpers/env.ts";
import { asUser, isRoot, type LocalUser, makeUser, missingUserTools, removeUser, userArgv } from "../helpers/users.ts";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY----- unprivileged-test";
const TMUX_NAME = `kun-${process.pid}`;

if (!isRoot) console.warn("test/sandbox/unprivileged.test.ts skipped: making throwaway local accounts needs root");

let top = "";
let owner: LocalUser | null = null;
let other: LocalUser | null = null;
let daemon: Bun.Subprocess | null = null;
/** The owner's folder (0700): HOME, runtime dir, repo, the coder's marks. */
let mine = "";
let env: Record<string, string> = {};
const p = (...parts: string[]) => join(mine, ...parts);
const socket = () => p("r", "kasmos", "kas.sock");

/** The compiled CLI as the owner, in its environment. */
function kas(args: string[], cwd = mine): { code: number; out: string } {
  return asUser(owner!, [join(top, "bin", "kasmos"), ...args], { env, cwd });
}

describe.skipIf(!isRoot)("an unprivileged account runs kasmos (root only: it makes throwaway accounts)", () => {
  beforeAll(async () => {
    const missing = missingUserTools();
    if (missing.length > 0) throw new Error(`needs ${missing.join(", ")} on PATH`);
    owner = makeUser("kun");
    other = makeUser("kuo");
    // The binary and the fake agent where any account can read them (a clone may sit in a 0700 folder).
    top = mkdtempSync(join(tmpdir(), "kun-"));
    chmodSync(top, 0o755);
    const bin = join(top, "bin");
    mkdirSync(bin, { mode: 0o755 });
    copyFileSync(BIN, join(bin, "kasmos"));
    copyFileSync(FAKE_AGENT, join(bin, "fake-agent.sh"));
    for (const f of ["kasmos", "fake-agent.sh"]) chmodSync(join(bin, f), 0o755);
    mine = join(top, "u");
    mkdirSync(mine, { mode: 0o700 });
    for (const d of ["h/.ssh", "r", "marks"]) mkdirSync(p(d), { recursive: true, mode: 0o700 });
    writeFileSync(p("h", ".ssh", "id_ed25519"), `${KEY}\n`, { mode: 0o600 });
    makeGitRepo(mine, "shop");
    writeFileSync(p("feat.md"), SMALL_PLAN);
    // The coder first tries the key, with the outcome in a folder named writable, then works as usual.
    const coder = `sh -c 'cat ${p("h", ".ssh", "id_ed25519")} > ${p("marks", "key")} 2>&1; echo $? > ${p("marks", "key.rc")}; exec ${join(bin, "fake-agent.sh")} \\"$0\\"'`;
    mkdirSync(p("h", ".config", "kasmos"), { recursive: true, mode: 0o700 });
    writeFileSync(
      p("h", ".config", "kasmos", "daemon.toml"),
      fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", `[agents.coder]\nprogram = "${coder}"\n[sandbox]\nmode = "bwrap"\nread = ["${bin}"]\nwrite = ["${p("marks")}"]\n`, join(bin, "fake-agent.sh")),
    );
    expect(Bun.spawnSync(["chown", "-R", `${owner.uid}:${owner.gid}`, mine]).exitCode).toBe(0);
    env = {
      PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: p("h"),
      XDG_RUNTIME_DIR: p("r"),
      NO_COLOR: "1",
      LANG: "C.UTF-8",
      KASMOS_TMUX_SOCKET: TMUX_NAME,
      // The owner's tmux server socket in its own folder, gone with it.
      TMUX_TMPDIR: mine,
    };
    daemon = Bun.spawn(userArgv(owner, [join(bin, "kasmos"), "daemon", "start", "--foreground"]), { env, cwd: mine, stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(top, "daemon.err")) });
    await waitFor(async () => daemon!.exitCode !== null || (await ping(socket())), 15_000, "the owner's daemon to answer");
    expect(daemon.exitCode, readFileSync(join(top, "daemon.err"), "utf8")).toBeNull();
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill("SIGTERM");
      await Promise.race([daemon.exited, Bun.sleep(5_000)]);
    }
    if (owner && mine) asUser(owner, ["tmux", "-L", TMUX_NAME, "kill-server"], { env });
    await removeUser(owner); // what the owner still runs (agents, tmux) is killed by pid there
    await removeUser(other);
    if (top) rmSync(top, { recursive: true, force: true });
  });

  test('its daemon takes a task to done with every agent in bubblewrap; the coder cannot read the ~/.ssh key its user can', async () => {
    expect(statSync(socket()).uid).toBe(owner!.uid);
    let r = kas(["daemon", "add", p("shop")]);
    expect(r.code, r.out).toBe(0);
    r = kas(["task", "create", "feat", "--plan", p("feat.md")], p("shop"));
    expect(r.code, r.out).toBe(0);
    r = kas(["task", "transition", "feat", "implement_start"], p("shop"));
    expect(r.code, r.out).toBe(0);
    let status = "";
    await waitFor(async () => {
      status = ((await api(socket(), "GET", "/v1/repos/shop/tasks/feat")).json.task as { status?: string } | undefined)?.status ?? "";
      return status === "done";
    }, 60_000, `feat to reach done (last: ${status}; daemon log ${join(top, "daemon.err")})`).catch((e: Error) => {
      throw new Error(`${e.message}\n${readFileSync(join(top, "daemon.err"), "utf8").slice(-3000)}`);
    });
    r = kas(["agent", "list", "--all", "--json", "--repo", "shop"]);
    expect(r.code, r.out).toBe(0);
    const agents = JSON.parse(r.out) as { role: string; sandbox: string }[];
    expect(agents.map((a) => a.role).sort()).toEqual(["coder", "master", "reviewer"]);
    for (const a of agents) expect(`${a.role}: ${a.sandbox}`).toStartWith(`${a.role}: bwrap (`);
    // The coder ran and tried: the key was not there for it; outside, its user reads it.
    expect(existsSync(p("marks", "key.rc"))).toBe(true);
    expect(readFileSync(p("marks", "key.rc"), "utf8").trim()).not.toBe("0");
    expect(readFileSync(p("marks", "key"), "utf8")).not.toContain(KEY);
    const outside = asUser(owner!, ["cat", p("h", ".ssh", "id_ed25519")]);
    expect(outside.code).toBe(0);
    expect(outside.out).toContain(KEY);
  }, 90_000);

  test("a second account cannot reach that daemon's socket, even with the folders above it opened", () => {
    const connect = () => asUser(other!, ["curl", "-sS", "-m", "5", "--unix-socket", socket(), "http://kasmos/v1/status"]);
    let r = connect();
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).not.toContain('"repos"');
    // Each layer alone must hold: the owner's folders opened to 0755, the socket's own 0600 remains.
    const opened = [mine, p("r"), p("r", "kasmos")];
    for (const d of opened) chmodSync(d, 0o755);
    try {
      expect(asUser(other!, ["ls", p("r", "kasmos")]).code).toBe(0); // the account works and reaches the folder
      expect((statSync(socket()).mode & 0o777).toString(8)).toBe("600");
      r = connect();
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(/Permission denied|Couldn't connect/);
      expect(r.out).not.toContain('"repos"');
    } finally {
      for (const d of opened) chmodSync(d, 0o700);
    }
  }, 30_000);
});
