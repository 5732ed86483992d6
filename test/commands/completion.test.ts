// `kasmos completion bash|zsh|fish` from the compiled binary: syntax checked by each shell, the command tree
// compared with the binary's own --help, and completions exercised in bash (and zsh/fish when installed).
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
  if (!ZSH) console.warn("completion.test: zsh not installed, skipping the zsh checks (apt-get install zsh)");
  if (!FISH) console.warn("completion.test: fish not installed, skipping the fish checks (apt-get install fish)");
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
    if (ZSH) expect(sh([ZSH, "-n", files.zsh!])).toEqual({ code: 0, out: "" });
    if (FISH) expect(sh([FISH, "--no-execute", files.fish!])).toEqual({ code: 0, out: "" });
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

  test("bash: nested commands, aliases, flags per command, flag values", () => {
    expect(bashComplete(["kas", "d", "st"])).toEqual(expect.arrayContaining(["start", "stop", "status"]));
    expect(bashComplete(["kas", "daemon", "--socket", "/tmp/x", "sta"])).toEqual(expect.arrayContaining(["start", "status"]));
    const statusFlags = bashComplete(["kasmos", "daemon", "status", "--"]);
    expect(statusFlags).toEqual(expect.arrayContaining(["--json", "--socket", "--help"]));
    expect(statusFlags).not.toContain("--foreground");
    expect(bashComplete(["kasmos", "daemon", "start", "--"])).toEqual(expect.arrayContaining(["--foreground", "--config"]));
    expect(bashComplete(["kasmos", "doctor", "--"])).toEqual(expect.arrayContaining(["--json", "--config"]));
    expect(bashComplete(["kasmos", "--"])).toEqual(expect.arrayContaining(["--help", "--version"]));
    // --config takes a path: files of the cwd are offered, not subcommands.
    writeFileSync(join(sb.dir, "my-daemon.toml"), "");
    const r = sh(["bash", "-c", `cd ${sb.dir} && source ${files.bash} && COMP_WORDS=(kasmos daemon start --config my-d); COMP_CWORD=4; _kasmos; printf '%s\\n' "\${COMPREPLY[@]}"`]);
    expect(r.out.trim()).toBe("my-daemon.toml");
  });

  test.skipIf(!ZSH)("zsh: the completion function walks the tree (compsys stubbed)", () => {
    const stub = `compdef(){ :; }; _describe(){ print -r -l -- "\${(@P)4}"; }; _files(){ print FILES "$@"; }; _message(){ print MSG; }`;
    const run = (words: string[]): string[] => {
      const w = words.map((x) => `'${x}'`).join(" ");
      const r = sh([ZSH!, "-f", "-c", `${stub}; source ${files.zsh}; words=(${w}); CURRENT=${words.length}; _kasmos`]);
      expect(r.code).toBe(0);
      return r.out.split("\n").filter((l) => l.length > 0);
    };
    const daemonSubs = run(["kasmos", "d", ""]).map((l) => l.split(":")[0]);
    expect(daemonSubs).toEqual(expect.arrayContaining(["start", "stop", "status"]));
    expect(run(["kas", "daemon", "status", "--"]).map((l) => l.split(":")[0])).toEqual(expect.arrayContaining(["--json", "--socket"]));
    expect(run(["kas", "daemon", "start", "--config", ""])).toEqual(["FILES"]);
  });

  test.skipIf(!FISH)("fish: complete -C offers subcommands and flags", () => {
    const run = (line: string): string[] => {
      const r = sh([FISH!, "--no-config", "-c", `source ${files.fish}; complete -C '${line}'`]);
      expect(r.code).toBe(0);
      return r.out.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t")[0]!);
    };
    expect(run("kasmos ")).toEqual(expect.arrayContaining(["daemon", "d", "task", "signal", "agent", "doctor", "completion"]));
    expect(run("kas d st")).toEqual(expect.arrayContaining(["start", "stop", "status"]));
    expect(run("kasmos daemon status --")).toEqual(expect.arrayContaining(["--json", "--socket"]));
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
