// `kasmos usage`: tokens and cost of the agents, from the store (works with or without a daemon).
import { defineCommand } from "citty";
import { formatCost, parseSince, summarizeUsage, USAGE_GROUPINGS, type UsageGrouping } from "../api/usage.ts";
import { loadConfig } from "../config/load.ts";
import { listUsage } from "../store/usage.ts";
import { withExamples } from "./_help.ts";
import { openCliStore, resolveRepo } from "./_store.ts";
import { fail, guard, print, printJson } from "./_util.ts";

function tokens(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(2)}M` : n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

export default withExamples(
  defineCommand({
    meta: { name: "usage", description: "Tokens and cost of the agents' work, from their own records (per task, role, model, repo or day)" },
    args: {
      repo: { type: "string", description: "only this repository (default: every repository)", valueHint: "path" },
      task: { type: "string", description: "only this task (of --repo, or of the current directory's repo)", valueHint: "task" },
      since: { type: "string", description: "only usage recorded since: 7d, 24h, 90m or a date", valueHint: "when" },
      by: { type: "string", description: `group by ${USAGE_GROUPINGS.join(", ")} (default task)`, valueHint: "grouping" },
      config: { type: "string", description: "daemon TOML config (for [pricing])", valueHint: "path" },
      json: { type: "boolean", description: "print the report as JSON" },
    },
    async run({ args }) {
      await guard(() => {
        const by = (args.by ?? "task") as UsageGrouping;
        if (!(USAGE_GROUPINGS as readonly string[]).includes(by)) fail(`--by must be one of ${USAGE_GROUPINGS.join(", ")}`);
        const since = args.since ? parseSince(args.since) : null;
        if (args.since && since === null) fail(`--since: cannot read "${args.since}" (use 7d, 24h, 90m or a date)`);
        const project = args.repo || args.task ? resolveRepo(args.repo).project : undefined;
        const db = openCliStore();
        const rows = listUsage(db, { ...(project ? { project } : {}), ...(args.task ? { task: args.task } : {}), ...(since ? { since } : {}) });
        db.close();
        const report = summarizeUsage(rows, by, loadConfig(args.config).config.pricing, since);
        if (args.json) return printJson(report);
        if (report.groups.length === 0) return print("no agent usage recorded yet\n");
        const head = [by.toUpperCase(), "RUNS", "INPUT", "OUTPUT", "CACHE W", "CACHE R", "COST"];
        const rowsOut = [...report.groups, report.total].map((g) => [g.key, String(g.agent_runs), tokens(g.input), tokens(g.output), tokens(g.cache_write), tokens(g.cache_read), formatCost(g.cost_usd, g.unpriced_tokens)]);
        const widths = head.map((h, i) => Math.max(h.length, ...rowsOut.map((r) => (r[i] ?? "").length)));
        const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
        const lines = [line(head), ...rowsOut.slice(0, -1).map(line), line(rowsOut[rowsOut.length - 1]!)];
        lines.splice(lines.length - 1, 0, "-".repeat(lines[0]!.length));
        if (report.total.unpriced_tokens > 0) lines.push(`(${tokens(report.total.unpriced_tokens)} tokens of models without a price: add [pricing."<model>"] to daemon.toml)`);
        print(`${lines.join("\n")}\n`);
      });
    },
  }),
  ["kas usage", "kas usage --by model --since 7d", "kas usage --repo ~/src/shop --task login-throttle --by role", "kas usage --by day --json"],
);
