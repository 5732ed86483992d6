import { defineCommand } from "citty";
import { daemonClient } from "../../server/client.ts";
import { listAgents } from "../../api/agents.ts";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, guard, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "list", description: "List the agents running for a repository (--all: finished ones too)" },
    args: {
      ...repoArg,
      task: { type: "string", description: "only this task", valueHint: "name" },
      all: { type: "boolean", description: "include agents that ended" },
      json: { type: "boolean", description: "print JSON" },
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        const query = { ...(args.all ? { all: "1" as const } : {}), ...(args.task ? { task: args.task } : {}) };
        const rows = await daemonClient(await clientSocketPath(args.socket))(listAgents, { params: { project: repo.project }, query });
        if (args.json) return printJson(rows);
        if (rows.length === 0) return print("no agents");
        for (const a of rows) print(`${a.title.padEnd(28)} ${a.role.padEnd(9)} ${a.state.padEnd(8)} ${a.started_at}  ${a.cwd}${a.sandbox ? `  sandbox: ${a.sandbox.split(" ")[0]}` : ""}${a.reason ? `  (${a.reason})` : ""}`);
      });
    },
  }),
  ["kas agent list", "kas agent list --all --json", "kas agent list --task login-throttle"],
);
