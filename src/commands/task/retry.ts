import { defineCommand } from "citty";
import { retryTask } from "../../api/agents.ts";
import { daemonClient } from "../../server/client.ts";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, fail, guard, nameArg, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "retry", description: "Start again every agent the task needs now that is missing, failed, ended without its signal, or alive but stuck (an error screen or another attention item)" },
    args: {
      task: { type: "positional", required: true, description: "task name", valueHint: "task" },
      ...repoArg,
      json: { type: "boolean", description: "print the daemon's answer as JSON" },
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        const task = nameArg(args.task, "task name");
        const repo = resolveRepo(args.repo);
        const r = await daemonClient(await clientSocketPath(args.socket))(retryTask, { params: { project: repo.project, task }, timeout: 30_000 });
        if (args.json) return printJson(r);
        if (r.restarted.length === 0) fail(`nothing to retry for ${r.task}: ${r.note}`);
        print(`restarting ${r.restarted.join(", ")}`);
      });
    },
  }),
  ["kas task retry login-throttle", "kas task retry login-throttle --json"],
);
