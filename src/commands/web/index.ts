// `kasmos web`: start the dashboard on the running daemon (unless [web] listen already did) and print
// its URL and a one-time login link. `kasmos web token` is the token behind the sessions.
import { defineCommand } from "citty";
import { webStart } from "../../api/web.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath, guard, print, printErr, printJson } from "../_util.ts";
import { socketArg } from "../daemon/_socket.ts";

export default withExamples(
  defineCommand({
    meta: { name: "web", description: "Open the live dashboard: starts it on the running daemon when [web] listen is not set (loopback, for this run), prints its URL and a one-time login link" },
    args: {
      ...socketArg,
      listen: { type: "string", description: "address to listen on when [web] listen is not set (default 127.0.0.1:7777; loopback only unless [web] allow_remote)", valueHint: "host:port" },
      json: { type: "boolean", description: "print JSON {url, source, warnings, login_url, login_expires_at}" },
    },
    subCommands: {
      token: () => import("./token.ts").then((m) => m.default),
    },
    async run({ args, rawArgs }) {
      if (rawArgs.includes("token")) return; // citty runs the parent's run after a subcommand's
      await guard(async () => {
        const { daemonClient } = await import("../../server/client.ts");
        const client = daemonClient(await clientSocketPath(args.socket));
        const reply = await client(webStart, { body: args.listen ? { listen: args.listen } : {} });
        if (args.json) return printJson(reply);
        if (reply.url === null) return; // answered only while listening (409 otherwise)
        const how = reply.source === "config" ? "from [web] listen" : `started for this run; to keep it, add [web] listen = "${new URL(reply.url).host}" to ~/.config/kasmos/daemon.toml`;
        print(`dashboard: ${reply.url} (${how})\nlogin link (one use, until ${reply.login_expires_at.slice(11, 16)} UTC): ${reply.login_url}\n`);
        for (const w of reply.warnings) printErr(`warning: ${w}\n`);
      });
    },
  }),
  ["kas web", "kas web --listen 127.0.0.1:8080", "kas web token --rotate"],
);
