// `kasmos agent type <title> <keys> [--enter]`: type into a taken-over agent's terminal as it is (no
// Enter unless asked), what a person at the dashboard's Agent page types. Refused until
// `kasmos agent takeover`. Audited by length.
import { defineCommand } from "citty";
import { terminalKeys } from "../../api/terminal.ts";
import { withExamples } from "../_help.ts";
import { print } from "../_util.ts";
import { agentArgs, onAgent } from "./_agent.ts";

export default withExamples(
  defineCommand({
    meta: { name: "type", description: "Type keys into a taken-over agent's terminal, as they are (kas agent takeover first; kas agent send types a whole prompt and Enter without one)" },
    args: {
      ...agentArgs,
      keys: { type: "positional", required: true, description: "text to type", valueHint: "text" },
      enter: { type: "boolean", description: "press Enter after the text" },
    },
    async run({ args }) {
      await onAgent(args, async (call, params) => {
        await call(terminalKeys, { params, body: { text: args.enter ? `${args.keys}\r` : args.keys } });
        print(`typed into ${params.title}`);
      });
    },
  }),
  ["kas agent takeover login-throttle-coder && kas agent type login-throttle-coder 1", "kas agent type login-throttle-coder 'y' --enter"],
);
