import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { basename, resolve } from "node:path";
import { daemonClient } from "../../daemon/client.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./index.ts";

export default withExamples(defineCommand({
  meta: {
    name: "remove",
    description: "Unregister a repository from the running daemon. The project name is the basename of the path (DELETE /v1/repos/<project>)."  },
  args: {
    path: { type: "positional", required: true, description: "repository path (or project name)", valueHint: "repo-path" },
    json: { type: "boolean", description: "print the JSON response" },
    ...socketArg,
  },
  async run({ args }) {
    await guard(async () => {
      const abs = resolve(args.path);
      const project = basename(abs);
      if (!project) fail(`cannot derive a project name from ${args.path}`);
      const r = await daemonClient(await clientSocketPath(socketFlag(args)))<{ project: string; path: string }>(`/v1/repos/${encodeURIComponent(project)}`, { method: "DELETE" });
      if (args.json) return printJson(r);
      print(`unregistered repo: ${r.path} (project ${r.project})\n`);
    });
  },
}), ["kas daemon remove /home/user/myproject"]);
