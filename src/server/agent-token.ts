// An agent's credential: who it is (repo, task, title) and a MAC over that with a key only the daemon
// reads (~/.config/kasmos/agent-token.key, 0600, never visible inside a sandbox). Stateless, so it
// outlives a daemon restart with its agent, and independent of the transport: the agents' socket
// checks it today, a remote agent will carry the same string.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { configDir } from "../config/paths.ts";
import { ensurePrivateDir, writePrivateFile } from "../config/private-state.ts";

export interface AgentIdentity {
  project: string;
  task: string;
  title: string;
}

const PREFIX = "kas1";
let cachedKey: Buffer | null = null;

function keyFile(): string {
  return join(configDir(), "agent-token.key");
}

/** The daemon's token key: read once, created (random, 32 bytes) on first use. */
function tokenKey(): Buffer {
  if (cachedKey) return cachedKey;
  const file = keyFile();
  try {
    const hex = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(hex)) cachedKey = Buffer.from(hex, "hex");
  } catch {
    // created below
  }
  if (!cachedKey) {
    ensurePrivateDir(configDir());
    const key = randomBytes(32);
    writePrivateFile(file, `${key.toString("hex")}\n`);
    cachedKey = key;
  }
  return cachedKey;
}

/** Forget the cached key (tests that swap HOME). */
export function resetAgentTokenKey(): void {
  cachedKey = null;
}

function mac(payload: string): Buffer {
  return createHmac("sha256", tokenKey()).update(payload).digest();
}

export function mintAgentToken(id: AgentIdentity): string {
  const payload = Buffer.from(JSON.stringify([id.project, id.task, id.title])).toString("base64url");
  return `${PREFIX}.${payload}.${mac(payload).toString("base64url")}`;
}

/** The identity a token carries, or null when it is not one this daemon minted. */
export function verifyAgentToken(token: string): AgentIdentity | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX || token.length > 2048) return null;
  const [, payload, sig] = parts as [string, string, string];
  const want = mac(payload);
  const got = Buffer.from(sig, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "string" && x !== "")) return null;
    return { project: v[0] as string, task: v[1] as string, title: v[2] as string };
  } catch {
    return null;
  }
}
