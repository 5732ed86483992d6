// Masking secrets wherever config is shown or logged (`kas daemon config`, reload lines and replies,
// config errors, notification failures). One function decides what a secret looks like: a URL's
// userinfo, query parameters named like credentials, token-like path segments (Slack/Discord webhook
// URLs carry theirs in the path), Authorization-like headers, NAME=value and --flag value pairs named
// like credentials, and any string under a config key named like one.

export const MASK = "***";

/** Names of keys, query parameters, variables and flags that hold credentials. */
const SECRET_NAME = /token|secret|passw(?:or)?d|api[-_]?key|access[-_]?key|private[-_]?key|(?:^|[-_.])key$|^key[-_]|^sig$|signature|credential|(?:^|[-_.])auth(?:$|[-_.])|authorization/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A path segment that is an opaque credential rather than a name: long, mixing letters and digits. */
function tokenLike(segment: string): boolean {
  return segment.length >= 16 && /^[A-Za-z0-9_-]+$/.test(segment) && /[A-Za-z]/.test(segment) && /\d/.test(segment);
}

export function maskUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return raw;
  let changed = false;
  // https://<token>@host is as secret as https://user:<password>@host.
  if (url.password) {
    url.password = MASK;
    changed = true;
  } else if (url.username) {
    url.username = MASK;
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretName(name) && url.searchParams.get(name) !== "") {
      url.searchParams.set(name, MASK);
      changed = true;
    }
  }
  const segments = url.pathname.split("/");
  if (segments.some(tokenLike)) {
    url.pathname = segments.map((s) => (tokenLike(s) ? MASK : s)).join("/");
    changed = true;
  }
  // URL serialisation percent-encodes the mask; show it as written.
  return changed ? url.toString().replaceAll(encodeURIComponent(MASK), MASK) : raw;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
const HEADER = /\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|private-token|cookie)(\s*[:=]\s*)(?:(bearer|basic|token|digest)\s+)?([^\s"',;]+)/gi;
const ASSIGNMENT = /\b([A-Za-z_][A-Za-z0-9_]*)=([^\s"']+)/g;
const FLAG = /(--?[A-Za-z][A-Za-z0-9-]*)(=|\s+)([^\s"'-][^\s"']*)/g;

/** Mask every secret found in free text (a command line, a log line, an error message). */
export function maskSecretsInText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (u) => maskUrl(u))
    .replace(HEADER, (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ? `${scheme} ` : ""}${MASK}`)
    .replace(ASSIGNMENT, (m, name: string) => (isSecretName(name) ? `${name}=${MASK}` : m))
    .replace(FLAG, (m, flag: string, sep: string) => (isSecretName(flag.replace(/^-+/, "")) ? `${flag}${sep}${MASK}` : m));
}

/**
 * A copy of a config value with its secrets masked; `key` is its dotted config key. A non-empty string
 * under a key named like a credential is masked whole; in an argument list, the value after a
 * credential flag (`["--api-key", "…"]`) is masked.
 */
export function maskConfigValue(key: string, value: unknown): unknown {
  const last = key.split(".").pop() ?? key;
  if (typeof value === "string") return value !== "" && isSecretName(last) ? MASK : maskSecretsInText(value);
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) => {
      const prev = i > 0 ? value[i - 1] : undefined;
      if (typeof item === "string" && typeof prev === "string" && /^--?[A-Za-z]/.test(prev) && !prev.includes("=") && isSecretName(prev.replace(/^-+/, ""))) return MASK;
      return maskConfigValue(key, item);
    });
  }
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskConfigValue(key ? `${key}.${k}` : k, v)]));
  }
  return value;
}

/** One reload change line, `key: old → new`, masked (a changed secret still shows as changed). */
export function describeChange(key: string, before: unknown, after: unknown): string {
  const a = JSON.stringify(maskConfigValue(key, before));
  const b = JSON.stringify(maskConfigValue(key, after));
  return `${key}: ${a} → ${b}${a === b ? " (secret changed)" : ""}`;
}
