import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { daemonClient } from "../../daemon/client.ts";
import type { StatusResponse } from "../../daemon/daemon.ts";
import { clientSocketPath, guard, print, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./index.ts";

function fmtUptime(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

export default withExamples(defineCommand({
  meta: {
    name: "status",
    description: "Show the daemon status: registered repos and active plans per repo (GET /v1/status)."  },
  args: {
    json: { type: "boolean", description: "print the raw JSON response" },
    ...socketArg,
  },
  async run({ args }) {
    await guard(async () => {
      const s = await daemonClient(await clientSocketPath(socketFlag(args)))<StatusResponse>("/v1/status");
      if (args.json) return printJson(s);
      const lines = [`daemon running (pid ${s.pid}, version ${s.version}, up ${fmtUptime(s.uptime_sec)})`, `socket: ${s.socket}`];
      if (s.repos.length === 0) lines.push("  no repos registered");
      for (const r of s.repos) {
        const states = Object.entries(r.tasks_by_status)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ${n}`)
          .join(", ");
        lines.push(`  - ${r.project} (${r.path}) [${r.active_plans} active plan${r.active_plans === 1 ? "" : "s"}]${states ? ` ${states}` : ""}${r.problem ? `  ! ${r.problem}` : ""}`);
        for (const t of r.tasks ?? []) {
          lines.push(`      ${t.name}: ${t.status}${t.phase ? ` (${t.phase})` : ""}${t.agents.length ? ` agents: ${t.agents.join(", ")}` : ""}${t.attention ? `  ! ${t.attention}` : ""}`);
        }
      }
      if (s.last_reload && !s.last_reload.ok) lines.push(`last reload failed at ${s.last_reload.at}: ${s.last_reload.error}`);
      print(`${lines.join("\n")}\n`);
    });
  },
}), ["kas daemon status", "kas daemon status --json", "kas daemon status --socket /run/user/1000/kasmos/kas.sock"]);
