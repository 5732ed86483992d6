import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "signal", description: "signal commands" },
  subCommands: {},
});
