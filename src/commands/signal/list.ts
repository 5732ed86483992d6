import { defineCommand } from "citty";
import { toSignal } from "../../api/signals.ts";
import type { SignalRowStatus } from "../../lifecycle/types.ts";
import { listSignals, SIGNAL_ROW_STATUSES } from "../../store/signals.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, resolveRepo } from "../_store.ts";
import { fail, guard, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "list", description: "List queued and processed signals, newest first" },
    args: {
      status: { type: "string", description: `only these statuses, comma-separated (${SIGNAL_ROW_STATUSES.join(", ")})`, valueHint: "status" },
      repo: { type: "string", description: "only this repository (default: every repository)", valueHint: "path" },
      task: { type: "string", description: "only this task", valueHint: "name" },
      limit: { type: "string", description: "at most this many rows", default: "50", valueHint: "n" },
      json: { type: "boolean", description: "print JSON" },
    },
    async run({ args }) {
      await guard(() => {
        let status: SignalRowStatus[] | undefined;
        if (args.status) {
          status = [];
          for (const s of args.status.split(",").map((x) => x.trim()).filter(Boolean)) {
            if (!(SIGNAL_ROW_STATUSES as readonly string[]).includes(s)) fail(`unknown signal status "${s}"; valid: ${SIGNAL_ROW_STATUSES.join(", ")}`);
            status.push(s as SignalRowStatus);
          }
        }
        const project = args.repo ? resolveRepo(args.repo).project : undefined;
        const db = openCliStore();
        const rows = listSignals(db, {
          ...(project ? { project } : {}),
          ...(args.task ? { task: args.task } : {}),
          ...(status ? { status } : {}),
          limit: Math.max(1, Math.min(1000, Number(args.limit) || 50)),
        });
        db.close();
        if (args.json) return printJson(rows.map(toSignal));
        if (rows.length === 0) return void print("no signals\n");
        for (const r of rows) {
          print(`#${r.id}  ${r.createdAt}  ${r.status.padEnd(10)} ${r.project}/${r.task}  ${r.type}  (${r.source.replace(/#.*$/, "")})${r.result ? `  → ${r.result.split("\n")[0]}` : ""}\n`);
        }
      });
    },
  }),
  ["kas signal list", "kas signal list --status failed", "kas signal list --repo . --task login-throttle --json"],
);
