import { defineCommand } from "citty";
import { toTaskSummary } from "../../api/tasks.ts";
import { TASK_STATUSES, type TaskStatus } from "../../lifecycle/types.ts";
import { listTaskLines, listTasks } from "../../store/tasks.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo } from "../_store.ts";
import { fail, guard, print, printJson } from "../_util.ts";
import { taskTable } from "./_format.ts";

export default withExamples(
  defineCommand({
    meta: { name: "list", description: "List tasks of a repository (or of every repository with --all)" },
    args: {
      ...repoArg,
      all: { type: "boolean", description: "list tasks of every repository" },
      status: { type: "string", description: `only these statuses, comma-separated (${TASK_STATUSES.join(", ")})`, valueHint: "status" },
      json: { type: "boolean", description: "print JSON" },
    },
    async run({ args }) {
      await guard(() => {
        let statuses: TaskStatus[] | undefined;
        if (args.status) {
          statuses = [];
          for (const s of args.status.split(",").map((x) => x.trim()).filter(Boolean)) {
            if (!(TASK_STATUSES as readonly string[]).includes(s)) fail(`unknown status "${s}"; valid: ${TASK_STATUSES.join(", ")}`);
            statuses.push(s as TaskStatus);
          }
        }
        const project = args.all ? undefined : resolveRepo(args.repo).project;
        const db = openCliStore();
        // No plan text (kas task show / plan has it); the table reads only the columns it shows.
        const filter = { ...(project ? { project } : {}), ...(statuses ? { status: statuses } : {}) };
        if (args.json) {
          const rows = listTasks(db, { ...filter, withoutContent: true });
          db.close();
          return printJson(rows.map(toTaskSummary));
        }
        const lines = listTaskLines(db, filter);
        db.close();
        print(lines.length === 0 ? "no tasks\n" : `${taskTable(lines, !project)}\n`);
      });
    },
  }),
  ["kas task list", "kas task list --status implementing,reviewing", "kas task list --all --json"],
);
