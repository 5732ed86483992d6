// Config parsing and validation (in-process) and `kasmos daemon config` (binary).
import { afterAll, describe, expect, test } from "bun:test";
import { loadConfig, parseConfigText, ConfigError } from "../../src/config/load.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { Sandbox } from "../helpers/env.ts";

// The product page's example config, verbatim.
const PAGE_EXAMPLE = `# how often the daemon scans for signals (seconds)
poll_interval_sec = 2.0

# repositories to manage on daemon startup
repos = ["/home/user/project-a", "/home/user/project-b"]

# automatically transition planning→ready after planner_finished signal
auto_advance = false

# automatically advance between waves when all tasks in a wave complete
auto_advance_waves = true

# automatically start a fixer after review_changes_requested
auto_review_fix = true

# master agent readiness gate after reviewer approval (enabled by default)
auto_readiness_review = true

# maximum review-fix loop iterations (0 = unlimited)
max_review_fix_cycles = 0

# master agent self-fix ceiling: net lines that may be changed in one attempt (default 80)
readiness_self_fix_max_lines = 80

# verify-round cap: force-promote verify_failed to verify_approved after this many attempts (default 2)
# project-local config.toml overrides this value per-repo
readiness_max_verify_cycles = 2

# unix socket path (overrides XDG_RUNTIME_DIR-based default)
socket_path = ""

[pr_monitor]
# enable GitHub PR polling
enabled = false
# how often to poll open PRs (seconds)
poll_interval_sec = 60.0
# GitHub reactions to add to unprocessed review comments
reactions = ["eyes"]
`;

