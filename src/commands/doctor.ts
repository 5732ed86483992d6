// `kasmos doctor`: check tmux, git, GitHub token, config, agent programs, folders/socket, inotify and the daemon.
// One line per check; exit 1 only when an error-severity check fails (something that blocks the daemon).
import { defineCommand } from "citty";
import { isatty } from "node:tty";
import { withExamples } from "./_help.ts";
import { guard, print, printJson } from "./_util.ts";
import { hasErrors, runChecks } from "../doctor/checks.ts";
import type { CheckResult } from "../doctor/common.ts";

function label(r: CheckResult): "ok" | "warn" | "FAIL" {
  if (r.ok) return "ok";
  return r.severity === "error" ? "FAIL" : "warn";
}

/** Plain text, with the status word coloured only on a terminal (and never under NO_COLOR). */
export function formatReport(results: CheckResult[], color: boolean): string {
  const paint = (code: number, s: string): string => (color ? `\u001B[${code}m${s}\u001B[39m` : s);
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    const word = label(r);
    const painted = paint(word === "ok" ? 32 : word === "warn" ? 33 : 31, word.padEnd(4));
    lines.push(`${painted}  ${r.name.padEnd(width)}  ${r.detail}`);
    if (!r.ok && r.fix) lines.push(`      ${" ".repeat(width)}  fix: ${r.fix}`);
  }
  const errors = results.filter((r) => !r.ok && r.severity === "error").length;
  const warnings = results.filter((r) => !r.ok && r.severity === "warn").length;
  lines.push("");
  if (errors === 0 && warnings === 0) lines.push("all checks passed");
  else lines.push(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}${errors > 0 ? " (errors block the daemon)" : ""}`);
  return `${lines.join("\n")}\n`;
}

export default withExamples(defineCommand({
  meta: {
    name: "doctor",
    description: "Check tmux, git, GitHub token, config, agent programs, socket/folder permissions, inotify and the daemon; exit 1 if something blocks the daemon.",
  },
  args: {
    config: { type: "string", description: "path to daemon TOML config file (default: ~/.config/kasmos/daemon.toml)", valueHint: "path" },
    socket: { type: "string", description: "daemon socket path to check (default: socket_path from the config, else $XDG_RUNTIME_DIR/kasmos/kas.sock)", valueHint: "path" },
    json: { type: "boolean", description: "print JSON: {ok, errors, warnings, checks: [{name, ok, severity, detail, fix}]}" },
  },
  async run({ args }) {
    await guard(async () => {
      const results = await runChecks({ configPath: args.config, socketFlag: args.socket });
      const failed = hasErrors(results);
      if (args.json) {
        printJson({
          ok: !failed,
          errors: results.filter((r) => !r.ok && r.severity === "error").length,
          warnings: results.filter((r) => !r.ok && r.severity === "warn").length,
          checks: results,
        });
      } else {
        const color = isatty(1) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
        print(formatReport(results, color));
      }
      if (failed) process.exitCode = 1;
    });
  },
}), ["kas doctor", "kas doctor --json", "kas doctor --config /etc/kasmos/daemon.toml"]);
