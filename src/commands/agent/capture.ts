import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, fail, guard, nameArg, print } from "../_util.ts";

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
        const q = args.lines ? `?lines=${encodeURIComponent(args.lines)}` : "";
        let res: Response;
        try {
          res = await fetch(`http://kasmos/v1/repos/${encodeURIComponent(repo.project)}/instances/${encodeURIComponent(title)}/capture${q}`, { unix: await clientSocketPath(args.socket) });
        } catch {
          fail("daemon not running");
        }
        const text = await res.text();
        if (!res.ok) fail((JSON.parse(text) as { error?: string }).error ?? `${res.status}`);
        print(text);
      });
    },
  }),
  ["kas agent capture login-throttle-review-1", "kas agent capture login-throttle-W1-T2 --lines 40"],
);
