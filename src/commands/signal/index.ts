// `kasmos signal …`: queue lifecycle signals (durable, daemon or not) and inspect the queue.
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "signal", description: "Emit lifecycle signals into the durable queue and inspect it" },
  subCommands: {
    emit: () => import("./emit.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
  },
});
