import { describe, expect, test } from "bun:test";
import {
  AGENT_ROLES,
  DEFAULT_PROGRAM,
  ProgramError,
  buildCommand,
  promptFilePointer,
  resolveProfile,
  splitCommandLine,
  type AgentProfile,
} from "../../src/agents/programs.ts";
import { harnessNameFor as adapterFor } from "../../src/agents/harness/index.ts";

const FILE = "/repo/.kasmos/prompts/login-throttle-coder.md";
const PROMPT = "You are the coder agent for task \"login-throttle\"; run `rm -rf $HOME` && echo 'never via a shell'";
/** What the named adapters pass as the first message: prompts travel through the file, never argv. */
const POINTER = promptFilePointer(FILE);

function profile(p: Partial<AgentProfile>): AgentProfile {
  return { program: "claude", flags: [], model: "", skipPermissions: false, ...p };
}

const HOOK = ["/opt/kasmos/kasmos", "agent", "hook"];
const RUN = "/state/run/app/t-coder";
/** What kasmos adds for its own supervision (hooks), per CLI. */
const CLAUDE_SETTINGS = ["--settings", `${RUN}/claude-settings.json`];
const CODEX_OWN = ["--disable", "daemon_auto_start", "-c", `notify=["/opt/kasmos/kasmos","agent","hook","--cli","codex","--event","notify"]`];

function cmd(p: Partial<AgentProfile>, _prompt = PROMPT): { argv: string[]; adapter: string; env: Record<string, string>; files: Record<string, string> } {
  const r = buildCommand(profile(p), { promptFile: FILE, hookCommand: HOOK, runDir: RUN });
  return { argv: r.argv, adapter: r.harness.name, env: r.env, files: r.files };
}

describe("adapter selection", () => {
  test("by basename, including absolute paths and Windows suffixes", () => {
    expect(adapterFor("claude")).toBe("claude");
    expect(adapterFor("/usr/local/bin/claude")).toBe("claude");
    expect(adapterFor("opencode")).toBe("opencode");
    expect(adapterFor("/home/me/.opencode/bin/opencode")).toBe("opencode");
    expect(adapterFor("codex")).toBe("codex");
    expect(adapterFor("C:\\tools\\codex.exe")).toBe("codex");
    expect(adapterFor("Claude")).toBe("claude");
  });

  test("anything else is generic", () => {
    expect(adapterFor("aider")).toBe("generic");
    expect(adapterFor("claude-wrapper")).toBe("generic");
    expect(adapterFor("/opt/claude/bin/agent")).toBe("generic");
    expect(adapterFor("npx")).toBe("generic");
  });

  test("buildCommand reports the adapter of the program's first word", () => {
    expect(cmd({ program: "/usr/local/bin/claude" }).adapter).toBe("claude");
    expect(cmd({ program: "opencode" }).adapter).toBe("opencode");
    expect(cmd({ program: "codex" }).adapter).toBe("codex");
    expect(cmd({ program: "my-agent" }).adapter).toBe("generic");
    expect(cmd({ program: "npx -y opencode-ai" }).adapter).toBe("generic");
  });
});

describe("claude adapter", () => {
  test("bare: program then the prompt as one argument", () => {
    expect(cmd({}).argv).toEqual(["claude", ...CLAUDE_SETTINGS, POINTER]);
  });

  test("model, skip-permissions, profile flags, prompt — in that order", () => {
    expect(cmd({ model: "opus", skipPermissions: true, flags: ["--verbose", "--add-dir", "../lib"] }).argv).toEqual([
      "claude",
      "--model",
      "opus",
      "--dangerously-skip-permissions",
      ...CLAUDE_SETTINGS,
      "--verbose",
      "--add-dir",
      "../lib",
      POINTER,
    ]);
  });

  test("absolute program path is kept as argv[0]", () => {
    expect(cmd({ program: "/usr/local/bin/claude", skipPermissions: true }).argv).toEqual(["/usr/local/bin/claude", "--dangerously-skip-permissions", ...CLAUDE_SETTINGS, POINTER]);
  });

  test("a blank model is omitted", () => {
    expect(cmd({ model: "   " }).argv).toEqual(["claude", ...CLAUDE_SETTINGS, POINTER]);
  });

  test("hooks for every event kasmos reads run `kasmos agent hook` from a per-spawn settings file", () => {
    const settings = JSON.parse(cmd({}).files["claude-settings.json"] ?? "{}") as { hooks: Record<string, { hooks: { type: string; command: string }[] }[]> };
    expect(Object.keys(settings.hooks).sort()).toEqual(["Notification", "PreToolUse", "SessionEnd", "SessionStart", "Stop", "StopFailure", "UserPromptSubmit"]);
    expect(settings.hooks.Stop?.[0]?.hooks[0]).toMatchObject({ type: "command", command: "/opt/kasmos/kasmos agent hook --cli claude --event Stop" });
  });
});

