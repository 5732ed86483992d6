import { defineCommand } from "citty";
import { daemonClient } from "../../server/client.ts";
import { notifyTest } from "../../api/notify.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "test", description: "Send a sample notification through every channel of [notify] (command, webhook, desktop) and report each" },
    args: {
      json: { type: "boolean", description: "print JSON {results: [{channel, ok, detail}]} (exit 1 unless every channel delivered)" },
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await guard(async () => {
        // The daemon answers within its delivery timeout (10 s, one attempt per channel, in parallel).
        const r = await daemonClient(await clientSocketPath(args.socket))(notifyTest, { timeout: 60_000 });
        if (args.json) {
          printJson(r);
        } else {
          if (r.results.length === 0) fail("no notification channel configured: set [notify] command, webhook or desktop in daemon.toml, then kas daemon reload");
          print(`${r.results.map((x) => `${x.ok ? "ok  " : "FAIL"} ${x.channel}: ${x.detail}`).join("\n")}\n`);
        }
        // Exit 1 unless every channel delivered (also with --json, which reports each channel).
        if (r.results.length === 0 || r.results.some((x) => !x.ok)) process.exit(1);
      });
    },
  }),
  ["kas notify test", "kas notify test --json"],
);
