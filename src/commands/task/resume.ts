import { defineCommand } from "citty";
import { loadConfig } from "../../config/load.ts";
import { parseBase } from "../../lifecycle/budget.ts";
import { holdOf } from "../../store/budget.ts";
import { transitionTask } from "../../usecases/transition-task.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";

// The operator event `resume` (FSM: keeps the status; processor: lifts the hold and grants a fresh
// allowance from the spend so far). Same path as `kas task transition <task> resume`.
export default withExamples(
  defineCommand({
    meta: { name: "resume", description: "Lift a task's budget hold: its agents start again with a fresh allowance from what it has spent so far" },
    args: {
      task: { type: "positional", required: true, description: "task name", valueHint: "task" },
      ...repoArg,
      config: { type: "string", description: "daemon TOML config (for [pricing])", valueHint: "path" },
      json: { type: "boolean", description: "print JSON {task, resumed_from}" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        const { config } = loadConfig(args.config);
        const db = openCliStore();
        const h = holdOf(db, repo.project, args.task);
        if (!h) fail(`task not found: ${repo.project}/${args.task}`);
        if (h.hold === "") fail(`task ${args.task} is not on hold`);
        const { result } = await transitionTask(db, { project: repo.project, repoPath: repo.path, name: args.task, event: "resume", config, source: "operator (kas task resume)" });
        if (result.outcome === "failed") fail(`resume refused: ${result.result}`);
        const base = result.update.hold?.base ?? parseBase("");
        db.close();
        try {
          const { daemonClient } = await import("../../server/client.ts");
          const { scan } = await import("../../api/signals.ts");
          await daemonClient(await clientSocketPath(undefined))(scan, { body: { project: repo.project }, timeout: 1000 });
        } catch {
          // the daemon picks it up at its next pass (or start)
        }
        await warnIfUnwatched(repo);
        if (args.json) return printJson({ task: args.task, resumed_from: base });
        print(`resumed ${repo.project}/${args.task}: its agents start again; the budget counts from here (spent so far: ${base.tokens} tokens, $${base.usd.toFixed(4)})\n`);
      });
    },
  }),
  ["kas task resume login-throttle", "kas task resume login-throttle --json", "kas task transition login-throttle resume"],
);
