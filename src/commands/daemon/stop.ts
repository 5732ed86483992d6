import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { pidFilePath } from "../../config/paths.ts";
import { looksLikeDaemon, readPidFile, removePidFile } from "../../runtime/pidfile.ts";
import { processAlive } from "../../util/process.ts";
import { fail, guard, print } from "../_util.ts";

/** Guard against PID reuse: only signal a process that looks like a kasmos daemon. */
export default withExamples(defineCommand({
  meta: {
    name: "stop",
    description: "Stop the running daemon: SIGTERM to the PID in ~/.config/kasmos/daemon.pid, then wait until it has exited."  },
  args: {
    timeout: { type: "string", description: "seconds to wait for the daemon to exit", default: "15", valueHint: "sec" },
  },
  async run({ args }) {
    await guard(async () => {
      const file = pidFilePath();
      const pid = readPidFile(file);
      if (pid === null) fail("daemon not running");
      if (!processAlive(pid) || !looksLikeDaemon(pid)) {
        removePidFile(file);
        fail("daemon not running (removed stale PID file)");
      }
      process.kill(pid, "SIGTERM");
      const timeoutMs = Math.max(1, Number(args.timeout) || 15) * 1000;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (!processAlive(pid)) {
          removePidFile(file, pid);
          print("daemon stopped\n");
          return;
        }
        await Bun.sleep(20);
      }
      fail(`daemon (pid ${pid}) did not exit within ${timeoutMs / 1000}s`);
    });
  },
}), ["kas daemon stop"]);
