// `kasmos daemon` (alias `d`): the control plane. `--socket` is persistent: accepted before or after the subcommand.
import { defineCommand } from "citty";
import { rememberParentSocket, socketArg } from "./_socket.ts";

export default defineCommand({
  meta: {
    name: "daemon",
    alias: "d",
    description: "Manage the kasmos multi-repo background orchestration daemon",
  },
  args: socketArg,
  setup({ args }) {
    if (typeof args.socket === "string" && args.socket.length > 0) rememberParentSocket(args.socket);
  },
  subCommands: {
    start: () => import("./start.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
    add: () => import("./add.ts").then((m) => m.default),
    remove: () => import("./remove.ts").then((m) => m.default),
    reload: () => import("./reload.ts").then((m) => m.default),
    config: () => import("./config.ts").then((m) => m.default),
    events: () => import("./events.ts").then((m) => m.default),
    service: () => import("./service.ts").then((m) => m.default),
    logs: () => import("./logs.ts").then((m) => m.default),
    gc: () => import("./gc.ts").then((m) => m.default),
    trust: () => import("./trust.ts").then((m) => m.default),
  },
});
