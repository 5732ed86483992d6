// Serving a route of the contract (src/api/): one middleware validates its input against the route's
// schemas (bounded JSON body, query text), the handler gets it typed and answers the route's reply
// type. Every bad input is a 400 (413 too large) with a reason, never a 500.
import type { Context, Hono, MiddlewareHandler } from "hono";
import * as v from "valibot";
import { Refused } from "../util/errors.ts";
import type { BodyOf, ParamsOf, QueryOf, RouteSpec } from "../api/route.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

declare module "hono" {
  interface ContextVariableMap {
    /** A route's query and body once validated (set by `validated`). */
    validInput: { query: unknown; body: unknown };
  }
}

function firstIssue(issues: readonly v.BaseIssue<unknown>[]): { where: string; message: string } {
  const issue = issues[0];
  return { where: issue?.path?.map((p) => String(p.key)).join(".") ?? "", message: issue?.message ?? "invalid" };
}

/** Read, parse and validate a JSON body. Every failure is a 4xx with a reason, never a 500. */
export async function jsonBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new Refused("too_large", `request body too large (${declared} bytes, limit ${MAX_BODY_BYTES})`);
  let text: string;
  try {
    text = await c.req.text();
  } catch (err) {
    throw new Refused("invalid", `cannot read request body: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new Refused("too_large", `request body too large (limit ${MAX_BODY_BYTES} bytes)`);
  if (text.trim().length === 0) throw new Refused("invalid", "invalid request body: empty body, expected JSON");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Refused("invalid", `invalid request body: ${(err as Error).message}`);
  }
  const res = v.safeParse(schema, raw);
  if (!res.success) {
    const { where, message } = firstIssue(res.issues);
    throw new Refused("invalid", `invalid request body: ${where ? `${where}: ` : ""}${message}`);
  }
  return res.output;
}

/** Validate query text against a route's query schema: "invalid query parameter <name>: <why>". */
export function queryInput<S extends v.GenericSchema>(schema: S, query: Record<string, string>): v.InferOutput<S> {
  const res = v.safeParse(schema, query);
  if (!res.success) {
    const { where, message } = firstIssue(res.issues);
    throw new Refused("invalid", `invalid query parameter ${where}: ${message}`);
  }
  return res.output;
}

/** The one input middleware: the route's query and body, validated, for its handler. */
export function validated(spec: RouteSpec): MiddlewareHandler {
  return async (c, next) => {
    const query = spec.query ? queryInput(spec.query, c.req.query()) : {};
    const body = spec.body ? await jsonBody(c, spec.body) : undefined;
    c.set("validInput", { query, body });
    await next();
  };
}

/** What a handler answers: the reply schema's type, or a Response for text and event streams, nothing for 204. */
export type Answer<S extends RouteSpec> = S["reply"] extends v.GenericSchema ? v.InferOutput<S["reply"]> : S["reply"] extends "empty" ? void : Response;

export interface RouteInput<S extends RouteSpec> {
  params: ParamsOf<S>;
  query: QueryOf<S>;
  body: BodyOf<S>;
  c: Context;
}

/** Register `spec` on a sub-app mounted at /v1 (`app.route("/v1", sub)`). */
export function serve<S extends RouteSpec>(app: Hono, spec: S, handler: (input: RouteInput<S>) => Answer<S> | Promise<Answer<S>>): void {
  app.on(spec.method, spec.path.slice("/v1".length), validated(spec), async (c) => {
    const { query, body } = c.get("validInput");
    const answer = await handler({ params: c.req.param() as ParamsOf<S>, query: query as QueryOf<S>, body: body as BodyOf<S>, c });
    if (answer instanceof Response) return answer;
    if (spec.reply === "empty" || spec.status === 204) return c.body(null, 204);
    return c.json(answer as object, spec.status as 200 | 201 | 202);
  });
}
