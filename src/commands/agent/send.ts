import { defineCommand } from "citty";
import { daemonClient } from "../../server/client.ts";
import { sendToAgent } from "../../api/agents.ts";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, guard, nameArg, print } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "send", description: "Type a message into a running agent's terminal" },
    args: {
      title: { type: "positional", required: true, description: "agent title", valueHint: "title" },
      prompt: { type: "positional", required: true, description: "text to send", valueHint: "text" },
      ...repoArg,
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        const title = nameArg(args.title, "agent title");
        const repo = resolveRepo(args.repo);
        await daemonClient(await clientSocketPath(args.socket))(sendToAgent, { params: { project: repo.project, title }, body: { prompt: args.prompt } });
        print(`sent to ${args.title}`);
      });
    },
  }),
  ["kas agent send login-throttle-coder 'also update the README'"],
);
