import { defineCommand } from "citty";
import { toTask } from "../../api/tasks.ts";
import { readFileSync } from "node:fs";
import { createTask } from "../../usecases/create-task.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { fail, guard, print, printErr, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "create", description: "Create a task in status ready (optionally with its plan)" },
    args: {
      name: { type: "positional", required: true, description: "task name (a slug; a trailing .md is dropped)", valueHint: "name" },
      ...repoArg,
      description: { type: "string", description: "what the task is about", valueHint: "text" },
      topic: { type: "string", description: "topic (tasks in one topic never implement concurrently)", valueHint: "topic" },
      branch: { type: "string", description: "git branch the task works on (default: plan/<name>)", valueHint: "branch" },
      plan: { type: "string", description: "plan markdown file (## Wave N / ### Task N: …)", valueHint: "file.md" },
      json: { type: "boolean", description: "print the created task as JSON" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        let md: string | undefined;
        if (args.plan) {
          try {
            md = readFileSync(args.plan, "utf8");
          } catch (err) {
            fail(`cannot read plan file ${args.plan}: ${(err as Error).message}`);
          }
        }
        const db = openCliStore();
        const { task, plan: planned } = await createTask(db, { project: repo.project, repoPath: repo.path, name: args.name, description: args.description, topic: args.topic, branch: args.branch, plan: md, source: "cli" });
        const planNote = planned ? `, plan: ${planned.waves} waves, ${planned.tasks} tasks` : "";
        for (const w of planned?.warnings ?? []) printErr(`warning: ${w}`);
        db.close();
        await warnIfUnwatched(repo);
        if (args.json) return printJson(toTask(task));
        print(`task created: ${repo.project}/${task.name} (ready${planNote})\n`);
      });
    },
  }),
  ["kas task create login-throttle --description 'throttle failed logins'", "kas task create auth-refactor --plan docs/auth-plan.md --topic auth", "kas task create fix-ci --repo ~/src/api --json"],
);
