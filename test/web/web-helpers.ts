// Shared by the dashboard tests: start the dashboard on a sandbox's daemon (loopback, a free port)
// through `kas web`, and read a response's Set-Cookie.
import { expect } from "bun:test";
import type { Sandbox } from "../helpers/env.ts";

export interface WebStart {
  url: string;
  login_url: string;
  source: string;
  warnings: string[];
}

/** `kas web --json` on 127.0.0.1 (any free port unless `listen` says otherwise). */
export async function startWeb(sb: Sandbox, listen = "127.0.0.1:0"): Promise<WebStart> {
  const r = await sb.run(["web", "--listen", listen, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as WebStart;
}

/** A fresh one-time login link for the dashboard already listening. */
export async function loginLink(sb: Sandbox): Promise<string> {
  const r = await sb.run(["web", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as WebStart).login_url;
}

/** Log in with a one-time link; returns the Cookie header value for later requests. */
export async function login(link: string): Promise<string> {
  const r = await fetch(link, { redirect: "manual" });
  expect(r.status).toBe(200);
  const set = r.headers.get("set-cookie") ?? "";
  expect(set).toContain("kasmos_session=");
  return set.split(";")[0]!;
}
