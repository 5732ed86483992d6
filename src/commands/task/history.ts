import { defineCommand } from "citty";
import { toAuditEntry } from "../../api/events.ts";
import { listAudit } from "../../store/audit.ts";
import { requireTask } from "../../store/tasks.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo } from "../_store.ts";
import { fail, guard, print, printJson } from "../_util.ts";
import { historyLine } from "./_format.ts";

export default withExamples(
  defineCommand({
    meta: { name: "history", description: "Show a task's audit history (transitions, signal outcomes), oldest first" },
    args: {
      name: { type: "positional", required: true, description: "task name", valueHint: "name" },
      ...repoArg,
      limit: { type: "string", description: "at most this many entries (newest kept; max 500)", default: "200", valueHint: "n" },
      before: { type: "string", description: "only entries older than this event id (the next page: the oldest id shown)", valueHint: "id" },
      json: { type: "boolean", description: "print JSON" },
    },
    async run({ args }) {
      await guard(() => {
        const repo = resolveRepo(args.repo);
        const db = openCliStore();
        const task = requireTask(db, repo.project, args.name);
        const before = args.before !== undefined ? Number(args.before) : undefined;
        if (before !== undefined && (!Number.isInteger(before) || before < 1)) fail("--before must be a positive event id");
        const rows = listAudit(db, { project: repo.project, task: task.name, limit: Math.max(1, Math.min(500, Number(args.limit) || 200)), ...(before !== undefined ? { beforeId: before } : {}) }).reverse();
        db.close();
        if (args.json) return printJson(rows.map(toAuditEntry));
        print(rows.length === 0 ? "no history\n" : `${rows.map(historyLine).join("\n")}\n`);
      });
    },
  }),
  ["kas task history login-throttle", "kas task history login-throttle --limit 50 --before 1234", "kas task history login-throttle --json"],
);
