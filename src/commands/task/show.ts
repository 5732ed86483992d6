import { defineCommand } from "citty";
import { toAgent } from "../../api/agents.ts";
import { toAuditEntry } from "../../api/events.ts";
import { showTask, toSubtask, toTask } from "../../api/tasks.ts";
import { agentTokenFromEnv } from "../../server/agent-credential.ts";
import { daemonClient } from "../../server/client.ts";
import { countTaskAudit, listAudit } from "../../store/audit.ts";
import { requireTask } from "../../store/tasks.ts";
import { listSubtasks } from "../../store/subtasks.ts";
import { getAttention, liveAgents } from "../../store/agents.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo } from "../_store.ts";
import { formatCost, summarizeUsage } from "../../api/usage.ts";
import { loadConfig } from "../../config/load.ts";
import { listUsage } from "../../store/usage.ts";
import { clientSocketPath, guard, print, printJson } from "../_util.ts";
import { historyLine, phaseText } from "./_format.ts";

/** A sandboxed agent (no store in sight) asks the daemon for its own task: the task, its subtasks, its 20 newest history entries. */
async function showThroughDaemon(project: string, name: string, json: boolean): Promise<void> {
  const r = await daemonClient(await clientSocketPath(undefined))(showTask, { params: { project, name } });
  if (json) return printJson(r);
  const lines = [
    `task ${r.task.project}/${r.task.name}`,
    `  status:        ${r.task.status}`,
    ...(r.task.description ? [`  description:   ${r.task.description}`] : []),
    `  plan:          ${r.task.content ? `${r.subtasks.length} subtasks` : "none"}`,
    ...r.subtasks.map((s) => `    W${s.wave} T${s.number} [${s.status}] ${s.title}`),
  ];
  print(`${lines.join("\n")}\n`);
}

export default withExamples(
  defineCommand({
    meta: { name: "show", description: "Show a task: status, phase, cycles, active agent, subtasks and recent history" },
    args: {
      name: { type: "positional", required: true, description: "task name", valueHint: "name" },
      ...repoArg,
      json: { type: "boolean", description: "print JSON {task, subtasks, history, history_total, …}" },
      history: { type: "string", description: "recent history entries to show (max 500; kas task history pages further)", default: "10", valueHint: "n" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        if (agentTokenFromEnv() !== null) return showThroughDaemon(repo.project, args.name, Boolean(args.json));
        const db = openCliStore();
        const task = requireTask(db, repo.project, args.name);
        const subtasks = listSubtasks(db, repo.project, task.name);
        // Bounded: the newest entries (an index walk from the end) and the total, never the whole history.
        const history = listAudit(db, { project: repo.project, task: task.name, limit: Math.max(1, Math.min(500, Number(args.history) || 10)) });
        const historyTotal = countTaskAudit(db, repo.project, task.name);
        const agents = liveAgents(db, { project: repo.project, task: task.name });
        const attention = getAttention(db, repo.project, task.name);
        const usage = summarizeUsage(listUsage(db, { project: repo.project, task: task.name }), "model", loadConfig(undefined).config.pricing);
        db.close();
        if (args.json) return printJson({ task: toTask(task), subtasks: subtasks.map(toSubtask), history: history.map(toAuditEntry), history_total: historyTotal, agents: agents.map(toAgent), attention, usage });
        const t = usage.total;
        const v = task.verification;
        const lines = [
          `task ${task.project}/${task.name}`,
          `  status:        ${task.status}`,
          `  phase:         ${phaseText(task)}`,
          `  active agent:  ${task.execution.agent || "-"}`,
          `  review cycle:  ${task.reviewCycle}`,
          `  verify cycle:  ${task.verifyCycle}`,
          `  branch:        ${task.branch || "-"}`,
          ...(task.topic ? [`  topic:         ${task.topic}`] : []),
          ...(task.description ? [`  description:   ${task.description}`] : []),
          ...(v ? [`  verified:      ${v.sha ? v.sha.slice(0, 12) : "(no sha)"} by ${v.by || "-"} (${v.origin || "-"}) at ${v.at}`] : []),
          ...(task.prUrl ? [`  pr:            ${task.prUrl}`] : task.prCreateState ? [`  pr:            ${task.prCreateState}${task.prCreateError ? `: ${task.prCreateError}` : ""}`] : []),
          ...(task.latestFeedback ? [`  last feedback: ${task.latestFeedback.split("\n")[0]!.slice(0, 120)}`] : []),
          ...(attention ? [`  ATTENTION:     ${attention}`] : []),
          ...(task.hold ? [`  on hold:       ${task.hold} (kas task resume ${task.name})`] : []),
          `  agents:        ${agents.length === 0 ? "none" : agents.map((a) => `${a.title} (${a.role}${a.sandbox ? `, sandbox ${a.sandbox}` : ""})`).join(", ")}`,
          `  spend:         ${t.agent_runs === 0 ? "nothing recorded yet" : `${formatCost(t.cost_usd, t.unpriced_tokens)} — ${t.input + t.output + t.cache_write + t.cache_read} tokens (in ${t.input}, out ${t.output}, cache write ${t.cache_write}, cache read ${t.cache_read}) over ${t.agent_runs} agent run${t.agent_runs === 1 ? "" : "s"}; ${usage.groups.map((g) => g.key).join(", ")}`}`,
          `  plan:          ${task.content ? `${subtasks.length} subtasks` : "none"}`,
          ...subtasks.map((s) => `    W${s.wave} T${s.number} [${s.status}] ${s.title}`),
          `  updated:       ${task.updatedAt}`,
          `  recent history (${history.length} of ${historyTotal}${historyTotal > history.length ? `; kas task history ${task.name} for more` : ""}):`,
          ...(history.length === 0 ? ["    (none)"] : history.map((h) => `    ${historyLine(h)}`)),
        ];
        print(`${lines.join("\n")}\n`);
      });
    },
  }),
  ["kas task show login-throttle", "kas task show login-throttle --json"],
);
