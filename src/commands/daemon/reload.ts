import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { pidFilePath } from "../../config/paths.ts";
import { daemonClient } from "../../server/client.ts";
import { status } from "../../api/status.ts";
import { readPidFile } from "../../runtime/pidfile.ts";
import { processAlive } from "../../util/process.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";

export default withExamples(defineCommand({
  meta: {
    name: "reload",
    description: "Reload the daemon configuration: SIGHUP to the PID in ~/.config/kasmos/daemon.pid. Waits for the daemon to report the outcome; a broken config is refused (exit 1) and the old one stays in force."  },
  args: {
    ...socketArg,
    json: { type: "boolean", description: "print JSON {status: \"reloaded\", changes: [\"key: old → new\"]} (secrets masked)" },
  },
  async run({ args }) {
    await guard(async () => {
      const pid = readPidFile(pidFilePath());
      if (pid === null || !processAlive(pid)) fail("daemon not running");
      const client = daemonClient(await clientSocketPath(socketFlag(args)));
      let before: number | null = null;
      try {
        before = (await client(status, { timeout: 2000 })).last_reload?.seq ?? 0;
      } catch {
        before = null; // socket elsewhere (e.g. started with another --config): fire and forget
      }
      process.kill(pid, "SIGHUP");
      if (before === null) {
        if (args.json) printJson({ status: "signalled", pid, changes: null });
        else print(`reload signal sent to daemon (pid ${pid})\n`);
        return;
      }
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        await Bun.sleep(20);
        const s = await client(status, { timeout: 2000 });
        const r = s.last_reload;
        if (r && r.seq > before) {
          if (!r.ok) fail(`reload refused, previous config kept: ${r.error}`);
          if (args.json) printJson({ status: "reloaded", changes: r.changes });
          else print(r.changes.length === 0 ? "daemon reloaded: no changes\n" : `daemon reloaded, ${r.changes.length} change${r.changes.length === 1 ? "" : "s"}:\n${r.changes.map((c) => `  ${c}\n`).join("")}`);
          return;
        }
      }
      fail("daemon did not report the reload within 5s; check its log");
    });
  },
}), ["kas daemon reload", "kas daemon reload --json"]);
