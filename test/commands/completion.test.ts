// `kasmos completion bash|zsh|fish` from the compiled binary: syntax checked by each shell, the command tree
// compared with the binary's own --help, and completions exercised in bash, zsh and fish (scripts/setup.sh
// installs both shells; a missing one fails here rather than skipping its checks).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../helpers/env.ts";

const sb = new Sandbox("kc-");
afterAll(() => sb.cleanup());

const ZSH = Bun.which("zsh");
const FISH = Bun.which("fish");
const scripts: Record<string, string> = {};
const files: Record<string, string> = {};

beforeAll(async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await sb.run(["completion", shell]);
    if (r.code !== 0) throw new Error(`completion ${shell} failed: ${r.stderr}`);
    scripts[shell] = r.stdout;
    files[shell] = join(sb.dir, `completion.${shell}`);
    writeFileSync(files[shell]!, r.stdout);
  }
});

function sh(argv: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: sb.home, LANG: "C.UTF-8" } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

/** Subcommand names and aliases from the USAGE line of `kasmos <group> --help` ("USAGE kasmos daemon|d|task|…"). */
async function helpCommands(args: string[]): Promise<string[]> {
  const r = await sb.run([...args, "--help"]);
  expect(r.code).toBe(0);
  const usage = /^USAGE (.*)$/m.exec(r.stdout)?.[1] ?? "";
  return (usage.trim().split(" ").pop() ?? "").split("|").filter((w) => w.length > 0);
}

/** The long options a command's --help lists, plus --help itself (which citty always accepts). */
async function helpFlags(args: string[]): Promise<string[]> {
  const r = await sb.run([...args, "--help"]);
  expect(r.code).toBe(0);
  const options = r.stdout.split("\nEXAMPLES")[0]!.split("\nOPTIONS")[1] ?? "";
  return [...new Set([...[...options.matchAll(/^\s+(--[a-z][a-z-]*)/gm)].map((m) => m[1]!), "--help"])].sort();
}

/** A shell the tests need, or a failure naming the fix. */
function need(path: string | null, shell: string): string {
  if (!path) throw new Error(`${shell} is not installed: run sh scripts/setup.sh (or apt-get install ${shell})`);
  return path;
}

/** Run the bash completion function for a command line; the last word is the one being completed. */
function bashComplete(words: string[]): string[] {
  const quoted = words.map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" ");
  const r = sh(["bash", "-c", `source ${files.bash}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _kasmos; printf '%s\\n' "\${COMPREPLY[@]}"`]);
  expect(r.code).toBe(0);
  return r.out.split("\n").filter((l) => l.length > 0);
}

