import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { resolve } from "node:path";
import { daemonClient } from "../../server/client.ts";
import { addRepo } from "../../api/repos.ts";
import { clientSocketPath, guard, print, printErr, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";

export default withExamples(defineCommand({
  meta: {
    name: "add",
    description: "Register a repository with the running daemon so it is included in signal scans (POST /v1/repos). The registration is stored and survives daemon restarts."  },
  args: {
    path: { type: "positional", required: true, description: "repository path (a directory inside a git work tree)", valueHint: "repo-path" },
    json: { type: "boolean", description: "print the JSON response" },
    ...socketArg,
  },
  async run({ args }) {
    await guard(async () => {
      const abs = resolve(args.path);
      const r = await daemonClient(await clientSocketPath(socketFlag(args)))(addRepo, { body: { path: abs } });
      if (args.json) return printJson(r);
      print(`registered repo: ${r.path} (project ${r.project})${r.path !== abs ? ` — the repository of ${abs}` : ""}\n`);
      for (const w of r.warnings) printErr(`warning: ${w}`);
    });
  },
}), ["kas daemon add /home/user/myproject", "kas daemon add ."]);
