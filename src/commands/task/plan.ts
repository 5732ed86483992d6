import { defineCommand } from "citty";
import { toPlanOutcome } from "../../api/tasks.ts";
import { readFileSync } from "node:fs";
import { ingestPlan } from "../../store/plans.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { fail, guard, print, printErr, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "plan", description: "Store a task's plan markdown (validated: waves and tasks must parse, unless --draft)" },
    args: {
      name: { type: "positional", required: true, description: "task name", valueHint: "name" },
      file: { type: "string", required: true, description: "plan markdown file ('-' = stdin)", valueHint: "file.md" },
      ...repoArg,
      draft: { type: "boolean", description: "store even if the plan does not parse into waves yet" },
      json: { type: "boolean", description: "print JSON {waves, tasks, draftReason}" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        let md: string;
        try {
          md = args.file === "-" ? await new Response(Bun.stdin.stream()).text() : readFileSync(args.file, "utf8");
        } catch (err) {
          fail(`cannot read plan file ${args.file}: ${(err as Error).message}`);
        }
        const db = openCliStore();
        try {
          const r = ingestPlan(db, repo.project, args.name, md, { allowDraft: Boolean(args.draft), source: "cli" });
          await warnIfUnwatched(repo);
          if (args.json) return printJson(toPlanOutcome(r));
          for (const w of r.warnings) printErr(`warning: ${w}`);
          print(r.draftReason ? `plan stored as draft: ${r.draftReason}\n` : `plan stored: ${r.waves} waves, ${r.tasks} tasks\n`);
        } finally {
          db.close();
        }
      });
    },
  }),
  ["kas task plan login-throttle --file docs/plan.md", "cat plan.md | kas task plan login-throttle --file -", "kas task plan spike --file notes.md --draft"],
);
