// GET /v1/doctor: what `kas doctor` needs to judge the environment agents really get — the daemon's.
// Variable names only, never values; each agent CLI's gates run here, in this process's environment.
import { Hono } from "hono";
import { harnessOf } from "../../agents/harness/index.ts";
import { agentVisibleEnv } from "../../agents/private-env.ts";
import { type DaemonView, doctor, type Readiness } from "../../api/doctor.ts";
import { cliUses } from "../../doctor/agents.ts";
import { sandboxAvailability } from "../../sandbox/probe.ts";
import { envNames } from "../../doctor/daemon-view.ts";
import { myUid } from "../../util/process.ts";
import type { Daemon } from "../running-daemon.ts";
import { serve } from "../http.ts";

export async function daemonView(d: Daemon): Promise<DaemonView> {
  const uid = myUid();
  // What agents get: the daemon's environment without the variables kept from them.
  const env: Record<string, string | undefined> = agentVisibleEnv(process.env);
  const clis: Record<string, Readiness> = {};
  for (const [name, e] of cliUses(d.config, (await sandboxAvailability()).ok)) {
    try {
      // No folders: the gates only (nothing is trusted or written for a question).
      const pre = await harnessOf(name).preflight({ folders: [], skipPermissions: e.skip, env, isRoot: uid === 0, executable: e.path });
      clis[name] = pre.ok ? { ok: true } : { ok: false, reason: pre.refusal.reason, fix: pre.refusal.fix };
    } catch (err) {
      clis[name] = { ok: false, reason: (err as Error).message, fix: "fix the file named above" };
    }
  }
  return { pid: process.pid, uid, root: uid === 0, env: envNames(process.env), is_sandbox: env.IS_SANDBOX ?? "", clis };
}

export function doctorRoutes(d: Daemon): Hono {
  const app = new Hono();
  serve(app, doctor, () => daemonView(d));
  return app;
}
