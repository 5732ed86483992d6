// Config values a typo or a hostile file can give: every interval, duration, count and limit has a
// floor and a ceiling (`poll_interval_sec = 1e-9` spun the idle daemon on 1.6 cores); a table key given
// a scalar is a type error (it was an "unknown key" warning with an unrelated suggestion); and the file
// is read only when it is a regular file of at most 1 MiB (a link to /dev/zero grew the daemon by
// 300 MB/s on reload; a FIFO blocked it in open()).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfigText } from "../../src/config/load.ts";
import { loadRepoOverrides } from "../../src/config/repo.ts";
import { ALL_KEYS } from "../../src/config/schema.ts";
import { Sandbox } from "../helpers/env.ts";

function configError(text: string): string {
  try {
    parseConfigText(text, "/k/daemon.toml");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${text}`);
}

const TABLE_OF = (key: string): string => (key.includes(".") ? `[${key.slice(0, key.lastIndexOf("."))}]\n${key.slice(key.lastIndexOf(".") + 1)}` : key);

describe("bounds", () => {
  test("every interval/duration key refuses 1e-9 and 1e9 and accepts 0.1 and 86400", () => {
    const seconds = ALL_KEYS.filter((s) => /seconds/.test(s.expected) && !/minutes|days/.test(s.expected));
    expect(seconds.map((s) => s.key)).toContain("poll_interval_sec");
    expect(seconds.map((s) => s.key)).toContain("pr_monitor.poll_interval_sec");
    expect(seconds.map((s) => s.key)).toContain("supervision.nudge_after_sec");
    for (const spec of seconds) {
      if (spec.key === "notify.reminder_after_sec") continue; // 0 = no reminder
      for (const bad of ["1e-9", "0.0001", "1e9", "inf", "nan"]) expect(configError(`${TABLE_OF(spec.key)} = ${bad}`)).toContain(`key "${spec.key}"`);
      for (const good of ["0.1", "86400"]) expect(() => parseConfigText(`${TABLE_OF(spec.key)} = ${good}`, "f")).not.toThrow();
    }
  });

  test("every numeric key has a ceiling: 1e300 is refused everywhere", () => {
    const numeric = ALL_KEYS.filter((s) => /number|seconds|USD|tokens/.test(s.expected));
    expect(numeric.length).toBeGreaterThan(15);
    for (const spec of numeric) expect(configError(`${TABLE_OF(spec.key)} = 1e300`)).toContain(`key "${spec.key}"`);
    expect(configError('[pricing."m"]\ninput = 1e300\noutput = 1')).toContain('key "pricing.m"');
  });

  test("a table key given a scalar is a type error naming the table, not an unknown key", () => {
    for (const [text, key] of [['notify = "x"', "notify"], ["budget = 5", "budget"], ["supervision = [1]", "supervision"], ["agents = true", "agents"], ["[agents]\nplanner = 5", "agents.planner"]] as const) {
      const msg = configError(text);
      expect(msg).toContain(`key "${key}": expected a table ([${key}]`);
      expect(msg).not.toContain("unknown key");
    }
  });
});

describe("reading the file", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());
  const fifo = join(sb.dir, "fifo.toml");
  Bun.spawnSync(["mkfifo", fifo]);

  test("a link to /dev/zero, a FIFO, a directory or a 2 MiB file is refused at once with the reason; a link to a file works", () => {
    const zero = join(sb.dir, "zero.toml");
    symlinkSync("/dev/zero", zero);
    const started = Date.now();
    expect(() => loadConfig(zero)).toThrow(/zero\.toml: is a character device, expected a regular file/);
    expect(() => loadConfig(fifo)).toThrow(/fifo\.toml: is a FIFO, expected a regular file/);
    expect(() => loadConfig(sb.dir)).toThrow(/is a directory/);
    const big = join(sb.dir, "big.toml");
    writeFileSync(big, `# ${"x".repeat(2 * 1024 * 1024)}\n`);
    expect(() => loadConfig(big)).toThrow(/is too large \(\d+ bytes, the limit is 1048576\)/);
    expect(Date.now() - started).toBeLessThan(2000);
    const real = join(sb.dir, "real.toml");
    writeFileSync(real, "poll_interval_sec = 3\n");
    const link = join(sb.dir, "link.toml");
    symlinkSync(real, link);
    expect(loadConfig(link).config.poll_interval_sec).toBe(3);
  });

  test("a repo's .kasmos/config.toml that is a FIFO or a link to /dev/zero is reported and ignored", () => {
    for (const [name, make] of [["zero", (p: string) => symlinkSync("/dev/zero", p)], ["fifo", (p: string) => Bun.spawnSync(["mkfifo", p])]] as const) {
      const repo = join(sb.dir, `repo-${name}`);
      mkdirSync(join(repo, ".kasmos"), { recursive: true });
      make(join(repo, ".kasmos", "config.toml"));
      const r = loadRepoOverrides(repo);
      // A link is not followed at all (hostile-links.test.ts); a FIFO is not a regular file.
      expect(r.error).toContain(name === "zero" ? "is a symbolic link" : "expected a regular file");
      expect(r.error).toContain("ignored; daemon values apply");
    }
  });

  test("binary: `daemon config` and `daemon reload` refuse a daemon.toml that is a FIFO, and the daemon keeps running", async () => {
    let r = await sb.run(["daemon", "config", "--config", fifo], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is a FIFO, expected a regular file");
    const conf = join(sb.dir, "d.toml");
    writeFileSync(conf, "poll_interval_sec = 2\n");
    const proc = await sb.foreground(["--config", conf]);
    try {
      Bun.spawnSync(["rm", "-f", conf]);
      symlinkSync("/dev/zero", conf);
      r = await sb.run(["daemon", "reload"], { timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("is a character device, expected a regular file");
      r = await sb.run(["daemon", "status", "--json"], { timeoutMs: 15_000 });
      expect(r.code).toBe(0);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }, 60_000);
});