describe("config", () => {
  test("the page's full example parses to the page's defaults", () => {
    const { config, warnings, sources } = parseConfigText(PAGE_EXAMPLE, "daemon.toml");
    expect(warnings).toEqual([]);
    expect(config).toEqual({ ...defaultConfig(), repos: ["/home/user/project-a", "/home/user/project-b"] });
    expect(sources.poll_interval_sec).toBe("file");
    expect(sources.watch_signals).toBe("default");
  });

  test("defaults are the page's", () => {
    const d = defaultConfig();
    expect(d).toEqual({
      poll_interval_sec: 2.0,
      repos: [],
      auto_advance: false,
      auto_advance_waves: true,
      auto_review_fix: true,
      auto_readiness_review: true,
      max_review_fix_cycles: 0,
      readiness_self_fix_max_lines: 80,
      readiness_max_verify_cycles: 2,
      socket_path: "",
      watch_signals: true,
      pr_monitor: { enabled: false, poll_interval_sec: 60.0, reactions: ["eyes"] },
      // kasmos additions for PR creation
      auto_create_pr: true,
      github: { api_url: "https://api.github.com" },
      // kasmos additions for agent orchestration
      default_program: "",
      agents: {},
      orchestration: { blueprint_skip_threshold: 2, max_parallel_wave_tasks: "auto" },
      supervision: { nudges: 1, nudge_after_sec: 3, idle_after_sec: 120, start_timeout_sec: 90, stop_grace_sec: 60, limit_wait_sec: 300, unknown_screen_sec: 120 },
      retention: { days: 90, quarantine_max_files: 1000, worktree_grace_days: 7, gc_interval_min: 60 },
      resources: { agent_nice: 10 },
      budget: { task_usd: 0, task_tokens: 0, day_usd: 0 },
      notify: { command: "", webhook: "", format: "json", desktop: false, kinds: [], repos: [], reminder_after_sec: 1800 },
      worktree: { copy: [], setup: "", setup_timeout_sec: 600, teardown: "", teardown_timeout_sec: 60, ports: "40000-40999" },
      web: { listen: "", allow_remote: false, tls_cert: "", tls_key: "" },
      sandbox: { mode: "auto", write: [], read: [], env: [], network: "on" },
      pricing: {},
    });
  });

  test("[resources] agent_nice: 0–19, whole numbers only", () => {
    expect(parseConfigText("[resources]\nagent_nice = 0\n", "f").config.resources.agent_nice).toBe(0);
    expect(parseConfigText("[resources]\nagent_nice = 19\n", "f").config.resources.agent_nice).toBe(19);
    expect(() => parseConfigText("[resources]\nagent_nice = 20\n", "f")).toThrow(/resources\.agent_nice.*0 to 19/);
    expect(() => parseConfigText("[resources]\nagent_nice = -5\n", "f")).toThrow(/resources\.agent_nice/);
    expect(() => parseConfigText("[resources]\nagent_nice = 2.5\n", "f")).toThrow(/resources\.agent_nice/);
    expect(parseConfigText("[resources]\nagent_nic = 5\n", "f").warnings[0]).toContain('did you mean "resources.agent_nice"');
  });

  test("agent profiles and orchestration keys parse and validate", () => {
    const r = parseConfigText('default_program = "opencode"\n[agents.reviewer]\nprogram = "codex"\nflags = ["--x"]\nmodel = "m"\n[orchestration]\nmax_parallel_wave_tasks = 3\n', "f");
    expect(r.config.agents.reviewer).toEqual({ program: "codex", flags: ["--x"], model: "m" });
    expect(r.config.orchestration.max_parallel_wave_tasks).toBe(3);
    expect(r.config.orchestration.blueprint_skip_threshold).toBe(2);
    expect(r.sources["agents.reviewer.program"]).toBe("file");
    expect(() => parseConfigText("[agents.coder]\nflags = \"--x\"\n", "f")).toThrow(/agents\.coder\.flags/);
    expect(parseConfigText("[agents.painter]\nprogram = \"x\"\n", "f").warnings[0]).toContain('unknown key "agents.painter"');
  });

  test("auto_create_pr and [github] api_url parse and validate", () => {
    const r = parseConfigText('auto_create_pr = false\n[github]\napi_url = "http://127.0.0.1:8080"\n', "f");
    expect(r.config.auto_create_pr).toBe(false);
    expect(r.config.github.api_url).toBe("http://127.0.0.1:8080");
    expect(r.sources["github.api_url"]).toBe("file");
    expect(() => parseConfigText('[github]\napi_url = "github.com"\n', "f")).toThrow(/github\.api_url.*http\(s\) URL/);
    expect(() => parseConfigText('auto_create_pr = "yes"\n', "f")).toThrow(/auto_create_pr/);
  });

  test("missing file → defaults", () => {
    const l = loadConfig("/nonexistent/daemon.toml");
    expect(l.fileExists).toBe(false);
    expect(l.config).toEqual(defaultConfig());
  });

  test("wrong types and out-of-range values name file, key, expected type and given value", () => {
    const cases: [string, string[]][] = [
      ['poll_interval_sec = "2"', ['key "poll_interval_sec"', "expected a number", '"2" (string)']],
      ["poll_interval_sec = 0", ['key "poll_interval_sec"', "from 0.1 to 86400", "0 (number)"]],
      ["poll_interval_sec = -1.5", ["-1.5 (number)"]],
      ["max_review_fix_cycles = 1.5", ['key "max_review_fix_cycles"', "whole number", "1.5"]],
      ["readiness_max_verify_cycles = 0", ['key "readiness_max_verify_cycles"', "from 1 to 1000"]],
      ["auto_advance = \"yes\"", ['key "auto_advance"', "boolean", '"yes" (string)']],
      ["repos = \"/a\"", ['key "repos"', "array", '"/a"']],
      ["repos = [1]", ['key "repos"']],
      ["[pr_monitor]\nenabled = 1", ['key "pr_monitor.enabled"', "boolean", "1 (number)"]],
      ["[pr_monitor]\nreactions = \"eyes\"", ['key "pr_monitor.reactions"']],
      ["pr_monitor = 3", ['key "pr_monitor"', "expected a table ([pr_monitor]", "3 (number)"]],
    ];
    for (const [text, parts] of cases) {
      let msg = "";
      try {
        const r = parseConfigText(text, "/etc/k.toml");
        msg = r.warnings.join("\n");
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        msg = (e as Error).message;
      }
      expect(msg).toContain("/etc/k.toml");
      for (const p of parts) expect(msg).toContain(p);
    }
  });

  test("broken TOML names the file and the place", () => {
    expect(() => parseConfigText("a = [1,\nb=", "/x/daemon.toml")).toThrow(/\/x\/daemon\.toml: Invalid TOML/);
  });

  test("unknown keys warn with the nearest valid key", () => {
    const r = parseConfigText("pol_interval_sec = 3\nauto_advanse = true\n[pr_monitor]\nenable = true\n", "f.toml");
    expect(r.warnings).toHaveLength(3);
    expect(r.warnings[0]).toContain('unknown key "pol_interval_sec" ignored (did you mean "poll_interval_sec"?)');
    expect(r.warnings[1]).toContain('did you mean "auto_advance"');
    expect(r.warnings[2]).toContain('"pr_monitor.enable"');
    expect(r.warnings[2]).toContain('did you mean "pr_monitor.enabled"');
    expect(r.config.poll_interval_sec).toBe(2);
  });

  test("reactions are trimmed, empties dropped, never empty", () => {
    expect(parseConfigText('[pr_monitor]\nreactions = ["", " rocket ", ""]', "f").config.pr_monitor.reactions).toEqual(["rocket"]);
    expect(parseConfigText('[pr_monitor]\nreactions = [" "]', "f").config.pr_monitor.reactions).toEqual(["eyes"]);
  });
});

describe("kasmos daemon config", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());

  test("prints effective values with their source; --json; errors exit 1", async () => {
    let r = await sb.run(["daemon", "config", "--json"]);
    expect(r.code).toBe(0);
    let j = JSON.parse(r.stdout) as { file_exists: boolean; config: { auto_advance: boolean }; sources: Record<string, string> };
    expect(j.file_exists).toBe(false);
    expect(j.config.auto_advance).toBe(false);

    sb.writeConfig("poll_interval_sec = 5\nwatch_signals = false\nbogus = 1\n");
    r = await sb.run(["daemon", "config"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/poll_interval_sec\s+= 5 {2}# file/);
    expect(r.stdout).toMatch(/auto_advance\s+= false {2}# default/);
    expect(r.stdout).toContain('unknown key "bogus"');
    j = JSON.parse((await sb.run(["daemon", "config", "--json"])).stdout);
    expect(j.sources.watch_signals).toBe("file");

    sb.writeConfig("watch_signals = 3\n");
    r = await sb.run(["daemon", "config"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('key "watch_signals"');
  });
});
