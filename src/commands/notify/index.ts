// `kasmos notify …`: the notification channels of [notify].
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "notify", description: "Check the notification channels configured in [notify]" },
  subCommands: {
    test: () => import("./test.ts").then((m) => m.default),
  },
});
