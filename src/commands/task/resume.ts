import { defineCommand } from "citty";
import { loadConfig } from "../../config/load.ts";
import { utcDay } from "../../lifecycle/budget.ts";
import { recordAudit } from "../../store/audit.ts";
import { clearAttention } from "../../store/agents.ts";
import { holdOf, releaseHold, taskSpend } from "../../store/budget.ts";
import { nowIso, writeTx } from "../../store/db.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo, warnIfUnwatched } from "../_store.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";

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
        const db = openCliStore();
        const h = holdOf(db, repo.project, args.task);
        if (!h) fail(`task not found: ${repo.project}/${args.task}`);
        if (h.hold === "") fail(`task ${args.task} is not on hold`);
        const spent = taskSpend(db, repo.project, args.task, loadConfig(args.config).config.pricing);
        const now = nowIso();
        // The task's budget counts again from here; a day hold is lifted for the rest of the day.
        const base = { usd: spent.usd ?? 0, tokens: spent.tokens, at: now, day: h.hold.includes("spend today") ? utcDay(now) : "" };
        writeTx(db, () => {
          releaseHold(db, repo.project, args.task, base);
          clearAttention(db, repo.project, args.task);
          recordAudit(db, { kind: "task_resumed", project: repo.project, task: args.task, message: `resumed by operator past its budget (${h.hold})`, detail: { base } });
        });
        db.close();
        try {
          const { daemonClient } = await import("../../daemon/client.ts");
          await daemonClient(await clientSocketPath(undefined))("/v1/scan", { method: "POST", body: { project: repo.project }, timeout: 1000 });
        } catch {
          // the daemon picks it up at its next pass (or start)
        }
        await warnIfUnwatched(repo);
        if (args.json) return printJson({ task: args.task, resumed_from: base });
        print(`resumed ${repo.project}/${args.task}: its agents start again; the budget counts from here (spent so far: ${spent.tokens} tokens${spent.usd !== null ? `, $${spent.usd.toFixed(4)}` : ""})\n`);
      });
    },
  }),
  ["kas task resume login-throttle", "kas task resume login-throttle --json"],
);