describe("opencode adapter", () => {
  test("model, --auto, flags, then --prompt <prompt> (TUI session, not one-shot `run`)", () => {
    const r = cmd({ program: "opencode", model: "anthropic/claude-sonnet-4", skipPermissions: true, flags: ["--agent", "build"] });
    expect(r.argv).toEqual([
      "opencode",
      "--model",
      "anthropic/claude-sonnet-4",
      "--auto",
      "--agent",
      "build",
      "--prompt",
      POINTER,
    ]);
  });

  test("without skip-permissions there is no --auto: the user's own permission rules apply", () => {
    expect(cmd({ program: "opencode" }).argv).toEqual(["opencode", "--prompt", POINTER]);
    expect(cmd({ program: "opencode" }).env).toEqual({});
  });
});

describe("codex adapter", () => {
  test("model, bypass flag, flags, then the prompt", () => {
    expect(cmd({ program: "codex", model: "gpt-5-codex", skipPermissions: true, flags: ["-c", "model_reasoning_effort=high"] }).argv).toEqual([
      "codex",
      "--model",
      "gpt-5-codex",
      "--dangerously-bypass-approvals-and-sandbox",
      ...CODEX_OWN,
      "-c",
      "model_reasoning_effort=high",
      POINTER,
    ]);
  });

  test("without skip-permissions no bypass flag", () => {
    expect(cmd({ program: "codex", model: "o3" }).argv).toEqual(["codex", "--model", "o3", ...CODEX_OWN, POINTER]);
  });
});

describe("generic adapter", () => {
  test("program words, flags, then the prompt FILE path last; model, permissions and prompt text are not passed", () => {
    const r = cmd({ program: "my-agent --headless", flags: ["--color", "never"], model: "big", skipPermissions: true });
    expect(r.adapter).toBe("generic");
    expect(r.argv).toEqual(["my-agent", "--headless", "--color", "never", FILE]);
    expect(r.argv).not.toContain(PROMPT);
  });

  test("a relative prompt file starting with '-' is made unambiguous", () => {
    expect(buildCommand(profile({ program: "agent" }), { promptFile: "-p.md" }).argv).toEqual(["agent", "./-p.md"]);
  });
});

describe("programs with spaces and quotes", () => {
  test("split shell-like into argv; adapter from the first word", () => {
    const r = cmd({ program: "'/opt/my tools/claude' --verbose", skipPermissions: true });
    expect(r.adapter).toBe("claude");
    expect(r.argv).toEqual(["/opt/my tools/claude", "--verbose", "--dangerously-skip-permissions", ...CLAUDE_SETTINGS, POINTER]);
  });

  test("double quotes, escapes and extra whitespace", () => {
    expect(splitCommandLine(`  env  "A=b c" 'd"e' x\\ y "q\\"r\\\\s" '' `)).toEqual({ ok: true, argv: ["env", "A=b c", 'd"e', "x y", 'q"r\\s', ""] });
    expect(splitCommandLine(`"C:\\bin"`)).toEqual({ ok: true, argv: ["C:\\bin"] });
    expect(splitCommandLine(`a'b'"c"`)).toEqual({ ok: true, argv: ["abc"] });
  });

  test("no expansion: $VAR, ~ and globs stay literal", () => {
    expect(splitCommandLine("run $HOME ~/x *.ts")).toEqual({ ok: true, argv: ["run", "$HOME", "~/x", "*.ts"] });
  });

  test("unterminated quotes and empty programs throw ProgramError", () => {
    expect(splitCommandLine("claude 'oops").ok).toBe(false);
    expect(splitCommandLine('claude "oops').ok).toBe(false);
    expect(splitCommandLine("claude \\").ok).toBe(false);
    expect(() => cmd({ program: "claude 'oops" })).toThrow(ProgramError);
    expect(() => cmd({ program: "   " })).toThrow(ProgramError);
    expect(() => cmd({ program: "''" })).toThrow(ProgramError);
  });
});

