import { defineCommand } from "citty";
import { SIGNAL_TYPES } from "../../lifecycle/types.ts";
import { emitSignal } from "../../usecases/emit-signal.ts";
import { daemonClient } from "../../server/client.ts";
import { emitSignal as emitSignalRoute, scan } from "../../api/signals.ts";
import { agentTokenFromEnv } from "../../server/agent-credential.ts";
import { withExamples } from "../_help.ts";
import { openCliStore, repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, fail, guard, print, printJson } from "../_util.ts";

export default withExamples(
  defineCommand({
    meta: { name: "emit", description: "Queue a lifecycle signal for a task (durable: queued even when the daemon is down)" },
    args: {
      type: { type: "positional", required: true, description: `signal type (${SIGNAL_TYPES.join(", ")}; aliases like review_changes accepted)`, valueHint: "type" },
      task: { type: "positional", required: true, description: "task name (a trailing .md is dropped)", valueHint: "task" },
      payload: { type: "string", description: "body text or JSON (e.g. review feedback, {\"reviewed_sha\": …})", valueHint: "text|json" },
      ...repoArg,
      socket: { type: "string", description: "daemon socket to notify (default: as for kas daemon)", valueHint: "path" },
      json: { type: "boolean", description: "print JSON {id, project, task, type}" },
    },
    async run({ args }) {
      await guard(async () => {
        const repo = resolveRepo(args.repo);
        if (agentTokenFromEnv() !== null) {
          // A sandboxed agent: no store in sight, the daemon queues it for its own task.
          const r = await daemonClient(await clientSocketPath(args.socket))(emitSignalRoute, { params: { project: repo.project }, body: { type: args.type, task: args.task, payload: args.payload ?? "" } });
          if (args.json) return printJson({ id: r.id, project: r.project, task: r.task, type: r.type });
          return print(`signal emitted: type=${r.type} task=${r.task} id=${r.id}\n`);
        }
        const db = openCliStore();
        const { id, task, type } = emitSignal(db, { project: repo.project, task: args.task, type: args.type, payload: args.payload ?? "", source: "cli", knownTaskOnly: true });
        db.close();
        // Best effort: wake the daemon so it processes the row now rather than at its next poll.
        try {
          await daemonClient(await clientSocketPath(args.socket))(scan, { body: { project: repo.project }, timeout: 1000 });
        } catch {
          // daemon down or elsewhere: the row waits in the queue
        }
        if (args.json) return printJson({ id, project: repo.project, task, type });
        print(`signal emitted: type=${type} task=${task} id=${id}\n`);
      });
    },
  }),
  [
    "kas signal emit planner_finished login-throttle",
    "kas signal emit review_changes login-throttle --payload 'tests fail on empty bucket'",
    'kas signal emit verify_approved login-throttle --payload \'{"body":"ok","reviewed_sha":"<40 hex>"}\'',
  ],
);
