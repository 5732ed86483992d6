// Helpers for JSON request handling in routes: bounded body, JSON parse, valibot validation → 400/413.
import type { Context } from "hono";
import * as v from "valibot";

export const MAX_BODY_BYTES = 1024 * 1024;

export class HttpError extends Error {
  constructor(
    public status: 400 | 404 | 405 | 409 | 413 | 422 | 429 | 500 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** Read, parse and validate a JSON body. Every failure is a 4xx with a reason, never a 500. */
export async function jsonBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `request body too large (${declared} bytes, limit ${MAX_BODY_BYTES})`);
  let text: string;
  try {
    text = await c.req.text();
  } catch (err) {
    throw new HttpError(400, `cannot read request body: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpError(413, `request body too large (limit ${MAX_BODY_BYTES} bytes)`);
  if (text.trim().length === 0) throw new HttpError(400, "invalid request body: empty body, expected JSON");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `invalid request body: ${(err as Error).message}`);
  }
  const res = v.safeParse(schema, raw);
  if (!res.success) {
    const issue = res.issues[0];
    const where = issue?.path?.map((p) => String(p.key)).join(".") ?? "";
    throw new HttpError(400, `invalid request body: ${where ? `${where}: ` : ""}${issue?.message ?? "invalid"}`);
  }
  return res.output;
}
