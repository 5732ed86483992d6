// `kasmos agent takeover <title> [--release]`: take over (or hand back) an agent's terminal, as the
// dashboard's Agent page does; until then `kasmos agent type` is refused. Audited.
import { defineCommand } from "citty";
import { terminalTakeover } from "../../api/terminal.ts";
import { withExamples } from "../_help.ts";
import { print, printJson } from "../_util.ts";
import { agentArgs, onAgent } from "./_agent.ts";

export default withExamples(
  defineCommand({
    meta: { name: "takeover", description: "Take over a running agent's terminal so keys can be typed into it (kas agent type, the dashboard); --release hands it back. Recorded in the audit log" },
    args: {
      ...agentArgs,
      release: { type: "boolean", description: "hand the terminal back (read-only again)" },
      json: { type: "boolean", description: "print JSON {title, taken_over}" },
    },
    async run({ args }) {
      await onAgent(args, async (call, params) => {
        const r = await call(terminalTakeover, { params, body: { release: args.release === true } });
        if (args.json) printJson(r);
        else print(r.taken_over ? `${params.title}'s terminal is yours: kas agent type ${params.title} <keys> (hand it back with --release)` : `${params.title}'s terminal handed back (read-only)`);
      });
    },
  }),
  ["kas agent takeover login-throttle-coder", "kas agent takeover login-throttle-coder --release"],
);
