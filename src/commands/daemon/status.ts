import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { daemonClient } from "../../server/client.ts";
import { status } from "../../api/status.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";
import { renderStatus } from "./_status-format.ts";
import { stdoutIsTTY, useColor } from "../_tty.ts";

export default withExamples(
  defineCommand({
    meta: {
      name: "status",
      description: "Show the daemon status: registered repos, tasks by state, active agents and attention items (GET /v1/status).",
    },
    args: {
      json: { type: "boolean", description: "print the raw JSON response" },
      watch: { type: "string", description: "refresh every N seconds until Ctrl-C (default 2 when given without a value)", valueHint: "sec" },
      ...socketArg,
    },
    async run({ args }) {
      await guard(async () => {
        const client = daemonClient(await clientSocketPath(socketFlag(args)));
        const color = useColor();
        if (args.watch === undefined) {
          const s = await client(status);
          if (args.json) return printJson(s);
          return print(renderStatus(s, { color, now: Date.now() }));
        }
        const every = args.watch === "" || args.watch === "true" ? 2 : Number(args.watch);
        if (!(every > 0)) fail(`--watch needs a number of seconds > 0, got "${args.watch}"`);
        for (;;) {
          const s = await client(status);
          const text = args.json ? JSON.stringify(s) : renderStatus(s, { color, now: Date.now() });
          // Clear the screen only on a terminal; piped output gets one snapshot per refresh.
          print(stdoutIsTTY() ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
          await Bun.sleep(every * 1000);
        }
      });
    },
  }),
  ["kas daemon status", "kas daemon status --json", "kas daemon status --watch 2", "kas daemon status --socket /run/user/1000/kasmos/kas.sock"],
);
