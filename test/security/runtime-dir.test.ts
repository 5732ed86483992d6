// Another local account must not be able to stand in front of the control socket. Without
// XDG_RUNTIME_DIR the socket lives in $TMPDIR (else /tmp)/kasmos-<uid>/; before the fix a folder
// another account made there first (mode 777) was used anyway, so that account could swap in its own
// socket, read the CLI's requests and the agents' hook reports, and forge the answers. Tested with a
// real throwaway account (useradd, removed after): root bypasses permissions, not ownership checks.
// The fallback base is a private stand-in for /tmp (mode 1777) given as TMPDIR, so the real
// /tmp/kasmos-0 of other tests and daemons is never touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BIN, ping, Sandbox, waitFor } from "../helpers/env.ts";
import { asUser, isRoot, type LocalUser, makeUser, missingUserTools, removeUser } from "../helpers/users.ts";

let other: LocalUser = { name: "", uid: -1, gid: -1 };
let sb: Sandbox;
let base: string;
let env: Record<string, string>;

function asOther(script: string): void {
  const r = asUser(other, ["sh", "-c", script]);
  if (r.code !== 0) throw new Error(`as ${other.name}: ${script}: ${r.out}`);
}

describe.skipIf(!isRoot || missingUserTools().length > 0)("runtime folder and socket against another local account", () => {
  beforeAll(() => {
    other = makeUser("ktsock");
    sb = new Sandbox();
    chmodSync(sb.dir, 0o755); // the other account must reach the stand-in for /tmp
    base = join(sb.dir, "tmp");
    mkdirSync(base);
    chmodSync(base, 0o1777);
    env = { XDG_RUNTIME_DIR: "", TMPDIR: base };
  });
  afterAll(async () => {
    await sb?.cleanup();
    if (other.uid >= 0) await removeUser(other);
  });

  const fallbackDir = () => join(base, `kasmos-${process.getuid!()}`);

  test("a kasmos-<uid> folder another account made first (0777): start (foreground and detached) exits 1 with the fix; the CLI refuses it", async () => {
    asOther(`mkdir ${fallbackDir()} && chmod 0777 ${fallbackDir()}`);
    try {
      let r = await sb.run(["daemon", "start", "--foreground"], { env, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refusing the socket folder ${fallbackDir()}: it belongs to uid ${other.uid}, not to you`);
      expect(r.stderr).toContain("Fix: remove it");
      expect(existsSync(join(fallbackDir(), "kas.sock"))).toBe(false);
      r = await sb.run(["daemon", "start"], { env, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`belongs to uid ${other.uid}`);
      r = await sb.run(["daemon", "status"], { env, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refusing the socket folder ${fallbackDir()}`);
      expect(r.stderr).not.toContain("daemon not running");
    } finally {
      rmSync(fallbackDir(), { recursive: true, force: true });
    }
  }, 90_000);

  test("control: without the other account's folder the daemon makes kasmos-<uid> 0700 under TMPDIR and the CLI talks to it", async () => {
    const proc = Bun.spawn([BIN, "daemon", "start", "--foreground"], { env: { ...sb.env, ...env }, cwd: sb.dir, stdout: "ignore", stderr: "pipe", stdin: "ignore" });
    sb.track(proc.pid);
    try {
      await waitFor(async () => proc.exitCode !== null || (await ping(join(fallbackDir(), "kas.sock"))), 20_000, "the daemon on the fallback socket");
      expect(proc.exitCode).toBeNull();
      expect(statSync(fallbackDir()).mode & 0o7777).toBe(0o700);
      expect(lstatSync(join(fallbackDir(), "kas.sock")).isSocket()).toBe(true);
      const r = await sb.run(["daemon", "status", "--json"], { env });
      expect(r.code).toBe(0);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(fallbackDir(), { recursive: true, force: true });
    }
  }, 60_000);

  test("a kasmos-<uid> link the other account made (to a folder of ours) is refused", async () => {
    const ours = join(sb.dir, "ours");
    mkdirSync(ours, { mode: 0o700 });
    asOther(`ln -s ${ours} ${fallbackDir()}`);
    try {
      const r = await sb.run(["daemon", "start", "--foreground"], { env, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refusing ${fallbackDir()}: it is a symbolic link owned by uid ${other.uid}`);
    } finally {
      rmSync(fallbackDir(), { force: true });
    }
  }, 60_000);

  test("XDG_RUNTIME_DIR owned by the other account is refused", async () => {
    const xdg = join(sb.dir, "xdg-other");
    mkdirSync(xdg, { mode: 0o700 });
    chownSync(xdg, other.uid, other.gid);
    const r = await sb.run(["daemon", "start", "--foreground"], { env: { XDG_RUNTIME_DIR: xdg }, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refusing XDG_RUNTIME_DIR (${xdg}): it belongs to uid ${other.uid}`);
    expect(existsSync(join(xdg, "kasmos"))).toBe(false);
  }, 60_000);

  test("socket_path in a folder anyone can write (a shared 1777 dir) is refused by the daemon and the CLI", async () => {
    const sock = join(base, "kas.sock");
    let r = await sb.run(["daemon", "start", "--foreground", "--socket", sock], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refusing the socket folder ${base}: others can write to it (mode 1777)`);
    expect(existsSync(sock)).toBe(false);
    r = await sb.run(["daemon", "status", "--socket", sock], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("others can write to it");
  }, 60_000);

  test("the CLI never talks to a socket owned by another uid (forged answers), nor through a socket that is a link; hooks are not sent there", async () => {
    const dir = join(sb.dir, "fake");
    mkdirSync(dir, { mode: 0o700 });
    const sock = join(dir, "kas.sock");
    let requests = 0;
    const server = Bun.serve({
      unix: sock,
      fetch() {
        requests++;
        return Response.json({ running: true, pid: 1, version: "forged", uptime_sec: 1, repo_count: 0, repos: [] });
      },
    });
    try {
      chownSync(sock, other.uid, other.gid);
      let r = await sb.run(["daemon", "status", "--socket", sock], { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refusing the socket ${sock}: it belongs to uid ${other.uid}`);
      expect(r.stdout).not.toContain("forged");
      const hook = await sb.run(["agent", "hook", "--cli", "claude", "--event", "Stop", "--socket", sock], { env: { KASMOS_PROJECT: "p", KASMOS_INSTANCE_TITLE: "t-plan" }, timeoutMs: 20_000 });
      expect(hook.code).toBe(0); // a hook never fails its agent
      expect(requests).toBe(0);
      const doctor = await sb.run(["doctor", "--socket", sock], { timeoutMs: 30_000 });
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(new RegExp(`^FAIL\\s+socket path\\s+refusing the socket ${sock}: it belongs to uid ${other.uid}`, "m"));
      expect(doctor.stdout).toMatch(/^ok\s+daemon\s+not asked: the socket path is not safe/m);
      expect(requests).toBe(0);
      chownSync(sock, process.getuid!(), process.getgid!());
      const link = join(dir, "link.sock");
      symlinkSync(sock, link);
      r = await sb.run(["daemon", "status", "--socket", link], { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refusing the socket ${link}: it is a symbolic link`);
      r = await sb.run(["daemon", "start", "--foreground", "--socket", link], { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("is a symbolic link");
      expect(requests).toBe(0);
    } finally {
      server.stop(true);
    }
  }, 60_000);
});
