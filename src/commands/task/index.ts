import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "task", description: "task commands" },
  subCommands: {},
});
