import { defineCommand } from "citty";
import { daemonClient } from "../../server/client.ts";
import { killAgent } from "../../api/agents.ts";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, guard, nameArg, print } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "kill", description: "Stop an agent (it is not restarted until the task changes; the task gets an attention note)" },
    args: {
      title: { type: "positional", required: true, description: "agent title", valueHint: "title" },
      ...repoArg,
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        const title = nameArg(args.title, "agent title");
        const repo = resolveRepo(args.repo);
        await daemonClient(await clientSocketPath(args.socket))(killAgent, { params: { project: repo.project, title } });
        print(`stopping ${args.title}`);
      });
    },
  }),
  ["kas agent kill login-throttle-review-1"],
);
