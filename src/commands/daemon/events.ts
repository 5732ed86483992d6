import { defineCommand } from "citty";
import type { AuditEntry } from "../../api/events.ts";
import { events } from "../../api/events.ts";
import { routeUrl } from "../../server/client.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath, fail, guard, print } from "../_util.ts";
import { socketArg, socketFlag } from "./_socket.ts";


export default withExamples(
  defineCommand({
    meta: { name: "events", description: "Follow the daemon's live event stream (transitions, signal outcomes, agent events)" },
    args: {
      json: { type: "boolean", description: "print one JSON object per line" },
      since: { type: "string", description: "replay events after this event id first (0 = the whole log)", valueHint: "id" },
      project: { type: "string", description: "only this project", valueHint: "project" },
      task: { type: "string", description: "only this task", valueHint: "name" },
      kinds: { type: "string", description: "only these kinds, comma-separated (e.g. plan_transition,signal_failed)", valueHint: "kinds" },
      count: { type: "string", description: "exit after this many events", valueHint: "n" },
      ...socketArg,
    },
    async run({ args }) {
      await guard(async () => {
        const socket = await clientSocketPath(socketFlag(args));
        const query = { project: args.project, task: args.task, kinds: args.kinds };
        let last = args.since !== undefined ? Number(args.since) : undefined;
        if (last !== undefined && (!Number.isInteger(last) || last < 0)) fail(`--since must be a non-negative integer`);
        const max = args.count !== undefined ? Number(args.count) : Number.POSITIVE_INFINITY;
        let seen = 0;
        let res: Response;
        try {
          res = await fetch(`http://kasmos${routeUrl(events, undefined, query)}`, { unix: socket, headers: last !== undefined ? { "last-event-id": String(last) } : {} });
        } catch {
          fail("daemon not running");
        }
        if (!res.ok || !res.body) fail(`events stream refused: ${res.status} ${await res.text()}`);
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let cut: number;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (!data) continue;
            const ev = JSON.parse(data) as AuditEntry;
            last = ev.id;
            if (args.json) print(`${data}\n`);
            else {
              const move = ev.from_status || ev.to_status ? ` ${ev.from_status || "?"}→${ev.to_status || "?"}` : "";
              print(`${ev.timestamp} #${ev.id} ${ev.kind} ${ev.project}${ev.task ? `/${ev.task}` : ""}${move} ${ev.message}\n`);
            }
            if (++seen >= max) {
              await reader.cancel();
              return;
            }
          }
        }
        fail(`event stream closed by the daemon (last event id ${last ?? "none"}; resume with --since ${last ?? 0})`);
      });
    },
  }),
  ["kas daemon events", "kas daemon events --json --since 0", "kas daemon events --project api --kinds plan_transition,signal_failed"],
);
