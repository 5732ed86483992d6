// The control socket refuses other local users: its directory is 0700 and the socket itself 0600, and
// each layer alone is enough. Tested as a real second uid (`nobody`) through setpriv + curl, because
// root bypasses file permissions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Sandbox } from "../helpers/env.ts";

const OTHER_UID = 65534; // nobody
const OTHER_GID = 65534;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const haveTools = Bun.which("setpriv") !== null && Bun.which("curl") !== null;

let sb: Sandbox;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;

/** GET /v1/ping as the other uid; returns curl's exit code and output. */
function pingAsOther(sock: string): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(
    ["setpriv", `--reuid=${OTHER_UID}`, `--regid=${OTHER_GID}`, "--clear-groups", "curl", "-sS", "--max-time", "3", "--unix-socket", sock, "http://kasmos/v1/ping"],
    { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
  );
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe.skipIf(!isRoot || !haveTools)("socket permissions against a second uid", () => {
  beforeAll(async () => {
    sb = new Sandbox();
    proc = await sb.foreground();
    // The sandbox's own temp dirs are 0700 (mkdtemp); open them so only the daemon's layers remain.
    chmodSync(sb.dir, 0o755);
    chmodSync(sb.runtime, 0o755);
  });
  afterAll(async () => {
    proc?.kill("SIGTERM");
    await proc?.exited;
    await sb?.cleanup();
  });

  test("socket dir is 0700 and the socket 0600, owned by the daemon's uid", () => {
    const dir = statSync(dirname(sb.socket));
    const sock = statSync(sb.socket);
    expect(dir.mode & 0o777).toBe(0o700);
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o600);
    expect(dir.uid).toBe(process.getuid!());
    expect(sock.uid).toBe(process.getuid!());
  });

  test("another uid cannot connect (dir 0700 + socket 0600)", () => {
    const r = pingAsOther(sb.socket);
    expect(r.code).toBe(7); // couldn't connect
    expect(r.out).not.toContain('"ok"');
  });

  test("the 0600 socket alone still refuses when the dir is opened to 0755", () => {
    const dir = dirname(sb.socket);
    chmodSync(dir, 0o755);
    try {
      const r = pingAsOther(sb.socket);
      expect(r.code).toBe(7);
      expect(r.out).not.toContain('"ok"');
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  test("the 0700 dir alone still refuses when the socket is opened to 0666", () => {
    chmodSync(sb.socket, 0o666);
    try {
      const r = pingAsOther(sb.socket);
      expect(r.code).toBe(7);
    } finally {
      chmodSync(sb.socket, 0o600);
    }
  });

  test("control: with both layers opened the same probe does connect (the harness really tests permissions)", () => {
    const dir = dirname(sb.socket);
    chmodSync(dir, 0o755);
    chmodSync(sb.socket, 0o666);
    try {
      const r = pingAsOther(sb.socket);
      expect(r.code).toBe(0);
      expect(r.out).toContain('"ok":true');
    } finally {
      chmodSync(sb.socket, 0o600);
      chmodSync(dir, 0o700);
    }
  });
});
