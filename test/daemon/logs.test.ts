// `kasmos daemon logs [-f] [-n N]` against fixture logs in a temp HOME (compiled binary).
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox, alive, waitFor } from "../helpers/env.ts";

const sb = new Sandbox("kl-");
afterAll(() => sb.cleanup());

const line = (i: number) => `2025-01-01T00:00:00.000Z INFO line ${i} ${"x".repeat(40)}`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k));

function writeLog(text: string): void {
  mkdirSync(sb.configDir, { recursive: true });
  writeFileSync(sb.logFile, text);
}

describe("daemon logs", () => {
  test("-n prints the last N lines; the default is 50", async () => {
    writeLog(`${lines(1, 120).join("\n")}\n`);
    const r = await sb.run(["daemon", "logs", "-n", "5"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${lines(116, 120).join("\n")}\n`);
    expect(r.stderr).toBe("");
    const d = await sb.run(["daemon", "logs"]);
    expect(d.stdout).toBe(`${lines(71, 120).join("\n")}\n`);
    const long = await sb.run(["daemon", "logs", "--lines", "1000"]);
    expect(long.stdout).toBe(`${lines(1, 120).join("\n")}\n`);
    const zero = await sb.run(["daemon", "logs", "-n", "0"]);
    expect(zero.code).toBe(0);
    expect(zero.stdout).toBe("");
  });

  test("tails across read chunks and without a final newline", async () => {
    writeLog(lines(1, 5000).join("\n")); // ~300 KB, no trailing newline
    const r = await sb.run(["daemon", "logs", "-n", "3000"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${lines(2001, 5000).join("\n")}\n`);
    const one = await sb.run(["daemon", "logs", "-n", "1"]);
    expect(one.stdout).toBe(`${line(5000)}\n`);
  });

  test("a bad -n is a usage error", async () => {
    writeLog("a\n");
    const r = await sb.run(["daemon", "logs", "-n", "ten"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--lines");
  });

  test("-f prints appended lines, follows rotation to daemon.log.1, ends on SIGINT", async () => {
    writeLog(`${lines(1, 10).join("\n")}\n`);
    const proc = Bun.spawn([BIN, "daemon", "logs", "-f", "-n", "2"], { env: sb.env, cwd: sb.dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    sb.track(proc.pid);
    const guardTimer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    let out = "";
    const decoder = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of proc.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    try {
      await waitFor(() => out.includes(line(10)), 10_000, "the initial tail");
      expect(out).toBe(`${lines(9, 10).join("\n")}\n`);

      appendFileSync(sb.logFile, `${line(11)}\n${line(12)}\n`);
      await waitFor(() => out.includes(line(12)), 10_000, "appended lines");

      // A partial line is held back until it is complete.
      appendFileSync(sb.logFile, "partial ");
      await Bun.sleep(500);
      expect(out).not.toContain("partial");
      appendFileSync(sb.logFile, "done\n");
      await waitFor(() => out.includes("partial done\n"), 10_000, "the completed line");

      // Rotation: the daemon renames daemon.log → daemon.log.1 (a last line may still land there), then starts a new file.
      renameSync(sb.logFile, `${sb.logFile}.1`);
      appendFileSync(`${sb.logFile}.1`, `${line(13)}\n`);
      writeFileSync(sb.logFile, `${line(14)}\n`);
      await waitFor(() => out.includes(line(14)), 10_000, "the first line of the new file");
      appendFileSync(sb.logFile, `${line(15)}\n`);
      await waitFor(() => out.includes(line(15)), 10_000, "a line appended after rotation");
      expect(out).toBe(`${[...lines(9, 12), "partial done", ...lines(13, 15)].join("\n")}\n`);

      process.kill(proc.pid, "SIGINT");
      const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "timeout" as const)]);
      expect(code).toBe(0);
      await reading;
      expect(alive(proc.pid)).toBe(false);
    } finally {
      clearTimeout(guardTimer);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(`${sb.logFile}.1`, { force: true });
    }
  });
});

describe("daemon logs without a log file", () => {
  const fresh = new Sandbox("kl-");
  afterAll(() => fresh.cleanup());

  test("nothing logged yet: exit 1 with a hint", async () => {
    const r = await fresh.run(["daemon", "logs"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("daemon.log does not exist");
    expect(r.stderr).toContain("has not logged yet");
    const f = await fresh.run(["daemon", "logs", "-f"], { timeoutMs: 10_000 });
    expect(f.code).toBe(1);
    expect(f.stderr).toContain("has not logged yet");
  });

  test("under systemd (env), point at the journal", async () => {
    const envs: Record<string, string>[] = [{ INVOCATION_ID: "0123456789abcdef0123456789abcdef" }, { JOURNAL_STREAM: "8:12345" }];
    for (const env of envs) {
      const r = await fresh.run(["daemon", "logs"], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("journalctl --user -u kasmos -f");
    }
  });

  test("with the systemd unit installed, point at the journal", async () => {
    const install = await fresh.run(["daemon", "service", "install"]);
    expect(install.code).toBe(0);
    const r = await fresh.run(["daemon", "logs", "-n", "10"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("journalctl --user -u kasmos -f");
    expect(r.stderr).not.toContain("has not logged yet");
  });
});
