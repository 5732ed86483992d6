import { defineCommand } from "citty";
import { daemonClient } from "../../server/client.ts";
import { listRepos, trustRepo } from "../../api/repos.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath, guard, print, printJson } from "../_util.ts";
import { registeredProject } from "./_repo-arg.ts";
import { socketArg, socketFlag } from "./_socket.ts";

export default withExamples(
  defineCommand({
    meta: {
      name: "trust",
      description:
        "Approve a repository's .kasmos/config.toml as it is now. The programs (and their flags) a repo's own file names run only after this, and again only after a changed file is approved anew: a cloned repository does not choose what kasmos runs. Read the file first.",
    },
    args: {
      path: { type: "positional", required: true, description: "repository path, or a registered project name", valueHint: "repo-path|project" },
      json: { type: "boolean", description: "print the JSON response" },
      ...socketArg,
    },
    async run({ args }) {
      await guard(async () => {
        const api = daemonClient(await clientSocketPath(socketFlag(args)));
        const project = registeredProject(await api(listRepos), args.path);
        const r = await api(trustRepo, { params: { project } });
        if (args.json) return printJson(r);
        if (r.status === "nothing_to_trust") return print(`nothing to approve in ${r.path}: ${r.reason ?? "no config file"}\n`);
        const what = r.commands.length > 0 ? `; it may now run:\n${r.commands.map((c) => `  ${c}\n`).join("")}` : " (it names no command)\n";
        print(`${r.status === "unchanged" ? "already approved" : "approved"}: ${r.path}/.kasmos/config.toml (sha256 ${r.digest?.slice(0, 12)})${what}`);
      });
    },
  }),
  ["kas daemon trust myproject", "kas daemon trust ~/src/shop --json"],
);
