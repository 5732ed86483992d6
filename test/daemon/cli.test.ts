// Help, version and usage errors of the compiled binary.
import { afterAll, describe, expect, test } from "bun:test";
import { Sandbox } from "../helpers/env.ts";

const sb = new Sandbox();
afterAll(() => sb.cleanup());

describe("cli", () => {
  test("--version prints the version", async () => {
    const r = await sb.run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("--help on every daemon command, with examples", async () => {
    for (const sub of ["start", "stop", "status", "add", "remove", "reload", "config"]) {
      const r = await sb.run(["daemon", sub, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE");
      expect(r.stdout).toContain("EXAMPLES");
      expect(r.stdout).toContain(`kas daemon ${sub}`);
    }
    const top = await sb.run(["--help"]);
    expect(top.stdout).toContain("daemon, d");
    const start = await sb.run(["d", "start", "--help"]);
    expect(start.stdout).toContain("--foreground");
    expect(start.stdout).toContain("--config");
    expect(start.stdout).toContain("systemd");
  });

  test("unknown command and missing argument fail with exit 1", async () => {
    const r = await sb.run(["daemon", "frobnicate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command frobnicate");
    const r2 = await sb.run(["daemon", "add"]);
    expect(r2.code).toBe(1);
  });

  test("typos are refused with a suggestion, never ignored: options and commands, exit 1, nothing done", async () => {
    const cases: [string[], string][] = [
      [["task", "create", "t", "--descripton", "x", "--plna", "p.md"], "unknown option --descripton (did you mean --description?)"],
      [["task", "list", "--stauts", "done"], "unknown option --stauts (did you mean --status?)"],
      [["deamon", "start"], "unknown command deamon (did you mean daemon?)"],
      [["daemon", "--socket", "/tmp/none.sock", "statu"], "unknown command statu (did you mean status?)"],
      [["agent", "capture", "x", "--line", "3"], "unknown option --line (did you mean --lines?)"],
    ];
    for (const [args, msg] of cases) {
      const r = await sb.run(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(msg);
      expect(r.stdout).toBe("");
    }
    // Valid spellings still work: kebab and camel, --no- for booleans, values that look like numbers.
    expect((await sb.run(["daemon", "status", "--json"])).stderr).not.toContain("unknown");
    expect((await sb.run(["daemon", "logs", "-n", "-1"])).stderr).not.toContain("unknown option");
    expect((await sb.run(["task", "list", "--no-json", "--repo", sb.dir])).stderr).not.toContain("unknown option");
  });

  test("off a terminal: no colour and no trailing spaces in help; a usage error goes to stderr, short, nothing on stdout", async () => {
    for (const args of [["--help"], ["daemon", "--help"], ["task", "create", "--help"], ["agent", "restart", "--help"]]) {
      const r = await sb.run(args, { env: { NO_COLOR: "" } });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("\u001b[");
      expect(r.stdout.split("\n").filter((l) => / $/.test(l))).toEqual([]);
    }
    const r = await sb.run(["daemon", "add"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual(["Missing required positional argument: PATH", "usage: kasmos daemon add [OPTIONS] <PATH>", "run `kasmos daemon add --help` for the options and examples"]);
    expect(r.stderr).not.toContain("\u001b[");
  });
});
