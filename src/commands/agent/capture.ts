import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, guard, nameArg, print } from "../_util.ts";
import { captureAgent } from "../../api/agents.ts";
import { daemonClient } from "../../server/client.ts";

export default withExamples(
  defineCommand({
    meta: { name: "capture", description: "Print what an agent's terminal shows (its scrollback)" },
    args: {
      title: { type: "positional", required: true, description: "agent title (see kas agent list)", valueHint: "title" },
      lines: { type: "string", description: "only the last N lines", valueHint: "n" },
      ...repoArg,
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        const title = nameArg(args.title, "agent title");
        const repo = resolveRepo(args.repo);
        const text = await daemonClient(await clientSocketPath(args.socket))(captureAgent, { params: { project: repo.project, title }, ...(args.lines ? { query: { lines: args.lines } } : {}) });
        print(text);
      });
    },
  }),
  ["kas agent capture login-throttle-review-1", "kas agent capture login-throttle-W1-T2 --lines 40"],
);
