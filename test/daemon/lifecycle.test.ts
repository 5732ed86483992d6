// start / stop / status / double start / stale socket / foreground / signals — against the compiled binary.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { alive, KAS, ping, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe("daemonized start/stop", () => {
  test("start daemonizes, writes PID file, socket 0600 in a 0700 dir; status; stop removes both", async () => {
    const r = await sb.run(["daemon", "start"]);
    expect(r.code).toBe(0);
    const m = r.stdout.match(/^daemon started \(pid (\d+)\)$/m);
    expect(m).not.toBeNull();
    const pid = Number(m![1]);
    expect(sb.daemonPid()).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect(statSync(sb.socket).mode & 0o777).toBe(0o600);
    expect(statSync(sb.socket).isSocket()).toBe(true);
    expect(statSync(dirname(sb.socket)).mode & 0o777).toBe(0o700);
    // Detached: own session, parent is not us.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").slice(readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2).split(" ");
    expect(Number(stat[3])).toBe(pid); // session id == pid (setsid)

    const st = await sb.run(["daemon", "status"]);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain(`daemon running (pid ${pid}`);
    expect(st.stdout).toContain("no repos registered");

    const js = await sb.run(["daemon", "status", "--json"]);
    const body = JSON.parse(js.stdout) as Record<string, unknown>;
    expect(body.running).toBe(true);
    expect(body.pid).toBe(pid);
    expect(typeof body.version).toBe("string");
    expect(typeof body.uptime_sec).toBe("number");
    expect(body.repo_count).toBe(0);
    expect(body.repos).toEqual([]);

    // The log file exists and has timestamped plain lines (no ANSI colour).
    const log = readFileSync(sb.logFile, "utf8");
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO kasmos .* listening on /m);
    expect(log).not.toContain("\x1b[");

    const stop = await sb.run(["daemon", "stop"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout.trim()).toBe("daemon stopped");
    expect(alive(pid)).toBe(false);
    expect(existsSync(sb.socket)).toBe(false);
    expect(existsSync(sb.pidFile)).toBe(false);
  });

  test("second start is refused with the running PID, PID file untouched", async () => {
    const r = await sb.run(["daemon", "start"]);
    expect(r.code).toBe(0);
    const pid = sb.daemonPid()!;
    const before = readFileSync(sb.pidFile, "utf8");
    const r2 = await sb.run(["daemon", "start"]);
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim()).toBe(`daemon already running (pid ${pid})`);
    expect(readFileSync(sb.pidFile, "utf8")).toBe(before);
    // --foreground is refused too
    const r3 = await sb.run(["daemon", "start", "--foreground"]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain("daemon already running");
    expect(alive(pid)).toBe(true);
    expect(await ping(sb.socket)).toBe(true);
  });

  test("status / stop / reload when not running → 'daemon not running', exit 1", async () => {
    for (const cmd of [["daemon", "status"], ["daemon", "stop"], ["daemon", "reload"], ["daemon", "add", sb.dir], ["daemon", "remove", sb.dir]]) {
      const r = await sb.run(cmd);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("daemon not running");
    }
  });

  test("stale PID file is cleaned up by stop", async () => {
    writeFileSync(`${sb.home}/x`, "");
    await sb.run(["daemon", "config"]); // creates nothing, just make sure config dir logic is fine
    const { mkdirSync } = await import("node:fs");
    mkdirSync(sb.configDir, { recursive: true });
    writeFileSync(sb.pidFile, "999999\n");
    const r = await sb.run(["daemon", "stop"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("daemon not running");
    expect(existsSync(sb.pidFile)).toBe(false);
  });

  test("after kill -9 the stale socket is removed at the next start", async () => {
    expect((await sb.run(["daemon", "start"])).code).toBe(0);
    const pid = sb.daemonPid()!;
    process.kill(pid, "SIGKILL");
    await waitFor(() => !alive(pid), 5000, "daemon to die");
    expect(existsSync(sb.socket)).toBe(true); // left behind
    const st = await sb.run(["daemon", "status"]);
    expect(st.code).toBe(1);
    expect(st.stderr.trim()).toBe("daemon not running");
    const r = await sb.run(["daemon", "start"]);
    expect(r.code).toBe(0);
    const pid2 = sb.daemonPid()!;
    expect(pid2).not.toBe(pid);
    expect(readFileSync(sb.logFile, "utf8")).toContain("removing stale socket");
    expect((await sb.run(["daemon", "status"])).code).toBe(0);
  });

  test("a daemon that dies at start reports exit 1 with the last log lines", async () => {
    sb.writeConfig('poll_interval_sec = "fast"\n');
    const r = await sb.run(["daemon", "start"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(sb.configPath);
    expect(r.stderr).toContain("poll_interval_sec");
    expect(r.stderr).toContain('"fast"');
    expect(existsSync(sb.pidFile)).toBe(false);
  });

  test("kas symlink behaves like kasmos", async () => {
    const a = await sb.run(["daemon", "start"], { bin: KAS });
    expect(a.code).toBe(0);
    const b = await sb.run(["d", "status", "--json"], { bin: KAS });
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).running).toBe(true);
    expect((await sb.run(["d", "stop"], { bin: KAS })).stdout.trim()).toBe("daemon stopped");
  });
});

