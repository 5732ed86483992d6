import { defineCommand } from "citty";
import { daemonClient } from "../../server/client.ts";
import { listRepos, removeRepo } from "../../api/repos.ts";
import { registeredProject } from "./_repo-arg.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath, guard, print, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";

export default withExamples(
  defineCommand({
    meta: {
      name: "remove",
      description: "Unregister a repository from the running daemon (by its path, or by its project name). Refused while its agents run, unless --force stops them.",
    },
    args: {
      path: { type: "positional", required: true, description: "repository path, or a registered project name", valueHint: "repo-path|project" },
      force: { type: "boolean", description: "stop the repo's running agents and remove it" },
      json: { type: "boolean", description: "print the JSON response" },
      ...socketArg,
    },
    async run({ args }) {
      await guard(async () => {
        const api = daemonClient(await clientSocketPath(socketFlag(args)));
        const repos = await api(listRepos);
        const project = registeredProject(repos, args.path);
        const r = await api(removeRepo, { params: { project }, ...(args.force ? { query: { force: "1" } } : {}) });
        if (args.json) return printJson(r);
        print(`unregistered repo: ${r.path} (project ${r.project})${r.agents_stopped > 0 ? `; stopping its ${r.agents_stopped} agent${r.agents_stopped === 1 ? "" : "s"}` : ""}\n`);
      });
    },
  }),
  ["kas daemon remove /home/user/myproject", "kas daemon remove myproject", "kas daemon remove ~/src/shop --force"],
);
