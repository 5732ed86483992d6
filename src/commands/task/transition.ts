import { defineCommand } from "citty";
import { toTask, toTransitionOutcome } from "../../api/tasks.ts";
import { loadConfig } from "../../config/load.ts";
import { eventNames } from "../../lifecycle/fsm.ts";
import { transitionTask } from "../../usecases/transition-task.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { fail, guard, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "transition", description: `Apply an event to a task as the operator (user-only events allowed): ${eventNames().join(", ")}` },
    args: {
      name: { type: "positional", required: true, description: "task name", valueHint: "name" },
      event: { type: "positional", required: true, description: "event (e.g. plan_start, implement_start, cancel, reopen, start_over)", valueHint: "event" },
      ...repoArg,
      config: { type: "string", description: "daemon config whose auto_* flags apply (default: ~/.config/kasmos/daemon.toml)", valueHint: "path" },
      json: { type: "boolean", description: "print JSON {result, task}" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        const { config } = loadConfig(args.config);
        const db = openCliStore();
        const { event, result: out, task } = await transitionTask(db, { project: repo.project, repoPath: repo.path, name: args.name, event: args.event, config, source: "cli" });
        db.close();
        await warnIfUnwatched(repo);
        if (args.json) {
          printJson({ result: toTransitionOutcome(out), task: toTask(task) });
          if (out.outcome === "failed") process.exit(1);
          return;
        }
        if (out.outcome === "failed") fail(`${event} refused: ${out.result}`);
        const moves = out.transitions.map((t) => `${t.from} → ${t.to}`).join(", ");
        print(`${repo.project}/${task.name}: ${moves || "no status change"} (${out.result})\n`);
      });
    },
  }),
  ["kas task transition login-throttle plan_start", "kas task transition login-throttle implement_start", "kas task transition login-throttle cancel", "kas task transition login-throttle reopen --json"],
);
