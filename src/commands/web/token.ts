// `kasmos web token [--rotate]`: the dashboard's token (0600 in ~/.config/kasmos), for scripts
// (Authorization: Bearer). Rotating it logs every dashboard session out at once.
import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { guard, print, printErr, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "token", description: "Print the dashboard's access token (made on first use, file mode 0600); --rotate replaces it, which logs every session out" },
    args: {
      rotate: { type: "boolean", description: "replace the token: every open dashboard session is logged out" },
      json: { type: "boolean", description: "print JSON {token, path, rotated}" },
    },
    async run({ args }) {
      await guard(async () => {
        const { ensureWebToken } = await import("../../web/token.ts");
        const { webTokenPath } = await import("../../config/paths.ts");
        const { token, created } = ensureWebToken({ rotate: args.rotate === true });
        if (args.json) return printJson({ token, path: webTokenPath(), rotated: args.rotate === true });
        print(`${token}\n`);
        if (args.rotate) printErr(`new token written to ${webTokenPath()}: every dashboard session is logged out (kas web prints a new login link)\n`);
        else if (created) printErr(`token written to ${webTokenPath()}\n`);
      });
    },
  }),
  ["kas web token", "kas web token --rotate", "curl -H \"Authorization: Bearer $(kas web token)\" http://127.0.0.1:7777/v1/status"],
);
