// `kasmos agent …`: the agents (tmux sessions) the daemon runs for a repository's tasks.
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "agent", description: "List, watch, talk to and stop the agents the daemon runs" },
  subCommands: {
    list: () => import("./list.ts").then((m) => m.default),
    capture: () => import("./capture.ts").then((m) => m.default),
    send: () => import("./send.ts").then((m) => m.default),
    takeover: () => import("./takeover.ts").then((m) => m.default),
    type: () => import("./type.ts").then((m) => m.default),
    kill: () => import("./kill.ts").then((m) => m.default),
    restart: () => import("./restart.ts").then((m) => m.default),
    hook: () => import("./hook.ts").then((m) => m.default),
    "net-bridge": () => import("./net-bridge.ts").then((m) => m.default),
  },
});
