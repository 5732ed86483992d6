import { defineCommand } from "citty";
import { planTask, toPlanOutcome } from "../../api/tasks.ts";
import { agentTokenFromEnv } from "../../server/agent-credential.ts";
import { daemonClient } from "../../server/client.ts";
import { readFileSync } from "node:fs";
import { ingestPlan } from "../../store/plans.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { clientSocketPath, fail, guard, print, printErr, printJson } from "../_util.ts";

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
        if (agentTokenFromEnv() !== null) {
          // A sandboxed agent: no store in sight, the daemon stores its own task's plan.
          const out = await daemonClient(await clientSocketPath(undefined))(planTask, { params: { project: repo.project, name: args.name }, body: { markdown: md, draft: Boolean(args.draft) } });
          if (args.json) return printJson(out);
          for (const w of out.warnings) printErr(`warning: ${w}`);
          return print(out.draft_reason ? `plan stored as draft: ${out.draft_reason}\n` : `plan stored: ${out.waves} waves, ${out.tasks} tasks\n`);
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
