import { defineCommand } from "citty";
import { canonicalSignalType, normalizePayload } from "../../lifecycle/signal-types.ts";
import { SIGNAL_TYPES } from "../../lifecycle/types.ts";
import { recordAudit } from "../../store/audit.ts";
import { writeTx } from "../../store/db.ts";
import { countSignals, enqueueSignal, MAX_PENDING_SIGNALS } from "../../store/signals.ts";
import { getTask, normalizeTaskName, taskNameProblem } from "../../store/tasks.ts";
import { daemonClient } from "../../daemon/client.ts";
import { scan } from "../../api/signals.ts";
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
        const canon = canonicalSignalType(args.type);
        if (!canon.ok) fail(canon.error);
        const payload = normalizePayload(canon.type, args.payload ?? "");
        if (!payload.ok) fail(`invalid payload for ${canon.type}: ${payload.error}`);
        const task = normalizeTaskName(args.task);
        if (taskNameProblem(task)) fail(taskNameProblem(task)!);
        const repo = resolveRepo(args.repo);
        const db = openCliStore();
        const id = writeTx(db, () => {
          // A signal for a task the store does not have would only be quarantined later: say so now.
          if (!getTask(db, repo.project, task)) fail(`no task ${task} in ${repo.project} (see kas task list --repo ${repo.path})`);
          if (countSignals(db, repo.project).pending >= MAX_PENDING_SIGNALS) fail(`signal queue of ${repo.project} is full (${MAX_PENDING_SIGNALS} pending); is the daemon running?`);
          const id = enqueueSignal(db, { project: repo.project, task, type: canon.type, payload: payload.payload, source: "cli" });
          recordAudit(db, { kind: "signal_enqueued", project: repo.project, task, event: canon.type, signalId: id, message: `${canon.type} queued (cli)` });
          return id;
        });
        db.close();
        // Best effort: wake the daemon so it processes the row now rather than at its next poll.
        try {
          await daemonClient(await clientSocketPath(args.socket))(scan, { body: { project: repo.project }, timeout: 1000 });
        } catch {
          // daemon down or elsewhere: the row waits in the queue
        }
        if (args.json) return printJson({ id, project: repo.project, task, type: canon.type });
        print(`signal emitted: type=${canon.type} task=${task} id=${id}\n`);
      });
    },
  }),
  [
    "kas signal emit planner_finished login-throttle",
    "kas signal emit review_changes login-throttle --payload 'tests fail on empty bucket'",
    'kas signal emit verify_approved login-throttle --payload \'{"body":"ok","reviewed_sha":"<40 hex>"}\'',
  ],
);
