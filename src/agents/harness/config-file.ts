// Editing a CLI's own config file while that CLI may be rewriting it: lock, re-read, change only what
// kasmos owns, write a temp file and rename it over (atomic), keep the file's mode. The lock is a
// `<file>.lock` directory, the convention of the lockfile library Claude Code uses for its config, so
// kasmos and the CLI take turns instead of overwriting each other.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export class ConfigFileError extends Error {
  override name = "ConfigFileError";
}

const STALE_MS = 10_000;

/**
 * Run `fn` holding `<path>.lock` (bounded wait; a lock older than 10 s is taken as abandoned). The
 * default wait outlasts that age: a CLI killed while holding the lock (a budget hold or a stop past its
 * grace SIGKILLs it) leaves a fresh lock that no one refreshes, and the next start must get past it.
 */
export async function withFileLock<T>(path: string, fn: () => T, waitMs = STALE_MS + 5000): Promise<T> {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new ConfigFileError(`cannot lock ${path}: ${(err as Error).message}`);
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_MS) {
        try {
          rmdirSync(lock);
        } catch {
          // another waiter took it first
        }
        continue;
      }
      if (Date.now() > deadline) throw new ConfigFileError(`${path} is locked by another program (${lock} exists); try again`);
      await Bun.sleep(25);
    }
  }
  try {
    return fn();
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      // removed as stale by someone else: nothing to release
    }
  }
}

/** Write `text` to `path` atomically (temp file in the same folder, then rename), keeping an existing file's mode. */
export function writeAtomic(path: string, text: string, defaultMode = 0o600): void {
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : defaultMode;
  const tmp = `${path}.kasmos-${process.pid}-${Date.now()}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export type JsonObject = Record<string, unknown>;

export function readJsonObject(path: string): JsonObject | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ConfigFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (text.trim() === "") return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError(`${path} is not valid JSON (${(err as Error).message}); kasmos will not rewrite it — fix or remove it`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw new ConfigFileError(`${path} does not hold a JSON object; kasmos will not rewrite it`);
  return data as JsonObject;
}

/**
 * Change a JSON config file under its lock. `mutate` edits the parsed object in place and says whether
 * it changed anything; nothing is written otherwise. Unrelated keys are kept as they are; the file is
 * written with two-space indentation (the CLIs' own format).
 */
export async function updateJsonFile(path: string, mutate: (obj: JsonObject) => boolean): Promise<boolean> {
  return withFileLock(path, () => {
    const obj = readJsonObject(path) ?? {};
    if (!mutate(obj)) return false;
    writeAtomic(path, `${JSON.stringify(obj, null, 2)}\n`);
    return true;
  });
}

/** `obj[key]` as an object, created when absent (a non-object value is an error, never overwritten). */
export function childObject(obj: JsonObject, key: string, file: string): JsonObject {
  const cur = obj[key];
  if (cur === undefined || cur === null) {
    const fresh: JsonObject = {};
    obj[key] = fresh;
    return fresh;
  }
  if (typeof cur !== "object" || Array.isArray(cur)) throw new ConfigFileError(`${file}: "${key}" is not an object; kasmos will not rewrite it`);
  return cur as JsonObject;
}
