import { defineCommand } from "citty";
import { toTask } from "../../api/tasks.ts";
import { readFileSync } from "node:fs";
import { recordAudit } from "../../store/audit.ts";
import { writeTx } from "../../store/db.ts";
import { ingestPlan } from "../../store/plans.ts";
import { branchProblem, createTask, normalizeTaskName, requireTask, taskNameProblem } from "../../store/tasks.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { defaultBranch } from "../../agents/worktree.ts";
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
        const name = normalizeTaskName(args.name);
        const nameProblem = taskNameProblem(name);
        if (nameProblem) fail(nameProblem);
        if (args.branch !== undefined && branchProblem(args.branch)) fail(branchProblem(args.branch)!);
        let md: string | null = null;
        if (args.plan) {
          try {
            md = readFileSync(args.plan, "utf8");
          } catch (err) {
            fail(`cannot read plan file ${args.plan}: ${(err as Error).message}`);
          }
        }
        const branch = args.branch ?? `plan/${name}`;
        const def = await defaultBranch(repo.path).catch(() => "");
        if (def !== "" && branch === def) fail(`branch ${branch} is the repository's default branch; a task works on its own branch (default plan/${name})`);
        const db = openCliStore();
        // One transaction: a plan that does not parse leaves no task behind (the retry is not "already exists").
        const planned = writeTx(db, () => {
          createTask(db, { project: repo.project, name, description: args.description ?? "", topic: args.topic ?? "", branch });
          recordAudit(db, { kind: "task_created", project: repo.project, task: name, toStatus: "ready", message: `task created (cli) in ${repo.path}` });
          return md !== null ? ingestPlan(db, repo.project, name, md, { allowDraft: false, source: "cli" }) : null;
        });
        const planNote = planned ? `, plan: ${planned.waves} waves, ${planned.tasks} tasks` : "";
        for (const w of planned?.warnings ?? []) printErr(`warning: ${w}`);
        const task = requireTask(db, repo.project, name);
        db.close();
        await warnIfUnwatched(repo);
        if (args.json) return printJson(toTask(task));
        print(`task created: ${repo.project}/${name} (ready${planNote})\n`);
      });
    },
  }),
  ["kas task create login-throttle --description 'throttle failed logins'", "kas task create auth-refactor --plan docs/auth-plan.md --topic auth", "kas task create fix-ci --repo ~/src/api --json"],
);
