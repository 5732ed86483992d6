// `kasmos daemon service install|uninstall|status`: the systemd user unit (~/.config/systemd/user/kasmos.service).
import { defineCommand } from "citty";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { withExamples } from "../_help.ts";
import { fail, guard, print, printErr, printJson } from "../_util.ts";
import { pidFilePath } from "../../config/paths.ts";
import { readPidFile } from "../../runtime/pidfile.ts";
import { processAlive } from "../../util/process.ts";
import {
  compiledBinary,
  execBinaryOf,
  execStartOf,
  formatCommand,
  JOURNAL_HINT,
  renderUnit,
  SERVICE_NAME,
  SYSTEMCTL_INSTALL,
  SYSTEMCTL_UNINSTALL,
  splitExecLine,
  systemctl,
  unitPath,
  userSystemdReachable,
  wantsLinkPath,
} from "../../runtime/systemd.ts";

const cmdLines = (cmds: readonly (readonly string[])[]) => cmds.map((c) => `  ${formatCommand(["systemctl", ...c])}`).join("\n");

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Is `text` exactly a unit kasmos renders (for whatever binary and config it names)? */
function writtenByKasmos(text: string): boolean {
  const exec = execStartOf(text);
  if (exec === null) return false;
  const words = splitExecLine(exec);
  const binary = words[0];
  if (!binary) return false;
  const config = words[4] === "--config" ? words[5] : undefined;
  return renderUnit({ binary, configPath: config }) === text;
}

export const install = withExamples(defineCommand({
  meta: {
    name: "install",
    description: "Write ~/.config/systemd/user/kasmos.service (ExecStart = this binary, daemon start --foreground), then daemon-reload and enable --now it when a user systemd is reachable; otherwise print the systemctl commands to run.",
  },
  args: {
    config: { type: "string", description: "daemon TOML config passed to ExecStart as --config (made absolute)", valueHint: "path" },
    force: { type: "boolean", description: "replace a unit that was edited by hand (the old one is kept as kasmos.service.bak)" },
  },
  async run({ args }) {
    await guard(() => {
      const binary = compiledBinary();
      if (!binary) fail("daemon service install: run the compiled binary (dist/kasmos), not `bun src/cli.ts`: ExecStart must point at a kasmos executable");
      const configPath = args.config && args.config.length > 0 ? resolve(args.config) : undefined;
      const text = renderUnit({ binary, configPath });
      const path = unitPath();
      const previous = readText(path);
      // A hand-edited unit (Environment=GH_TOKEN=…, other limits) is the user's: never overwritten silently.
      let backup = "";
      if (previous !== null && previous !== text && !writtenByKasmos(previous)) {
        if (!args.force) fail(`${path} was edited by hand (it is not a unit kasmos writes); refusing to overwrite it. Keep your changes with a drop-in (systemctl --user edit ${SERVICE_NAME}) or replace it with --force (the old file is kept as ${path}.bak)`);
        backup = `${path}.bak`;
        writeFileSync(backup, previous, { mode: 0o644 });
      }
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, path);
      const verb = previous === null ? "wrote" : previous === text ? "unchanged" : "updated";
      const lines = [`${verb} ${path}`, `  ExecStart=${execStartOf(text)}`];
      if (backup) lines.push(`  the hand-edited unit was kept as ${backup}`);
      if (configPath && !existsSync(configPath)) lines.push(`note: ${configPath} does not exist yet (the daemon uses defaults until it does)`);

      const sd = userSystemdReachable();
      if (!sd.reachable) {
        lines.push(`note: no user systemd reachable (${sd.reason}); the unit is written but not enabled. In a session with a user systemd, run:`);
        lines.push(cmdLines(SYSTEMCTL_INSTALL));
        print(`${lines.join("\n")}\n`);
        return;
      }
      const wasActive = systemctl(["--user", "is-active", SERVICE_NAME]).stdout === "active";
      for (const c of SYSTEMCTL_INSTALL) {
        lines.push(`$ ${formatCommand(["systemctl", ...c])}`);
        const r = systemctl(c);
        if (!r.ok) {
          print(`${lines.join("\n")}\n`);
          fail(`${formatCommand(["systemctl", ...c])} failed (exit ${r.code ?? "?"}): ${r.stderr || r.stdout || "no output"}`);
        }
      }
      if (wasActive && verb === "updated") lines.push(`note: ${SERVICE_NAME} was already running with the old unit; apply the new one with: systemctl --user restart ${SERVICE_NAME}`);
      const pid = readPidFile(pidFilePath());
      if (!wasActive && pid !== null && processAlive(pid)) {
        lines.push(`note: a kasmos daemon started outside systemd is running (pid ${pid}); stop it (kas daemon stop), then: systemctl --user restart ${SERVICE_NAME}`);
      }
      lines.push(`${SERVICE_NAME}.service enabled and started (status: systemctl --user status ${SERVICE_NAME}; logs: ${JOURNAL_HINT})`);
      print(`${lines.join("\n")}\n`);
    });
  },
}), ["kas daemon service install", "kas daemon service install --config ~/.config/kasmos/daemon.toml"]);

