// A small JSON Schema checker for the subset @valibot/to-json-schema emits (the contract test checks
// the daemon's real replies against its own /v1/openapi.json). A keyword it does not know is an error,
// never skipped: an unchecked part of a schema must not pass silently.
type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(["description", "title", "default", "examples", "$schema"]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(want: string, value: unknown): boolean {
  const got = typeOf(value);
  return want === got || (want === "number" && got === "integer");
}

/** Where `value` breaks `schema` ("" = it does not), e.g. "$.repos[0].state: not one of …". */
export function schemaProblem(schema: Schema, value: unknown, at = "$"): string {
  for (const key of Object.keys(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    switch (key) {
      case "type": {
        const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
        if (!types.some((t) => typeMatches(t, value))) return `${at}: ${typeOf(value)}, expected ${types.join(" or ")}`;
        break;
      }
      case "enum":
        if (!(schema.enum as unknown[]).some((e) => e === value)) return `${at}: ${JSON.stringify(value)} not one of ${JSON.stringify(schema.enum)}`;
        break;
      case "const":
        if (schema.const !== value) return `${at}: ${JSON.stringify(value)}, expected ${JSON.stringify(schema.const)}`;
        break;
      case "anyOf":
      case "oneOf": {
        const fits = (schema[key] as Schema[]).filter((s) => schemaProblem(s, value, at) === "").length;
        if (key === "anyOf" ? fits === 0 : fits !== 1) return `${at}: matches ${fits} of the ${key} branches`;
        break;
      }
      case "pattern":
        if (typeof value === "string" && !new RegExp(schema.pattern as string, "u").test(value)) return `${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`;
        break;
      case "minLength":
      case "maxLength":
        if (typeof value === "string" && (key === "minLength" ? value.length < (schema[key] as number) : value.length > (schema[key] as number))) return `${at}: length ${value.length} breaks ${key} ${schema[key]}`;
        break;
      case "minimum":
      case "maximum":
        if (typeof value === "number" && (key === "minimum" ? value < (schema[key] as number) : value > (schema[key] as number))) return `${at}: ${value} breaks ${key} ${schema[key]}`;
        break;
      case "items":
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const p = schemaProblem(schema.items as Schema, value[i], `${at}[${i}]`);
            if (p) return p;
          }
        }
        break;
      case "required":
        if (typeOf(value) === "object") for (const k of schema.required as string[]) if (!(k in (value as object))) return `${at}: missing ${k}`;
        break;
      case "properties":
        if (typeOf(value) === "object") {
          for (const [k, s] of Object.entries(schema.properties as Record<string, Schema>)) {
            if (!(k in (value as object))) continue;
            const p = schemaProblem(s, (value as Record<string, unknown>)[k], `${at}.${k}`);
            if (p) return p;
          }
        }
        break;
      case "additionalProperties":
        if (typeOf(value) === "object") {
          const known = new Set(Object.keys((schema.properties as object | undefined) ?? {}));
          for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            if (known.has(k)) continue;
            if (schema.additionalProperties === false) return `${at}: unexpected field ${k}`;
            const p = schemaProblem(schema.additionalProperties as Schema, v, `${at}.${k}`);
            if (p) return p;
          }
        }
        break;
      case "propertyNames":
        if (typeOf(value) === "object") {
          for (const k of Object.keys(value as object)) {
            const p = schemaProblem(schema.propertyNames as Schema, k, `${at} key ${k}`);
            if (p) return p;
          }
        }
        break;
      default:
        throw new Error(`${at}: the schema uses "${key}", which this checker does not know`);
    }
  }
  return "";
}
