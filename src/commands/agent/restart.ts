import { defineCommand } from "citty";
import { restartAgent } from "../../api/agents.ts";
import { daemonClient } from "../../server/client.ts";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, guard, nameArg, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "restart", description: "Restart a missing, failed or stuck agent in place (its task keeps its phase; earlier phases are not re-run)" },
    args: {
      title: { type: "positional", required: true, description: "agent title (see `kas agent list --all` or `kas task show`)", valueHint: "title" },
      ...repoArg,
      fresh: { type: "boolean", description: "start a new CLI session (default: continue the agent's last session where its CLI can: Claude Code --resume, codex resume)" },
      json: { type: "boolean", description: "print the daemon's answer as JSON" },
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        const title = nameArg(args.title, "agent title");
        const repo = resolveRepo(args.repo);
        const r = await daemonClient(await clientSocketPath(args.socket))(restartAgent, { params: { project: repo.project, title }, query: args.fresh ? { fresh: "1" } : {}, timeout: 30_000 });
        if (args.json) return printJson(r);
        print(`restarting ${r.restarted.join(", ")} (task ${r.task})`);
      });
    },
  }),
  ["kas agent restart login-throttle-W1-T2", "kas agent restart login-throttle-W1-T2 --fresh", "kas agent restart login-throttle-review-1 --json"],
);
