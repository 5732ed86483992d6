// What one route of the control API is: method, path, the schemas of its query, body and reply, and
// its success status. The daemon serves from these (input validated against them), the CLI's client
// is typed by them and GET /v1/openapi.json is generated from them: one definition of each route.
import * as v from "valibot";

export type Method = "GET" | "POST" | "DELETE";

/** A JSON reply's schema, or a reply that is not JSON: plain text, a server-sent event stream, nothing (204). */
export type ReplySpec = v.GenericSchema | "text" | "event-stream" | "empty";

export interface RouteSpec {
  readonly method: Method;
  /** Hono syntax: `:name` is a path parameter. */
  readonly path: `/v1/${string}`;
  readonly summary: string;
  readonly status: 200 | 201 | 202 | 204;
  /** An object schema over the query's text values (each optional unless the route needs it). */
  readonly query?: v.GenericSchema;
  readonly body?: v.GenericSchema;
  readonly reply: ReplySpec;
  /** An event stream's `data:` JSON, one per event. */
  readonly eventData?: v.GenericSchema;
}

/** Keeps the literal types of a route (path, status, schemas) for the server and the client. */
export function defineRoute<const S extends RouteSpec>(spec: S): S {
  return spec;
}

type ParamNames<P extends string> = P extends `${string}:${infer N}/${infer Rest}` ? N | ParamNames<Rest> : P extends `${string}:${infer N}` ? N : never;
export type ParamsOf<S extends RouteSpec> = { [K in ParamNames<S["path"]>]: string };
/** The query and body as the handler gets them (validated, converted). */
export type QueryOf<S extends RouteSpec> = S["query"] extends v.GenericSchema ? v.InferOutput<S["query"]> : Record<string, never>;
export type BodyOf<S extends RouteSpec> = S["body"] extends v.GenericSchema ? v.InferOutput<S["body"]> : undefined;
/** The query and body as a client sends them. */
export type QueryIn<S extends RouteSpec> = S["query"] extends v.GenericSchema ? v.InferInput<S["query"]> : undefined;
export type BodyIn<S extends RouteSpec> = S["body"] extends v.GenericSchema ? v.InferInput<S["body"]> : undefined;
/** What a successful call answers: the JSON reply, or the body text of a text route. */
export type ReplyOf<S extends RouteSpec> = S["reply"] extends v.GenericSchema ? v.InferOutput<S["reply"]> : S["reply"] extends "text" ? string : S["reply"] extends "event-stream" ? Response : undefined;

// Query values arrive as text: these read them, and say what was wrong in words (→ 400).

/** A whole number in [min, max]; `fallback` when absent. */
export function wholeNumberParam(min: number, max: number, fallback: number) {
  return v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, `must be a whole number from ${min} to ${max}`),
      v.transform(Number),
      v.number(),
      v.minValue(min, `must be a whole number from ${min} to ${max}`),
      v.maxValue(max, `must be a whole number from ${min} to ${max}`),
    ),
    String(fallback),
  );
}

/** A whole number ≥ min, or undefined when absent or empty. */
export function optionalWholeNumberParam(min: number) {
  return v.optional(
    v.pipe(
      v.string(),
      v.check((s) => s === "" || (/^\d+$/.test(s) && Number(s) >= min), `must be a whole number ≥ ${min}`),
      v.transform((s) => (s === "" ? undefined : Number(s))),
    ),
  );
}

/** A switch: 1/true or 0/false; absent = false. */
export const flagParam = v.optional(
  v.pipe(
    v.picklist(["1", "true", "0", "false"], "must be 1, true, 0 or false"),
    v.transform((s) => s === "1" || s === "true"),
  ),
  "0",
);

/** A comma-separated list of values from `allowed`; undefined when absent or empty. */
export function csvParam<const T extends string>(allowed: readonly T[], what: string) {
  return v.optional(
    v.pipe(
      v.string(),
      v.transform((raw) => raw.split(",").map((s) => s.trim()).filter(Boolean)),
      v.check((list) => list.every((s) => (allowed as readonly string[]).includes(s)), (issue) => {
        const bad = (issue.input as string[]).find((s) => !(allowed as readonly string[]).includes(s));
        return `unknown ${what} "${bad ?? ""}"; valid: ${allowed.join(", ")}`;
      }),
      v.transform((list) => (list.length === 0 ? undefined : (list as T[]))),
    ),
  );
}

/** A comma-separated list of any names; undefined when absent. */
export const namesParam = v.optional(v.pipe(v.string(), v.transform((raw) => raw.split(",").map((s) => s.trim()).filter(Boolean))));

/** Free text (a filter); absent or empty = undefined. */
export const textParam = v.optional(v.pipe(v.string(), v.transform((s) => (s === "" ? undefined : s))));
