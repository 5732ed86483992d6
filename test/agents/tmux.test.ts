// Tmux against a real tmux server on a socket unique to this file; the server is killed afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { processAlive } from "../../src/util/process.ts";
import { join } from "node:path";
import { Tmux, TmuxError, sessionNameFor } from "../../src/agents/tmux.ts";

const socket = `kt-tmux-${process.pid}`;
const tmux = new Tmux({ socketName: socket });
let dir = "";

beforeAll(() => {
  dir = mkdtempSync("/tmp/ktm-");
});

afterAll(async () => {
  await tmux.killServer();
  // Belt and braces: a raw kill-server in case the class itself is broken.
  Bun.spawnSync(["tmux", "-L", socket, "kill-server"], { stderr: "ignore", stdout: "ignore" });
  // tmux leaves its socket file behind after kill-server.
  rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

const captureHas = (title: string, text: string, timeoutMs = 5000) =>
  waitFor(async () => (await tmux.capture(title)).includes(text), timeoutMs, `${JSON.stringify(text)} in ${title}`);

const sh = (script: string): string[] => ["sh", "-c", script];

describe("sessionName", () => {
  test("prefix, sanitisation and unique truncation", () => {
    expect(tmux.sessionName("feat-coder")).toBe("kas_feat-coder");
    expect(tmux.sessionName("my.plan: W1 T2")).toMatch(/^kas_my-plan--W1-T2_[0-9a-f]{8}$/);
    expect(tmux.sessionName("a\tb\nc/d#e$f'g\"h;i")).toMatch(/^kas_a-b-c-d-e-f-g-h-i_[0-9a-f]{8}$/);
    expect(tmux.sessionName("Ünïcode_ok")).toMatch(/^kas_-n-code_ok_[0-9a-f]{8}$/);
    const a = "x".repeat(150);
    const b = `${"x".repeat(149)}y`;
    const na = tmux.sessionName(a);
    expect(na.length).toBe(4 + 100);
    expect(na).toMatch(/^kas_x+_[0-9a-f]{8}$/);
    expect(tmux.sessionName(b)).not.toBe(na);
    expect(tmux.sessionName(a)).toBe(na);
    expect(tmux.sessionName("y".repeat(100))).toBe(`kas_${"y".repeat(100)}`);
    expect(sessionNameFor("q")).toBe("kas_q");
  });

  test("titles that sanitise alike get different names (tasks a-b / a.b, repos 'my app' / my-app, café / cafè)", () => {
    for (const [x, y] of [["web--a-b-coder", "web--a.b-coder"], ["my app--t-plan", "my-app--t-plan"], ["café--t-plan", "cafè--t-plan"], ["web.app--t-plan", "web-app--t-plan"]] as const) {
      expect(sessionNameFor(x)).not.toBe(sessionNameFor(y));
      expect(sessionNameFor(x)).toBe(sessionNameFor(x)); // stable
    }
  });
});

describe("Tmux", () => {
  test("no server running: list() is empty, has() is false, kill() is false", async () => {
    const idle = new Tmux({ socketName: `kt-none-${process.pid}` });
    expect(await idle.list()).toEqual([]);
    expect(await idle.has("nothing")).toBe(false);
    expect(await idle.kill("nothing", { graceMs: 100 })).toBe(false);
    await idle.killServer();
  });

  test("spawn: env arrives (spaces, quotes, PATH), cwd used, capture shows output", async () => {
    writeFileSync(join(dir, "line.txt"), "line from file\n");
    const env = {
      KASMOS_MANAGED: "1",
      KASMOS_PROJECT: "proj",
      KASMOS_AGENT_TYPE: "coder",
      KASMOS_INSTANCE_TITLE: "env-agent",
      ODD: `a b "c" 'd' $HOME \\ ;`,
    };
    const script = [
      'echo "M=$KASMOS_MANAGED P=$KASMOS_PROJECT T=$KASMOS_AGENT_TYPE I=$KASMOS_INSTANCE_TITLE"',
      'printf "ODD=[%s]\\n" "$ODD"',
      'echo "PATHSET=${PATH:+yes}"',
      'echo "CWD=$(pwd)"',
      "head -n1 line.txt",
      "exec sleep 30",
    ].join("; ");
    const { name, panePid } = await tmux.spawn({ title: "env-agent", cwd: dir, argv: sh(script), env });
    expect(name).toBe("kas_env-agent");
    expect(panePid).toBeGreaterThan(0);
    await captureHas("env-agent", "line from file");
    const out = await tmux.capture("env-agent");
    expect(out).toContain("M=1 P=proj T=coder I=env-agent");
    expect(out).toContain(`ODD=[a b "c" 'd' $HOME \\ ;]`);
    expect(out).toContain("PATHSET=yes");
    expect(out).toContain(`CWD=${dir}`);
    expect(await tmux.has("env-agent")).toBe(true);
    expect(await tmux.has("env-agen")).toBe(false); // exact match, not tmux's prefix match
    expect(await tmux.kill("env-agent", { graceMs: 2000 })).toBe(true);
    expect(await tmux.has("env-agent")).toBe(false);
  });

  test("argv is passed literally: single argument and an argument ending in ';'", async () => {
    const script = join(dir, "my agent.sh");
    writeFileSync(script, '#!/bin/sh\necho "single-ok"\nexec sleep 30\n', { mode: 0o755 });
    await tmux.spawn({ title: "single", cwd: dir, argv: [script], env: {} });
    await captureHas("single", "single-ok");
    await tmux.spawn({ title: "semi", cwd: dir, argv: ["sh", "-c", 'printf "[%s]\\n" "$1"; exec sleep 30', "_", "a;"], env: {} });
    await captureHas("semi", "[a;]");
    await tmux.kill("single", { graceMs: 0 });
    await tmux.kill("semi", { graceMs: 0 });
  });

  test("nice: the agent, what it starts and its session's autogroup run at that niceness; without it, unchanged", async () => {
    // Field 19 of /proc/<pid>/stat is the nice value; /proc/<pid>/autogroup reads "/autogroup-N nice K".
    const niceOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
    const autogroupOf = (pid: number): string => {
      try {
        return readFileSync(`/proc/${pid}/autogroup`, "utf8");
      } catch {
        return ""; // kernel without autogroups
      }
    };
    const baseNice = niceOf(process.pid);
    const script = join(dir, "nice agent.sh");
    // Its first look already sees the value: nothing of the agent runs before it is set.
    writeFileSync(script, `#!/bin/sh\necho "first=$(cat /proc/self/autogroup 2>/dev/null || echo none)"\nsleep 30 &\necho "child=$!"\nexec sleep 30\n`, { mode: 0o755 });
    const niced = await tmux.spawn({ title: "niced", cwd: dir, argv: [script], env: {}, nice: 7 });
    await captureHas("niced", "child=");
    const child = Number(/child=(\d+)/.exec(await tmux.capture("niced"))![1]);
    expect(niceOf(niced.panePid)).toBe(Math.min(19, baseNice + 7));
    expect(niceOf(child)).toBe(Math.min(19, baseNice + 7));
    const group = autogroupOf(niced.panePid);
    if (group !== "") {
      expect(group).toMatch(/ nice 7\n?$/);
      expect(await tmux.capture("niced")).toMatch(/first=\/autogroup-\d+ nice 7/);
      expect(autogroupOf(child)).toBe(group); // one autogroup for everything the agent starts
    }
    const plain = await tmux.spawn({ title: "plain", cwd: dir, argv: sh("exec sleep 30"), env: {}, nice: 0 });
    expect(niceOf(plain.panePid)).toBe(baseNice);
    if (group !== "") expect(autogroupOf(plain.panePid)).toMatch(/ nice 0\n?$/);
    await tmux.kill("niced", { graceMs: 0 });
    await tmux.kill("plain", { graceMs: 0 });
    process.kill(child, "SIGKILL");
  });

  test("without any locale (cron, env -i): list() still parses every field (tmux -u)", async () => {
    // tmux 3.3 without a UTF-8 locale prints "_" for the tab separators list() splits on.
    const keys = ["LANG", "LC_ALL", "LC_CTYPE", "LANGUAGE"] as const;
    const saved = keys.map((k) => [k, process.env[k]] as const);
    const bare = new Tmux({ socketName: `kt-nolocale-${process.pid}` });
    try {
      for (const k of keys) delete process.env[k];
      const { panePid } = await bare.spawn({ title: "no-locale", cwd: dir, argv: sh("exec sleep 30"), env: {} });
      const listed = (await bare.list()).find((x) => x.name === "kas_no-locale");
      expect(listed).toMatchObject({ name: "kas_no-locale", title: "no-locale", panePid, dead: false });
    } finally {
      for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
      await bare.killServer();
      rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`, `kt-nolocale-${process.pid}`), { force: true });
    }
  });

  test("second spawn of the same title is refused; missing cwd is refused", async () => {
    await tmux.spawn({ title: "dup", cwd: dir, argv: sh("exec sleep 30"), env: {} });
    const err = await tmux.spawn({ title: "dup", cwd: dir, argv: sh("echo second; exec sleep 30"), env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TmuxError);
    expect((err as TmuxError).message).toBe("session already exists: kas_dup");
    const bad = await tmux.spawn({ title: "nocwd", cwd: join(dir, "missing"), argv: sh("true"), env: {} }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TmuxError);
    expect(await tmux.has("nocwd")).toBe(false);
    expect((await tmux.list()).filter((s) => s.name === "kas_dup")).toHaveLength(1);
    await tmux.kill("dup", { graceMs: 0 });
  });

  test("sendText: quotes, newlines, shell metacharacters and long text arrive intact", async () => {
    await tmux.spawn({
      title: "echoer",
      cwd: dir,
      argv: sh('stty -echo; echo ready; while IFS= read -r l; do printf "got:%s|\\n" "$l"; done'),
      env: {},
    });
    await captureHas("echoer", "ready");
    await tmux.sendText("echoer", `it's "quoted" $HOME \`x\` ; \\n`);
    await captureHas("echoer", `got:it's "quoted" $HOME \`x\` ; \\n|`);
    await tmux.sendText("echoer", "first line\nsecond line\n");
    await captureHas("echoer", "got:second line|");
    const out = await tmux.capture("echoer");
    expect(out).toContain("got:first line|");
    const long = Array.from({ length: 40 }, (_, i) => `w${i}`).join("-");
    await tmux.sendText("echoer", long);
    await captureHas("echoer", `got:${long}|`);
    // Concurrent sends never interleave paste and Enter.
    await Promise.all([tmux.sendText("echoer", "para-one"), tmux.sendText("echoer", "para-two")]);
    await captureHas("echoer", "got:para-two|");
    const all = await tmux.capture("echoer", { start: "-", end: "-" });
    expect(all).toContain("got:para-one|");
    expect(all).not.toContain("got:|");
    await tmux.kill("echoer", { graceMs: 0 });
  });

  test("kill: an agent trapping SIGINT exits on C-c quickly", async () => {
    await tmux.spawn({ title: "polite", cwd: dir, argv: sh("trap 'exit 0' INT; echo up; while :; do sleep 0.05; done"), env: {} });
    await captureHas("polite", "up");
    const t0 = performance.now();
    expect(await tmux.kill("polite", { graceMs: 5000 })).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(await tmux.has("polite")).toBe(false);
  });

  test("kill: an agent ignoring SIGINT (and SIGHUP) is killed after graceMs", async () => {
    const { panePid } = await tmux.spawn({ title: "stubborn", cwd: dir, argv: sh("trap '' INT HUP; echo up; while :; do sleep 0.05; done"), env: {} });
    await captureHas("stubborn", "up");
    const t0 = performance.now();
    expect(await tmux.kill("stubborn", { graceMs: 400 })).toBe(true);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(4000);
    expect(await tmux.has("stubborn")).toBe(false);
    // Gone or a zombie awaiting tmux's reaping: either way no longer running.
    const gone = () => {
      try {
        const stat = readFileSync(`/proc/${panePid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
      } catch {
        return true;
      }
    };
    await waitFor(async () => gone(), 3000, "stubborn pane process to exit");
    expect(await tmux.kill("stubborn", { graceMs: 100 })).toBe(false);
  });

  test("kill: what the agent leaves in its pane's process group (ignoring C-c and the hang-up, its parent gone) ends with it", async () => {
    const marker = String(31_000 + (process.pid % 1000));
    const left = () => {
      const pids: number[] = [];
      for (const e of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
          if (readFileSync(`/proc/${e}/cmdline`, "utf8") === `sleep\0${marker}\0` && processAlive(Number(e))) pids.push(Number(e));
        } catch {
          // gone meanwhile
        }
      }
      return pids;
    };
    await tmux.spawn({ title: "leaver", cwd: dir, argv: sh(`(trap '' INT HUP; exec sleep ${marker}) & echo up; exec sleep 30`), env: {} });
    await captureHas("leaver", "up");
    await waitFor(async () => left().length === 1, 5000, "the background sleep");
    try {
      expect(await tmux.kill("leaver", { graceMs: 3000 })).toBe(true);
      await waitFor(async () => left().length === 0, 3000, "the process the agent left behind to end");
    } finally {
      for (const p of left()) process.kill(p, "SIGKILL");
    }
  });

  test("kill with no grace: a live agent dies on the hangup without waiting", async () => {
    await tmux.spawn({ title: "hup", cwd: dir, argv: sh("echo up; exec sleep 30"), env: {} });
    await captureHas("hup", "up");
    const t0 = performance.now();
    expect(await tmux.kill("hup", { graceMs: 0 })).toBe(true);
    expect(performance.now() - t0).toBeLessThan(450);
    expect(await tmux.has("hup")).toBe(false);
  });

  test("list: dead panes stay with their exit status; title is recovered; live ones listed", async () => {
    // With a status file, as the daemon spawns: tmux 3.3a alone now and then never shows a status.
    const file = (t: string) => join(dir, `${t}.list-status`);
    await tmux.spawn({ title: "quick", cwd: dir, argv: ["false"], env: {}, exitStatusFile: file("quick") });
    await tmux.spawn({ title: "exits.7 now", cwd: dir, argv: sh("echo bye; exit 7"), env: {}, exitStatusFile: file("exits7") });
    await tmux.spawn({ title: "alive", cwd: dir, argv: sh("exec sleep 30"), env: {}, exitStatusFile: file("alive") });
    await waitFor(async () => (await tmux.list()).filter((s) => s.dead).length >= 2, 5000, "two dead panes");
    const byName = new Map((await tmux.list()).map((s) => [s.name, s]));
    const quick = byName.get("kas_quick");
    expect(quick).toMatchObject({ title: "quick", dead: true, exitStatus: 1 });
    const exits = byName.get(sessionNameFor("exits.7 now"));
    expect(exits).toMatchObject({ title: "exits.7 now", dead: true, exitStatus: 7 });
    const alive = byName.get("kas_alive");
    expect(alive).toMatchObject({ title: "alive", dead: false, exitStatus: null });
    expect(alive!.panePid).toBeGreaterThan(0);
    expect(Math.abs(alive!.createdAt - Date.now() / 1000)).toBeLessThan(60);
    // A dead pane's output is still inspectable.
    // The "Pane is dead" notice scrolls the screen by a line, so short output lands in scrollback.
    expect(await tmux.capture("exits.7 now", { start: "-" })).toContain("bye");
    // Killing an already-dead agent needs no grace.
    const t0 = performance.now();
    expect(await tmux.kill("exits.7 now", { graceMs: 5000 })).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1500);
    for (const t of ["quick", "alive"]) await tmux.kill(t, { graceMs: 0 });
    expect((await tmux.list()).map((s) => s.name)).toEqual([]);
  });

  test("list: a server still up with no session left (its last one just ended) lists nothing, no error", async () => {
    const empty = `${socket}-empty`;
    Bun.spawnSync(["tmux", "-L", empty, "-f", "/dev/null", "start-server", ";", "set", "-g", "exit-empty", "off"]);
    try {
      expect(await new Tmux({ socketName: empty }).list()).toEqual([]);
    } finally {
      Bun.spawnSync(["tmux", "-L", empty, "kill-server"], { stderr: "ignore", stdout: "ignore" });
      rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`, empty), { force: true });
    }
  });

  test("kill never stops a session recorded for another identity", async () => {
    await tmux.spawn({ title: "owner", cwd: dir, argv: sh("exec sleep 30"), env: {} });
    // Someone else's session under the name "owner" maps to: its recorded title differs.
    Bun.spawnSync(["tmux", "-L", socket, "set-option", "-t", "=kas_owner:", "@kas_title", "someone-else"]);
    expect(await tmux.kill("owner", { graceMs: 0 })).toBe(false);
    expect(await tmux.has("owner")).toBe(true);
    Bun.spawnSync(["tmux", "-L", socket, "kill-session", "-t", "=kas_owner:"]);
  });

  test("kill with a grace never presses C-c in a session recorded for another identity", async () => {
    await tmux.spawn({ title: "owner2", cwd: dir, argv: sh("trap 'exit 0' INT; echo up; while :; do sleep 0.05; done"), env: {} });
    await captureHas("owner2", "up");
    Bun.spawnSync(["tmux", "-L", socket, "set-option", "-t", "=kas_owner2:", "@kas_title", "someone-else"]);
    expect(await tmux.kill("owner2", { graceMs: 300 })).toBe(false);
    await Bun.sleep(300);
    expect((await tmux.list()).find((s) => s.name === "kas_owner2")?.dead).toBe(false);
    Bun.spawnSync(["tmux", "-L", socket, "kill-session", "-t", "=kas_owner2:"]);
  });

  test("owners: a session another daemon started is never killed, interrupted, captured or typed into; one with no owner is anyone's", async () => {
    const mine = new Tmux({ socketName: socket, owner: "daemonA" });
    const theirs = new Tmux({ socketName: socket, owner: "daemonB" });
    await mine.spawn({ title: "shared", cwd: dir, argv: sh("trap 'echo got-int' INT; echo up; while :; do sleep 0.05; done"), env: {} });
    await captureHas("shared", "up");
    expect((await theirs.list()).find((s) => s.name === "kas_shared")?.owner).toBe("daemonA");
    expect(theirs.foreign("daemonA")).toBe(true);
    expect(mine.foreign("daemonA")).toBe(false);
    expect(await theirs.kill("shared", { graceMs: 300 })).toBe(false);
    expect(await theirs.kill("shared", { graceMs: 0 })).toBe(false);
    await expect(theirs.capture("shared")).rejects.toThrow(/belongs to another kasmos daemon/);
    await expect(theirs.sendText("shared", "echo typed")).rejects.toThrow(/belongs to another kasmos daemon/);
    await expect(theirs.sendKeys("shared", "C-c")).rejects.toThrow(/belongs to another kasmos daemon/);
    expect(await theirs.lastActivity("shared")).toBeNull();
    const screen = await mine.capture("shared");
    expect(screen).not.toContain("got-int");
    expect(screen).not.toContain("typed");
    expect((await mine.list()).find((s) => s.name === "kas_shared")?.dead).toBe(false);
    expect(await mine.kill("shared", { graceMs: 0 })).toBe(true);
    // A session from before owners (none recorded): anyone's, as it always was.
    await tmux.spawn({ title: "legacy", cwd: dir, argv: sh("exec sleep 30"), env: {} });
    expect((await theirs.list()).find((s) => s.name === "kas_legacy")?.owner).toBe("");
    expect(await theirs.kill("legacy", { graceMs: 0 })).toBe(true);
  });

  test("kill through a gate: every tmux call of a stop goes through it, two for an agent leaving on C-c", async () => {
    await tmux.spawn({ title: "gated", cwd: dir, argv: sh("trap 'exit 0' INT; echo up; while :; do sleep 0.05; done"), env: {} });
    await captureHas("gated", "up");
    let calls = 0;
    const gate = <T>(fn: () => Promise<T>): Promise<T> => {
      calls++;
      return fn();
    };
    expect(await tmux.kill("gated", { graceMs: 5000, gate })).toBe(true);
    expect(calls).toBe(2);
    expect(await tmux.has("gated")).toBe(false);
  });

  test("list ignores sessions that are not kas_*; instant exits never lose the pane", async () => {
    Bun.spawnSync(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "other", "sleep", "30"]);
    for (let i = 0; i < 10; i++) await tmux.spawn({ title: `instant-${i}`, cwd: dir, argv: ["true"], env: {} });
    const list = await tmux.list();
    expect(list.some((s) => s.name === "other")).toBe(false);
    expect(list.filter((s) => s.name.startsWith("kas_instant-"))).toHaveLength(10);
    for (let i = 0; i < 10; i++) expect(await tmux.kill(`instant-${i}`, { graceMs: 0 })).toBe(true);
  });

  test("capture of an absent session is a TmuxError", async () => {
    const err = await tmux.capture("absent").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TmuxError);
    expect((err as TmuxError).stderr.length).toBeGreaterThan(0);
  });
});

// The daemon's spawns: the pane's shell runs the agent and records its exit status in a file, because
// tmux 3.3a sometimes shows a pane dead without ever showing its status.
describe("spawn with an exit status file", () => {
  const statusFile = (title: string) => join(dir, `${title}.status`);
  const readStatus = (title: string) => {
    try {
      return readFileSync(statusFile(title), "utf8");
    } catch {
      return null;
    }
  };
  const gone = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
    } catch {
      return true;
    }
  };
  const pidIn = async (title: string): Promise<number> => {
    await captureHas(title, "pid=");
    return Number(/pid=(\d+)/.exec(await tmux.capture(title))![1]);
  };

  test("exit statuses land in the file and in tmux alike: 7, and 143 for a SIGTERM; a stale file is removed at spawn", async () => {
    writeFileSync(statusFile("ex7"), "99\n"); // an earlier run's
    await tmux.spawn({ title: "ex7", cwd: dir, argv: sh("sleep 0.2; echo bye; exit 7"), env: {}, exitStatusFile: statusFile("ex7") });
    expect(readStatus("ex7")).toBeNull();
    await tmux.spawn({ title: "term", cwd: dir, argv: sh("sleep 0.2; kill -TERM $$"), env: {}, exitStatusFile: statusFile("term") });
    await waitFor(async () => (await tmux.list()).filter((s) => s.dead && (s.title === "ex7" || s.title === "term")).length === 2, 5000, "both panes dead");
    const byTitle = new Map((await tmux.list()).map((s) => [s.title, s]));
    expect(byTitle.get("ex7")).toMatchObject({ dead: true, exitStatus: 7 });
    expect(byTitle.get("term")).toMatchObject({ dead: true, exitStatus: 143 });
    expect(readStatus("ex7")).toBe("7\n");
    expect(readStatus("term")).toBe("143\n");
    expect(await tmux.capture("ex7", { start: "-" })).toContain("bye");
    for (const t of ["ex7", "term"]) await tmux.kill(t, { graceMs: 0 });
  });

  test("a pane tmux shows dead without a status: list() reads the status from the file", async () => {
    // The agent records a status, then the pane's shell dies by SIGKILL: tmux has no exit status for it.
    const script = `echo 5 > "${statusFile("lost")}"; kill -KILL $PPID; sleep 5`;
    await tmux.spawn({ title: "lost", cwd: dir, argv: sh(script), env: {}, exitStatusFile: statusFile("lost") });
    await waitFor(async () => (await tmux.list()).some((s) => s.title === "lost" && s.dead), 8000, "the dead pane");
    const raw = Bun.spawnSync(["tmux", "-L", socket, "list-panes", "-t", "=kas_lost:", "-F", "#{pane_dead}:#{pane_dead_status}"]).stdout.toString().trim();
    expect(raw).toBe("1:"); // tmux itself knows no status
    expect((await tmux.list()).find((s) => s.title === "lost")).toMatchObject({ dead: true, exitStatus: 5 });
    await tmux.kill("lost", { graceMs: 0 });
  });

  test("C-c reaches the agent, and the shell lives on to record how it ended", async () => {
    await tmux.spawn({ title: "cc", cwd: dir, argv: sh("trap 'exit 5' INT; echo pid=$$; while :; do sleep 0.05; done"), env: {}, exitStatusFile: statusFile("cc") });
    const pid = await pidIn("cc");
    expect(await tmux.kill("cc", { graceMs: 5000 })).toBe(true);
    expect(readStatus("cc")).toBe("5\n");
    expect(gone(pid)).toBe(true);
    expect(await tmux.has("cc")).toBe(false);
  });

  test("an agent ignoring SIGINT and SIGHUP is still killed after graceMs; one that does not dies on the hangup", async () => {
    await tmux.spawn({ title: "mule", cwd: dir, argv: sh("trap '' INT HUP; echo pid=$$; while :; do sleep 0.05; done"), env: {}, exitStatusFile: statusFile("mule") });
    const mule = await pidIn("mule");
    expect(await tmux.kill("mule", { graceMs: 300 })).toBe(true);
    await waitFor(async () => gone(mule), 3000, "the stubborn agent to be killed");
    await tmux.spawn({ title: "hup2", cwd: dir, argv: sh("echo pid=$$; sleep 30"), env: {}, exitStatusFile: statusFile("hup2") });
    const hup = await pidIn("hup2");
    expect(await tmux.kill("hup2", { graceMs: 0 })).toBe(true);
    await waitFor(async () => gone(hup), 3000, "the agent to die on the hangup");
    expect(await tmux.has("hup2")).toBe(false);
  });

  test("nice: the agent and its session's autogroup run at that niceness, from its first look", async () => {
    const niceOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
    const baseNice = niceOf(process.pid);
    await tmux.spawn({ title: "nicew", cwd: dir, argv: sh('echo "first=$(cat /proc/self/autogroup 2>/dev/null || echo none)"; echo pid=$$; exec sleep 30'), env: {}, nice: 7, exitStatusFile: statusFile("nicew") });
    const pid = await pidIn("nicew");
    expect(niceOf(pid)).toBe(Math.min(19, baseNice + 7));
    const first = /first=(.*)/.exec(await tmux.capture("nicew"))![1]!;
    if (first !== "none") expect(first).toMatch(/^\/autogroup-\d+ nice 7$/);
    await tmux.kill("nicew", { graceMs: 0 });
  });

  test("argv stays literal through the shell: spaces, quotes, $ and a trailing ';'", async () => {
    const out = join(dir, "argv.out");
    await tmux.spawn({ title: "lit", cwd: dir, argv: ["sh", "-c", 'printf "%s|" "$@" > "$0"', out, "a b", "it's", "$HOME", "x;"], env: {}, exitStatusFile: statusFile("lit") });
    await waitFor(async () => readStatus("lit") !== null, 5000, "the agent to end");
    expect(readFileSync(out, "utf8")).toBe("a b|it's|$HOME|x;|");
    expect(readStatus("lit")).toBe("0\n");
    await tmux.kill("lit", { graceMs: 0 });
  });
});
