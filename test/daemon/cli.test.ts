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
    expect(r.stderr).toContain("Unknown command");
    const r2 = await sb.run(["daemon", "add"]);
    expect(r2.code).toBe(1);
  });
});