describe("foreground", () => {
  test("writes the PID file, logs timestamped lines to stderr, SIGTERM removes socket and PID file", async () => {
    const proc = await sb.foreground();
    expect(sb.daemonPid()).toBe(proc.pid);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const err = await new Response(proc.stderr).text();
    expect(err).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO .*listening on/m);
    expect(err).toContain("received SIGTERM");
    expect(err).not.toContain("\x1b["); // not a TTY: no colour
    expect(existsSync(sb.socket)).toBe(false);
    expect(existsSync(sb.pidFile)).toBe(false);
  });

  test("SIGINT shuts down gracefully too; stop works on a foreground daemon", async () => {
    const proc = await sb.foreground();
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    expect(existsSync(sb.socket)).toBe(false);

    const proc2 = await sb.foreground();
    const r = await sb.run(["daemon", "stop"]);
    expect(r.stdout.trim()).toBe("daemon stopped");
    expect(await proc2.exited).toBe(0);
    expect(existsSync(sb.pidFile)).toBe(false);
  });

  test("--socket and socket_path choose the socket; a path over the unix limit is a clear error", async () => {
    const custom = `${sb.dir}/c.sock`;
    const proc = await sb.foreground(["--socket", custom]);
    expect(await ping(custom)).toBe(true);
    expect((await sb.run(["daemon", "--socket", custom, "status"])).code).toBe(0); // persistent flag before the subcommand
    expect((await sb.run(["daemon", "status", "--socket", custom])).code).toBe(0);
    proc.kill("SIGTERM");
    await proc.exited;

    const viaConfig = `${sb.dir}/cfg.sock`;
    sb.writeConfig(`socket_path = "${viaConfig}"\n`);
    const proc2 = await sb.foreground(["--socket", viaConfig]);
    expect((await sb.run(["daemon", "status"])).code).toBe(0); // client reads socket_path from daemon.toml
    proc2.kill("SIGTERM");
    await proc2.exited;

    const long = `${sb.dir}/${"x".repeat(120)}.sock`;
    const r = await sb.run(["daemon", "start", "--foreground", "--socket", long]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("socket path is too long");
  });
});

describe("socket safety", () => {
  test("a regular file at the socket path is never removed", async () => {
    const path = `${sb.dir}/not-a-socket`;
    writeFileSync(path, "precious");
    const r = await sb.run(["daemon", "start", "--foreground", "--socket", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a unix socket");
    expect(readFileSync(path, "utf8")).toBe("precious");
  });

  test("a daemon that dies after spawning (unusable store) is reported with its log", async () => {
    const r = await sb.run(["daemon", "start"], { env: { KASMOS_STORE: "/proc/kasmos-no/x.db" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("daemon failed to start");
    expect(r.stderr).toContain("daemon.log");
    expect(existsSync(sb.pidFile)).toBe(false);
  });
});
