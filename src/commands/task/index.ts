// `kasmos task …`: create and inspect tasks, store plans, apply user events. Works with or without a daemon.
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "task", description: "Create, inspect and drive tasks (the store is the source of truth; no daemon needed)" },
  subCommands: {
    create: () => import("./create.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    show: () => import("./show.ts").then((m) => m.default),
    plan: () => import("./plan.ts").then((m) => m.default),
    transition: () => import("./transition.ts").then((m) => m.default),
    history: () => import("./history.ts").then((m) => m.default),
    retry: () => import("./retry.ts").then((m) => m.default),
    resume: () => import("./resume.ts").then((m) => m.default),
  },
});
