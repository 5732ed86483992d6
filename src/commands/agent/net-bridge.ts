// `kasmos agent net-bridge --to <socket> [--port N] -- <program> [args…]`: run inside a sandbox whose
// [sandbox] network is a list of hosts (no network of its own), by kasmos, never by hand. It listens on
// 127.0.0.1:<port> in the sandbox's own network namespace (the CLI's HTTP(S)_PROXY points there),
// carries each connection to the daemon's filtering proxy over the unix socket, first with the agent's
// token, and runs the program; it exits with the program's status.
import { defineCommand } from "citty";
import type { Socket } from "bun";
import { agentTokenFromEnv } from "../../server/agent-credential.ts";
import { SocketPipe } from "../../sandbox/socket-pipe.ts";
import { NET_BRIDGE_PORT } from "../../server/agent-paths.ts";

interface Leg {
  toProxy: SocketPipe | null;
  toClient: SocketPipe;
  early: Uint8Array[];
  proxy: Socket<unknown> | null;
}

function listen(to: string, port: number, token: string): void {
  Bun.listen<Leg>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(client) {
        const leg: Leg = { toProxy: null, toClient: new SocketPipe(client as Socket<unknown>), early: [], proxy: null };
        client.data = leg;
        Bun.connect<undefined>({
          unix: to,
          socket: {
            open(proxy) {
              leg.proxy = proxy as Socket<unknown>;
              leg.toProxy = new SocketPipe(proxy as Socket<unknown>);
              leg.toProxy.write(new TextEncoder().encode(`KASMOS-AGENT ${token}\n`));
              for (const b of leg.early) leg.toProxy.write(b);
              leg.early = [];
            },
            data(_p, chunk) {
              leg.toClient.write(chunk);
            },
            drain() {
              leg.toProxy?.drain();
            },
            close() {
              leg.toClient.end();
            },
            error() {
              leg.toClient.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        const leg = client.data;
        if (leg.toProxy) leg.toProxy.write(chunk);
        else leg.early.push(new Uint8Array(chunk));
      },
      drain(client) {
        client.data.toClient.drain();
      },
      close(client) {
        client.data.proxy?.end();
      },
      error(client) {
        client.data.proxy?.end();
      },
    },
  });
}

export default defineCommand({
  meta: { name: "net-bridge", description: "Inside a sandbox with a host list: carry the agent's proxy connections to the daemon (run by kasmos)" },
  args: {
    to: { type: "string", required: true, description: "the daemon's proxy socket", valueHint: "path" },
    port: { type: "string", description: `port on 127.0.0.1 (default ${NET_BRIDGE_PORT})`, valueHint: "n" },
  },
  async run({ args, rawArgs }) {
    const dash = rawArgs.indexOf("--");
    const argv = dash >= 0 ? rawArgs.slice(dash + 1) : [];
    if (argv.length === 0) {
      console.error("kasmos agent net-bridge: no program after --");
      process.exit(2);
    }
    const port = args.port ? Number(args.port) : NET_BRIDGE_PORT;
    listen(args.to, port, agentTokenFromEnv() ?? "");
    // The terminal's C-c reaches the program too (same process group): the bridge outlives it to report its status.
    process.on("SIGINT", () => {});
    const child = Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"] });
    for (const sig of ["SIGTERM", "SIGHUP"] as const) process.on(sig, () => child.kill(sig));
    process.exit(await child.exited);
  },
});
