// CLI → daemon over the unix socket (ofetch; bun-stack.md §3: pass `unix`, retry 0, map ENOENT/ECONNREFUSED).
import { ofetch, FetchError } from "ofetch";

export class DaemonNotRunning extends Error {
  override name = "DaemonNotRunning";
  constructor(public socket: string) {
    super(`daemon not running (no answer on ${socket})`);
  }
}

export class DaemonRequestError extends Error {
  override name = "DaemonRequestError";
  constructor(
    message: string,
    public status: number,
  ) {
    super(message);
  }
}

export type DaemonClient = <T>(path: string, opts?: { method?: string; body?: unknown; timeout?: number }) => Promise<T>;

export function daemonClient(socket: string): DaemonClient {
  const api = ofetch.create({ baseURL: "http://kasmos", unix: socket, retry: 0, timeout: 5000 } as Parameters<
    typeof ofetch.create
  >[0] & { unix: string });
  return async <T>(path: string, opts: { method?: string; body?: unknown; timeout?: number } = {}): Promise<T> => {
    try {
      return (await api<T>(path, {
        method: opts.method ?? "GET",
        ...(opts.body !== undefined ? { body: opts.body as Record<string, unknown> } : {}),
        ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
      })) as T;
    } catch (err) {
      if (err instanceof FetchError) {
        if (err.response) {
          const data = err.data as { error?: unknown } | undefined;
          const msg = data && typeof data.error === "string" ? data.error : `${err.response.status} ${err.response.statusText}`;
          throw new DaemonRequestError(msg, err.response.status);
        }
        const code = (err.cause as { code?: string } | undefined)?.code;
        if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ENOTSOCK" || code === "ECONNRESET" || code === "FailedToOpenSocket") {
          throw new DaemonNotRunning(socket);
        }
        if (err.name === "FetchError" && /timeout|aborted/i.test(err.message)) {
          throw new DaemonRequestError(`daemon did not answer in time on ${socket}`, 0);
        }
        throw new DaemonNotRunning(socket);
      }
      throw err;
    }
  };
}
