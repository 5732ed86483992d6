import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { fail, guard, print } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";

export default withExamples(defineCommand({
  meta: {
    name: "start",
    description: "Start the kasmos daemon (daemonizes by default; PID in ~/.config/kasmos/daemon.pid, log in ~/.config/kasmos/daemon.log). For persistent installs prefer the systemd user service (systemctl --user start kasmos)."  },
  args: {
    foreground: { type: "boolean", description: "run in foreground instead of daemonizing (suitable for systemd Type=simple)" },
    config: { type: "string", description: "path to daemon TOML config file (default: ~/.config/kasmos/daemon.toml)", valueHint: "path" },
    ...socketArg,
  },
  async run({ args }) {
    if (args.foreground) {
      const { runForeground } = await import("../../daemon/run.ts");
      let code = 1;
      await guard(async () => {
        code = await runForeground({ configPath: args.config, socketFlag: socketFlag(args) });
      });
      process.exit(code);
    }
    await guard(async () => {
      const { startDetached } = await import("../../runtime/daemonize.ts");
      const r = await startDetached({ configPath: args.config, socketFlag: socketFlag(args) });
      if (!r.ok) fail(r.message);
      print(`${r.message}\n`);
    });
  },
}), ["kas daemon start", "kas daemon start --foreground", "kas daemon start --foreground --config /etc/kasmos/daemon.toml"]);
