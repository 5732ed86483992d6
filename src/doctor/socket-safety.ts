// `kas doctor`: the socket's path as the daemon and the CLI judge it (src/runtime/runtime-dir.ts):
// folders above it, links on the way, the socket's owner.
import { checkSocketPath } from "../runtime/runtime-dir.ts";
import type { CheckResult } from "./common.ts";

export function checkSocketSafety(socket: string): CheckResult & { severity: "error" } {
  const name = "socket path";
  try {
    // A loose kasmos folder of ours is the "socket dir" check's (a warning: the daemon tightens it).
    checkSocketPath(socket, { create: false, ownLooseOk: true });
    return { name, ok: true, severity: "error", detail: "no other account can reach or replace the socket", fix: "" };
  } catch (err) {
    const [detail, fix] = (err as Error).message.split(" Fix: ");
    return { name, ok: false, severity: "error", detail: detail ?? "", fix: fix ?? "" };
  }
}