describe("prompt delivery", () => {
  test("prompt text never reaches argv (readable by any local user in /proc): only a pointer to the file", () => {
    const weird = "line 1\nline 2 $(whoami) `id` \"q\" 'q' ; | & > <";
    for (const program of ["claude", "opencode", "codex", "my-agent"]) {
      const argv = cmd({ program }, weird).argv;
      expect(argv.join("\n")).not.toContain("whoami");
      expect(argv.join(" ")).toContain(FILE);
    }
  });

  test("any size of prompt: the argv stays small", () => {
    const big = "x".repeat(200 * 1024);
    for (const program of ["claude", "opencode", "codex"]) {
      const argv = cmd({ program }, big).argv;
      expect(argv.at(-1)).toBe(promptFilePointer(FILE));
      expect(argv.join(" ").length).toBeLessThan(1000);
    }
  });

  test("a prompt that would parse as an option goes through the file", () => {
    expect(cmd({}, "--help").argv).toEqual(["claude", ...CLAUDE_SETTINGS, promptFilePointer(FILE)]);
  });
});

describe("resolveProfile", () => {
  test("six roles", () => {
    expect([...AGENT_ROLES]).toEqual(["planner", "architect", "coder", "reviewer", "fixer", "master"]);
  });

  test("nothing configured: claude, no flags, no model, skip permissions", () => {
    for (const role of AGENT_ROLES) {
      expect(resolveProfile(role, { daemon: {} })).toEqual({ program: DEFAULT_PROGRAM, flags: [], model: "", skipPermissions: true });
    }
    expect(DEFAULT_PROGRAM).toBe("claude");
  });

  test("daemon role profile applies to that role only", () => {
    const daemon = { coder: { program: "codex", model: "o3", flags: ["-c", "x=1"], skipPermissions: false } };
    expect(resolveProfile("coder", { daemon })).toEqual({ program: "codex", model: "o3", flags: ["-c", "x=1"], skipPermissions: false });
    expect(resolveProfile("reviewer", { daemon }).program).toBe("claude");
  });

  test("repo overrides daemon per field", () => {
    const daemon = { reviewer: { program: "claude", model: "opus", flags: ["--verbose"], skipPermissions: true } };
    const repo = { reviewer: { model: "sonnet" } };
    expect(resolveProfile("reviewer", { daemon, repo })).toEqual({ program: "claude", model: "sonnet", flags: ["--verbose"], skipPermissions: true });
    expect(resolveProfile("reviewer", { daemon, repo: { reviewer: { program: "opencode", flags: [], skipPermissions: false } } })).toEqual({
      program: "opencode",
      model: "opus",
      flags: [],
      skipPermissions: false,
    });
  });

  test("program precedence: repo role > daemon role > repo default > daemon default > claude", () => {
    const daemon = { default_program: "codex", coder: { program: "opencode" } };
    expect(resolveProfile("coder", { daemon, repo: { coder: { program: "/bin/claude" }, default_program: "aider" } }).program).toBe("/bin/claude");
    expect(resolveProfile("coder", { daemon, repo: { default_program: "aider" } }).program).toBe("opencode");
    expect(resolveProfile("planner", { daemon, repo: { default_program: "aider" } }).program).toBe("aider");
    expect(resolveProfile("planner", { daemon }).program).toBe("codex");
    expect(resolveProfile("planner", { daemon: {} }).program).toBe("claude");
  });

  test("empty or blank strings count as unset", () => {
    const daemon = { default_program: "  ", master: { program: "codex", model: "o3" } };
    expect(resolveProfile("master", { daemon, repo: { master: { program: "", model: " " } } })).toMatchObject({ program: "codex", model: "o3" });
    expect(resolveProfile("fixer", { daemon }).program).toBe("claude");
  });

  test("skipPermissions: repo false beats daemon true; repo unset inherits daemon false", () => {
    expect(resolveProfile("fixer", { daemon: { fixer: { skipPermissions: true } }, repo: { fixer: { skipPermissions: false } } }).skipPermissions).toBe(false);
    expect(resolveProfile("fixer", { daemon: { fixer: { skipPermissions: false } }, repo: { fixer: { model: "m" } } }).skipPermissions).toBe(false);
  });

  test("returned flags are a copy", () => {
    const daemon = { coder: { flags: ["--a"] } };
    resolveProfile("coder", { daemon }).flags.push("--b");
    expect(daemon.coder.flags).toEqual(["--a"]);
  });

  test("resolved profile feeds buildCommand", () => {
    const p = resolveProfile("coder", { daemon: { coder: { program: "/usr/local/bin/claude", model: "opus" } } });
    expect(buildCommand(p, { promptFile: FILE, hookCommand: HOOK, runDir: RUN }).argv).toEqual(["/usr/local/bin/claude", "--model", "opus", "--dangerously-skip-permissions", ...CLAUDE_SETTINGS, POINTER]);
  });
});
