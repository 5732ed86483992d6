// CLI → daemon over the unix socket (ofetch: pass `unix`, retry 0, map ENOENT/ECONNREFUSED), typed by
// the contract: `api(route, {params, query, body})` answers that route's reply type, so a changed
// reply fails to compile in the command that reads it.
import { FetchError, ofetch } from "ofetch";
import type * as v from "valibot";
import type { BodyIn, ParamsOf, QueryIn, ReplyOf, RouteSpec } from "../api/route.ts";
import { KasmosError } from "../util/errors.ts";
import { agentAuthHeader } from "./agent-credential.ts";

export class DaemonNotRunning extends KasmosError {
  override name = "DaemonNotRunning";
  readonly code = "unavailable";
  constructor(public socket: string) {
    super(`daemon not running (no answer on ${socket})`);
  }
}

export class DaemonRequestError extends KasmosError {
  override name = "DaemonRequestError";
  readonly code = "invalid";
  constructor(
    message: string,
    public status: number,
  ) {
    super(message);
  }
}

/** A call's path parameters, query and body, each required exactly when the route has them. */
export type CallInput<S extends RouteSpec> = { timeout?: number } & ([keyof ParamsOf<S>] extends [never] ? { params?: undefined } : { params: ParamsOf<S> }) &
  (S extends { body: v.GenericSchema } ? { body: BodyIn<S> } : { body?: undefined }) &
  (S extends { query: v.GenericSchema } ? { query?: QueryIn<S> } : { query?: undefined });

/** Calls without path parameters or a body may leave the input out. */
type CallArgs<S extends RouteSpec> = [keyof ParamsOf<S>] extends [never] ? (S extends { body: v.GenericSchema } ? [CallInput<S>] : [CallInput<S>?]) : [CallInput<S>];

export type DaemonApi = <S extends RouteSpec>(route: S, ...input: CallArgs<S>) => Promise<ReplyOf<S>>;

const DEFAULT_TIMEOUT_MS = 5000;

/** The route's path with its parameters filled in, and its query. */
export function routeUrl(route: RouteSpec, params: Record<string, string> | undefined, query: Record<string, string | undefined> | undefined): string {
  const path = route.path.replace(/:([A-Za-z_]+)/g, (_m, name: string) => encodeURIComponent(params?.[name] ?? ""));
  const q = new URLSearchParams();
  for (const [k, val] of Object.entries(query ?? {})) if (val !== undefined) q.set(k, val);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

export function daemonClient(socket: string): DaemonApi {
  const fetcher = ofetch.create({ baseURL: "http://kasmos", unix: socket, retry: 0, timeout: DEFAULT_TIMEOUT_MS, headers: agentAuthHeader() } as Parameters<typeof ofetch.create>[0] & { unix: string });
  return async <S extends RouteSpec>(route: S, ...rest: CallArgs<S>): Promise<ReplyOf<S>> => {
    const input = (rest[0] ?? {}) as { params?: Record<string, string>; query?: Record<string, string | undefined>; body?: unknown; timeout?: number };
    const url = routeUrl(route, input.params, input.query);
    try {
      const answer: unknown = await fetcher(url, {
        method: route.method,
        ...(input.body !== undefined ? { body: input.body as Record<string, unknown> } : {}),
        ...(input.timeout !== undefined ? { timeout: input.timeout } : {}),
        ...(route.reply === "text" ? { responseType: "text" as const } : {}),
      });
      return answer as ReplyOf<S>;
    } catch (err) {
      if (err instanceof FetchError) {
        if (err.response) {
          const data = err.data as { error?: unknown } | undefined;
          const msg = data && typeof data.error === "string" ? data.error : `${err.response.status} ${err.response.statusText}`;
          throw new DaemonRequestError(msg, err.response.status);
        }
        const cause = err.cause as { code?: unknown; name?: string } | undefined;
        const what = `${route.method} ${url}`;
        // A timeout or a connection closed mid-request means a daemon is there: never "not running".
        if (cause?.name === "TimeoutError") {
          const ms = input.timeout ?? DEFAULT_TIMEOUT_MS;
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