export const uninstall = withExamples(defineCommand({
  meta: {
    name: "uninstall",
    description: "Disable and stop kasmos.service (when a user systemd is reachable) and remove ~/.config/systemd/user/kasmos.service.",
  },
  async run() {
    await guard(() => {
      const path = unitPath();
      const link = wantsLinkPath();
      const linkExists = (() => {
        try {
          lstatSync(link);
          return true;
        } catch {
          return false;
        }
      })();
      if (!existsSync(path) && !linkExists) {
        print(`${SERVICE_NAME}.service is not installed (${path} does not exist); nothing to do\n`);
        return;
      }
      const sd = userSystemdReachable();
      const lines: string[] = [];
      if (sd.reachable) {
        const [disable, reload] = SYSTEMCTL_UNINSTALL;
        lines.push(`$ ${formatCommand(["systemctl", ...disable!])}`);
        const r = systemctl(disable!);
        if (!r.ok) printErr(`warning: ${formatCommand(["systemctl", ...disable!])} failed: ${r.stderr || r.stdout || `exit ${r.code ?? "?"}`}\n`);
        rmSync(path, { force: true });
        rmSync(link, { force: true });
        lines.push(`removed ${path}`);
        lines.push(`$ ${formatCommand(["systemctl", ...reload!])}`);
        const r2 = systemctl(reload!);
        if (!r2.ok) printErr(`warning: ${formatCommand(["systemctl", ...reload!])} failed: ${r2.stderr || r2.stdout || `exit ${r2.code ?? "?"}`}\n`);
      } else {
        rmSync(path, { force: true });
        rmSync(link, { force: true });
        lines.push(`removed ${path}`);
        lines.push(`note: no user systemd reachable (${sd.reason}); if kasmos.service still runs in a user session, run there:`);
        lines.push(cmdLines([["--user", "stop", SERVICE_NAME], ["--user", "daemon-reload"]]));
      }
      print(`${lines.join("\n")}\n`);
    });
  },
}), ["kas daemon service uninstall"]);

export interface ServiceStatus {
  unit_path: string;
  installed: boolean;
  exec_start: string | null;
  binary: string | null;
  binary_exists: boolean | null;
  systemd_reachable: boolean;
  systemd_note: string;
  enabled: string | null;
  active: string | null;
}

export function serviceStatus(): ServiceStatus {
  const path = unitPath();
  const text = readText(path);
  const execStart = text === null ? null : execStartOf(text);
  const binary = execStart === null ? null : execBinaryOf(execStart);
  const sd = userSystemdReachable();
  const query = (verb: string) => {
    const r = systemctl(["--user", verb, SERVICE_NAME]);
    return r.stdout.split("\n")[0] || (r.ok ? "unknown" : r.stderr.split("\n")[0] || "unknown");
  };
  return {
    unit_path: path,
    installed: text !== null,
    exec_start: execStart,
    binary,
    binary_exists: binary === null ? null : existsSync(binary),
    systemd_reachable: sd.reachable,
    systemd_note: sd.reason,
    enabled: sd.reachable ? query("is-enabled") : null,
    active: sd.reachable ? query("is-active") : null,
  };
}

export const status = withExamples(defineCommand({
  meta: {
    name: "status",
    description: "Show whether kasmos.service is installed, what its ExecStart runs, and (when a user systemd is reachable) whether it is enabled and active.",
  },
  args: {
    json: { type: "boolean", description: "print JSON: {unit_path, installed, exec_start, binary, binary_exists, systemd_reachable, systemd_note, enabled, active}" },
  },
  async run({ args }) {
    await guard(() => {
      const s = serviceStatus();
      if (args.json) return printJson(s);
      const lines = [`unit:      ${s.unit_path} (${s.installed ? "installed" : "not installed"})`];
      if (s.installed) {
        lines.push(`ExecStart: ${s.exec_start ?? "(none)"}`);
        if (s.binary && !s.binary_exists) lines.push(`warning: ${s.binary} does not exist: reinstall with \`kas daemon service install\``);
        else if (s.binary && compiledBinary() && s.binary !== process.execPath) lines.push(`note: ExecStart runs ${s.binary}, not this binary (${process.execPath})`);
      }
      if (s.systemd_reachable) {
        lines.push(`systemd:   enabled=${s.enabled ?? "?"} active=${s.active ?? "?"}`);
        if (s.installed) lines.push(`logs:      ${JOURNAL_HINT}`);
      } else {
        lines.push(`systemd:   no user systemd reachable (${s.systemd_note})`);
      }
      print(`${lines.join("\n")}\n`);
    });
  },
}), ["kas daemon service status", "kas daemon service status --json"]);

export default withExamples(defineCommand({
  meta: {
    name: "service",
    description: "Manage the systemd user service (~/.config/systemd/user/kasmos.service) that runs `kasmos daemon start --foreground`.",
  },
  subCommands: { install, uninstall, status },
}), ["kas daemon service install", "kas daemon service status", "kas daemon service uninstall"]);
