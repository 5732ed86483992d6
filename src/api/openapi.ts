// GET /v1/openapi.json: the control API described from the same route definitions the daemon serves
// and the CLI calls (JSON Schema by @valibot/to-json-schema): a route cannot drift from its document.
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { VERSION } from "../version.ts";
import { defineRoute, type RouteSpec } from "./route.ts";

type Json = Record<string, unknown>;

export const openapi = defineRoute({ method: "GET", path: "/v1/openapi.json", summary: "This document (OpenAPI 3.1)", status: 200, reply: v.record(v.string(), v.unknown()) });

const ErrorReplySchema = v.strictObject({ error: v.string() });

/** `/v1/repos/:project` → `/v1/repos/{project}` and its parameter names. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

function schemaOf(schema: v.GenericSchema, typeMode: "input" | "ignore"): Json {
  const { $schema: _drop, ...rest } = toJsonSchema(schema, { target: "draft-2020-12", typeMode, errorMode: "ignore" }) as Json;
  return rest;
}

function replyContent(spec: RouteSpec): Json | undefined {
  const reply = spec.reply;
  if (reply === "empty") return undefined;
  if (reply === "text") return { "text/plain": { schema: { type: "string" } } };
  // OpenAPI 3.1 has no word for the JSON of each event: an extension carries its schema.
  if (reply === "event-stream") return { "text/event-stream": { schema: { type: "string" }, ...(spec.eventData ? { "x-event-data": schemaOf(spec.eventData, "ignore") } : {}) } };
  return { "application/json": { schema: schemaOf(reply, "ignore") } };
}

function operation(spec: RouteSpec, params: string[]): Json {
  const parameters: Json[] = params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
  const entries = spec.query && "entries" in spec.query ? (spec.query.entries as Record<string, v.GenericSchema>) : {};
  for (const [name, schema] of Object.entries(entries)) parameters.push({ name, in: "query", required: false, schema: schemaOf(schema, "input") });
  const content = replyContent(spec);
  const error = { description: "refused: the reason in words", content: { "application/json": { schema: schemaOf(ErrorReplySchema, "ignore") } } };
  return {
    summary: spec.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(spec.body, "input") } } } } : {}),
    responses: { [String(spec.status)]: { description: spec.summary, ...(content ? { content } : {}) }, "4XX": error, "5XX": error },
  };
}

export function openApiDocument(routes: readonly RouteSpec[]): Json {
  const paths: Record<string, Json> = {};
  for (const spec of routes) {
    const { path, params } = openApiPath(spec.path);
    paths[path] = { ...paths[path], [spec.method.toLowerCase()]: operation(spec, params) };
  }
  return {
    openapi: "3.1.0",
    info: { title: "kasmos control API", version: VERSION, description: "Served by the kasmos daemon on its unix socket." },
    paths,
  };
}
