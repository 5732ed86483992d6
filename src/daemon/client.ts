// CLI → daemon over the unix socket (ofetch: pass `unix`, retry 0, map ENOENT/ECONNREFUSED).
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

const DEFAULT_TIMEOUT_MS = 5000;

export function daemonClient(socket: string): DaemonClient {
  const api = ofetch.create({ baseURL: "http://kasmos", unix: socket, retry: 0, timeout: DEFAULT_TIMEOUT_MS } as Parameters<
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
        const cause = err.cause as { code?: unknown; name?: string } | undefined;
        const what = `${opts.method ?? "GET"} ${path}`;
        // A timeout or a connection closed mid-request means a daemon is there: never "not running".
        if (cause?.name === "TimeoutError") {
          const ms = opts.timeout ?? DEFAULT_TIMEOUT_MS;
          throw new DaemonRequestError(`timed out after ${ms / 1000}s waiting for the daemon to answer ${what} on ${socket} (it is running but busy, or the operation takes longer)`, 0);
        }
        if (cause?.code === "ECONNRESET") {
          throw new DaemonRequestError(`the daemon closed the connection before answering ${what} on ${socket} (it stopped or restarted meanwhile); see kas daemon status and its log`, 0);
        }
        throw new DaemonNotRunning(socket);
      }
      throw err;
    }
  };
}
