// What the commands that act on one running agent share: its title, --repo and --socket, and the call
// with the title checked, the repo resolved and errors printed as one line (exit 1).
import { type DaemonApi, daemonClient } from "../../server/client.ts";
import { repoArg, resolveRepo } from "../_store.ts";
import { clientSocketPath, guard, nameArg } from "../_util.ts";

export const agentArgs = {
  title: { type: "positional", required: true, description: "agent title", valueHint: "title" },
  ...repoArg,
  socket: { type: "string", description: "daemon socket", valueHint: "path" },
} as const;

export async function onAgent(args: { title: string; repo?: string | undefined; socket?: string | undefined }, fn: (call: DaemonApi, agent: { project: string; title: string }) => Promise<void>): Promise<void> {
  await guard(async () => {
    const title = nameArg(args.title, "agent title");
    const repo = resolveRepo(args.repo);
    await fn(daemonClient(await clientSocketPath(args.socket)), { project: repo.project, title });
  });
}
