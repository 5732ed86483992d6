// Unix socket path resolution, directory permissions and liveness probing.
import { existsSync, unlinkSync } from "node:fs";
import { defaultSocketPath } from "../config/paths.ts";
import { KasmosError } from "../util/errors.ts";
import { checkSocketPath } from "./runtime-dir.ts";

/** Linux sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export class SocketPathError extends KasmosError {
  override name = "SocketPathError";
  readonly code = "invalid";
}

/** Flag beats config `socket_path`, which beats the XDG / /tmp default. */
export function resolveSocketPath(flag: string | undefined, configSocketPath: string | undefined): string {
  if (flag && flag.length > 0) return flag;
  if (configSocketPath && configSocketPath.length > 0) return configSocketPath;
  return defaultSocketPath();
}

export function checkSocketPathLength(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new SocketPathError(
      `socket path is too long (${bytes} bytes, the unix limit is ${MAX_SOCKET_PATH_BYTES}): ${path}; choose a shorter --socket or socket_path`,
    );
  }
}

/** Create the socket's folder 0700 (tighten a kasmos folder of ours), refusing one someone else could reach (runtime-dir.ts). */
export function ensureSocketDir(path: string): void {
  checkSocketPath(path, { create: true });
}

export type SocketState = "alive" | "stale" | "absent";

/** Probe with a real connect: a live listener answers, a leftover file refuses. */
export async function probeSocket(path: string, timeoutMs = 1000): Promise<SocketState> {
  if (!existsSync(path)) return "absent";
  try {
    const conn = Bun.connect({ unix: path, socket: { data() {} } });
    const sock = await Promise.race([
      conn,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("probe timeout")), timeoutMs)),
    ]);
    sock.end();
    return "alive";
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return "absent";
    if ((err as Error).message === "probe timeout") return "alive"; // something holds it but is slow: never steal it
    return "stale";
  }
}

export function removeStaleSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
}