describe("completion", () => {
  test("every script is valid syntax (bash -n, zsh -n, fish --no-execute)", () => {
    expect(sh(["bash", "-n", files.bash!])).toEqual({ code: 0, out: "" });
    expect(sh([need(ZSH, "zsh"), "-n", files.zsh!])).toEqual({ code: 0, out: "" });
    expect(sh([need(FISH, "fish"), "--no-execute", files.fish!])).toEqual({ code: 0, out: "" });
  });

  test("scripts cover kasmos and kas, the subcommands, aliases and flags", () => {
    for (const [shell, text] of Object.entries(scripts)) {
      for (const word of ["daemon", "task", "signal", "agent", "start", "status", "doctor", "completion"]) {
        expect(text, `${shell} script lacks ${word}`).toContain(word);
      }
      for (const flag of ["json", "socket", "config", "help"]) {
        // fish spells a long option `-l 'json'`, bash/zsh `--json`.
        expect(text, `${shell} script lacks --${flag}`).toContain(shell === "fish" ? `-l '${flag}'` : `--${flag}`);
      }
      expect(text).toMatch(/\bkas\b/);
      expect(text).toContain("kasmos");
    }
    expect(scripts.bash).toContain("complete -F _kasmos kasmos kas");
    expect(scripts.zsh!.startsWith("#compdef kasmos kas\n")).toBe(true);
    expect(scripts.fish).toContain("complete -c kas ");
    expect(scripts.bash).toContain("'|d') REPLY='daemon'"); // alias d → daemon
  });

  test("generated from the real tree: every command in the binary's --help is in the scripts", async () => {
    const top = await helpCommands([]);
    expect(top).toEqual(expect.arrayContaining(["daemon", "d", "task", "signal", "agent", "doctor", "completion"]));
    expect(bashComplete(["kasmos", ""]).sort()).toEqual([...top].sort());
    for (const group of ["daemon", "task", "signal", "agent"]) {
      const subs = await helpCommands([group]);
      expect(subs.length).toBeGreaterThan(0);
      expect(bashComplete(["kasmos", group, ""]).sort()).toEqual([...subs].sort());
    }
  });

  test("bash: nested commands, aliases, flags per command, flag values", async () => {
    // Exactly what --help lists: nothing missing, nothing extra.
    const daemonSubs = await helpCommands(["daemon"]);
    const st = daemonSubs.filter((c) => c.startsWith("st")).sort();
    expect(st).toEqual(["start", "status", "stop"]);
    expect(bashComplete(["kas", "d", "st"]).sort()).toEqual(st);
    expect(bashComplete(["kas", "daemon", "--socket", "/tmp/x", "sta"]).sort()).toEqual(["start", "status"]);
    for (const cmd of [["daemon", "status"], ["daemon", "start"], ["doctor"], ["task", "create"], ["agent", "capture"]]) {
      const flags = await helpFlags(cmd);
      expect(flags.length).toBeGreaterThan(1);
      expect(bashComplete(["kasmos", ...cmd, "--"]).sort(), cmd.join(" ")).toEqual(flags);
    }
    expect(bashComplete(["kasmos", "daemon", "status", "--"])).not.toContain("--foreground");
    expect(bashComplete(["kasmos", "--"]).sort()).toEqual(["--help", "--version"]);
    // --config takes a path: files of the cwd are offered, not subcommands.
    writeFileSync(join(sb.dir, "my-daemon.toml"), "");
    const r = sh(["bash", "-c", `cd ${sb.dir} && source ${files.bash} && COMP_WORDS=(kasmos daemon start --config my-d); COMP_CWORD=4; _kasmos; printf '%s\\n' "\${COMPREPLY[@]}"`]);
    expect(r.out.trim()).toBe("my-daemon.toml");
  });

  test("zsh: the completion function walks the tree (compsys stubbed)", () => {
    const zsh = need(ZSH, "zsh");
    const stub = `compdef(){ :; }; _describe(){ print -r -l -- "\${(@P)4}"; }; _files(){ print FILES "$@"; }; _message(){ print MSG; }`;
    const run = (words: string[]): string[] => {
      const w = words.map((x) => `'${x}'`).join(" ");
      const r = sh([zsh, "-f", "-c", `${stub}; source ${files.zsh}; words=(${w}); CURRENT=${words.length}; _kasmos`]);
      expect(r.code).toBe(0);
      return r.out.split("\n").filter((l) => l.length > 0);
    };
    const daemonSubs = run(["kasmos", "d", ""]).map((l) => l.split(":")[0]);
    expect(daemonSubs).toEqual(expect.arrayContaining(["start", "stop", "status", "add", "remove", "reload"]));
    expect(run(["kas", "daemon", "status", "--"]).map((l) => l.split(":")[0]!).filter((f) => f.startsWith("--")).sort()).toEqual(["--help", "--json", "--socket", "--watch"]);
    expect(run(["kas", "daemon", "start", "--config", ""])).toEqual(["FILES"]);
  });

  test("fish: complete -C offers subcommands and flags", () => {
    const fish = need(FISH, "fish");
    const run = (line: string): string[] => {
      const r = sh([fish, "--no-config", "-c", `source ${files.fish}; complete -C '${line}'`]);
      expect(r.code).toBe(0);
      return r.out.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t")[0]!);
    };
    expect(run("kasmos ")).toEqual(expect.arrayContaining(["daemon", "d", "task", "signal", "agent", "doctor", "completion"]));
    expect(run("kas d st").sort()).toEqual(["start", "status", "stop"]);
    expect(run("kasmos daemon status --").sort()).toEqual(["--help", "--json", "--socket", "--watch"]);
  });

  test("unknown shell → exit 1 listing the supported shells; missing shell → exit 1", async () => {
    const r = await sb.run(["completion", "tcsh"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown shell "tcsh"');
    expect(r.stderr).toContain("bash, zsh, fish");
    expect(r.stdout).toBe("");
    const none = await sb.run(["completion"]);
    expect(none.code).toBe(1);
  });

  test("--help shows examples", async () => {
    const r = await sb.run(["completion", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("EXAMPLES");
    expect(r.stdout).toContain("kas completion bash");
  });
});
