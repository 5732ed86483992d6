// The dashboard's listener and login against the compiled daemon over real loopback TCP: nothing
// without a session, the login link's cookie, one use per link, Origin on state changes, token
// rotation, failed-login limits and their audit rows, and the [web] config keys.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseConfigText } from "../../src/config/load.ts";
import { isLoopbackHost, parseListen } from "../../src/config/schema.ts";
import { Sandbox } from "../helpers/env.ts";
import { login, loginLink, startWeb } from "./web-helpers.ts";

/** A loopback port free right now (the kernel picks it; the listener is closed at once). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kw-");
});
afterEach(async () => {
  await sb.cleanup();
});

describe("web dashboard auth", () => {
  test("no session: 401 on every page, asset and route; the login link gives an HttpOnly SameSite=Strict cookie, once", async () => {
    await sb.foreground();
    const web = await startWeb(sb);
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(web.source).toBe("kas web");
    for (const [method, path] of [["GET", "/"], ["GET", "/fleet"], ["GET", "/assets/app.js"], ["GET", "/assets/app.css"], ["GET", "/v1/status"], ["GET", "/v1/events"], ["GET", "/v1/repos"], ["POST", "/v1/scan"], ["POST", "/v1/reload"]] as const) {
      const r = await fetch(`${web.url}${path}`, { method, ...(method === "POST" ? { body: "{}" } : {}) });
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 401`);
      expect(await r.text()).not.toContain("pid");
    }
    const first = await fetch(web.login_url, { redirect: "manual" });
    expect(first.status).toBe(200);
    const set = first.headers.get("set-cookie") ?? "";
    expect(set).toMatch(/^kasmos_session=[^;]+;/);
    expect(set).toContain("HttpOnly");
    expect(set).toContain("SameSite=Strict");
    expect(set).toContain("Path=/");
    const cookie = set.split(";")[0]!;
    const status = await fetch(`${web.url}/v1/status`, { headers: { cookie } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { running: boolean }).running).toBe(true);
    const page = await fetch(`${web.url}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('src="/assets/app.js"');
    // One use per link.
    expect((await fetch(web.login_url, { redirect: "manual" })).status).toBe(401);
    // A forged cookie (right shape, wrong signature) is not a session.
    expect((await fetch(`${web.url}/v1/status`, { headers: { cookie: `${cookie.split(".")[0]}.AAAA` } })).status).toBe(401);
    // The dashboard's own controls never answer over TCP, even logged in.
    expect((await fetch(`${web.url}/v1/web/start`, { method: "POST", headers: { cookie, origin: web.url } })).status).toBe(404);
  });

  test("state changes: a cross-origin POST (or one without Origin) is refused, the page's own origin is accepted", async () => {
    await sb.foreground();
    const web = await startWeb(sb);
    const cookie = await login(web.login_url);
    const post = (headers: Record<string, string>) => fetch(`${web.url}/v1/scan`, { method: "POST", headers: { cookie, "content-type": "application/json", ...headers }, body: "{}" });
    const evil = await post({ origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { error: string }).error).toContain("cross-origin");
    expect((await post({ origin: web.url.replace("127.0.0.1", "localhost") })).status).toBe(403);
    expect((await post({})).status).toBe(403);
    expect((await post({ origin: web.url })).status).toBe(202);
    // Reads need no Origin.
    expect((await fetch(`${web.url}/v1/repos`, { headers: { cookie } })).status).toBe(200);
  });

  test("kas web token: 0600 file, Bearer access; --rotate logs every session (and the old token) out", async () => {
    await sb.foreground();
    const web = await startWeb(sb);
    const tok = await sb.run(["web", "token"]);
    expect(tok.code, tok.stderr).toBe(0);
    const token = tok.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(statSync(join(sb.configDir, "web-token")).mode & 0o777).toBe(0o600);
    expect((await fetch(`${web.url}/v1/ping`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const cookie = await login(web.login_url);
    expect((await fetch(`${web.url}/v1/status`, { headers: { cookie } })).status).toBe(200);

    const rot = await sb.run(["web", "token", "--rotate"]);
    expect(rot.code, rot.stderr).toBe(0);
    const fresh = rot.stdout.trim();
    expect(fresh).not.toBe(token);
    expect(statSync(join(sb.configDir, "web-token")).mode & 0o777).toBe(0o600);
    expect((await fetch(`${web.url}/v1/status`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${web.url}/v1/ping`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await fetch(`${web.url}/v1/ping`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
    // A new link works under the new token.
    const again = await login(await loginLink(sb));
    expect((await fetch(`${web.url}/v1/status`, { headers: { cookie: again } })).status).toBe(200);
  });

  test("a token file others can read is reported by doctor and made private again when the daemon starts", async () => {
    expect((await sb.run(["web", "token"])).code).toBe(0);
    const file = join(sb.configDir, "web-token");
    chmodSync(file, 0o644);
    const doc = JSON.parse((await sb.run(["doctor", "--json"])).stdout) as { checks: { ok: boolean; detail: string }[] };
    expect(doc.checks.some((c) => !c.ok && c.detail.includes(file))).toBe(true);
    await sb.foreground();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("failed logins are audited and, past five a minute from one address, refused with 429 (a good link too)", async () => {
    await sb.foreground();
    const web = await startWeb(sb);
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await fetch(`${web.url}/login?code=wrong${i}`)).status);
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect((await fetch(web.login_url)).status).toBe(429);
    const rows = sb.query<{ level: string; message: string; detail: string }>("SELECT level, message, detail FROM audit_events WHERE kind = 'web_login_failed' ORDER BY id");
    // Five failures, then one row saying the address is refused (not one per refused attempt).
    expect(rows.length).toBe(6);
    expect(rows.every((r) => r.level === "warn")).toBe(true);
    expect(rows[0]!.message).toContain("127.0.0.1");
    expect(JSON.parse(rows[5]!.detail).rate_limited).toBe(true);
    // A wrong Bearer token counts the same way.
    expect((await fetch(`${web.url}/v1/ping`, { headers: { authorization: "Bearer nottherighttokennottherighttoken00" } })).status).toBe(429);
  });

  test("[web] listen starts it with the daemon; reload moves or stops it; non-loopback needs allow_remote", async () => {
    const port = freePort();
    sb.writeConfig(`[web]\nlisten = "127.0.0.1:${port}"\n`);
    await sb.foreground();
    const st = await sb.run(["web", "--json"]);
    expect(st.code, st.stderr).toBe(0);
    const web = JSON.parse(st.stdout) as { url: string; source: string };
    expect(web).toMatchObject({ url: `http://127.0.0.1:${port}`, source: "config" });
    expect((await fetch(`${web.url}/v1/ping`)).status).toBe(401);

    // Refused: the old config (and listener) stay.
    sb.writeConfig(`[web]\nlisten = "0.0.0.0:${port}"\n`);
    const refused = await sb.run(["daemon", "reload"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("allow_remote");
    expect((await fetch(`${web.url}/v1/ping`)).status).toBe(401);

    sb.writeConfig(`[web]\ntls_cert = "/nowhere/cert.pem"\n`);
    const halfTls = await sb.run(["daemon", "reload"]);
    expect(halfTls.code).toBe(1);
    expect(halfTls.stderr).toContain("tls_key");

    const reachable = (url: string) => fetch(`${url}/v1/ping`).then(() => true, () => false);
    const moved = freePort();
    sb.writeConfig(`[web]\nlisten = "127.0.0.1:${moved}"\n`);
    expect((await sb.run(["daemon", "reload"])).code).toBe(0);
    expect((await fetch(`http://127.0.0.1:${moved}/v1/ping`)).status).toBe(401);
    expect(await reachable(web.url)).toBe(false);

    sb.writeConfig("");
    expect((await sb.run(["daemon", "reload"])).code).toBe(0);
    expect(await reachable(`http://127.0.0.1:${moved}`)).toBe(false);
  });

  test("tls_cert and tls_key: the dashboard is HTTPS and its session cookie is Secure", async () => {
    const cert = join(sb.dir, "cert.pem");
    const key = join(sb.dir, "key.pem");
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdout: "ignore", stderr: "pipe" });
    expect(made.exitCode, made.stderr.toString()).toBe(0);
    sb.writeConfig(`[web]\nlisten = "127.0.0.1:${freePort()}"\ntls_cert = "${cert}"\ntls_key = "${key}"\n`);
    await sb.foreground();
    const st = await sb.run(["web", "--json"]);
    expect(st.code, st.stderr).toBe(0);
    const web = JSON.parse(st.stdout) as { url: string; login_url: string };
    expect(web.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const tls = { tls: { ca: await Bun.file(cert).text() } };
    const first = await fetch(web.login_url, { redirect: "manual", ...tls } as RequestInit);
    expect(first.status).toBe(200);
    const set = first.headers.get("set-cookie") ?? "";
    expect(set).toContain("Secure");
    expect(set).toContain("HttpOnly");
    expect((await fetch(`${web.url}/v1/ping`, { headers: { cookie: set.split(";")[0]! }, ...tls } as RequestInit)).status).toBe(200);
    // Plain HTTP on the same port is not served.
    await expect(fetch(`${web.url.replace("https:", "http:")}/v1/ping`).then((r) => r.status)).rejects.toBeDefined();
  });

  test("[web] keys: listen addresses, loopback or not, allow_remote, TLS in pairs", () => {
    expect(parseListen("127.0.0.1:7777")).toEqual({ host: "127.0.0.1", port: 7777 });
    expect(parseListen("[::1]:8080")).toEqual({ host: "::1", port: 8080 });
    expect(parseListen("localhost:0")).toEqual({ host: "localhost", port: 0 });
    for (const bad of ["7777", "127.0.0.1", "127.0.0.1:99999", "http://127.0.0.1:7777", "a b:1"]) expect(parseListen(bad)).toBeNull();
    expect(["127.0.0.1", "127.3.2.1", "::1", "localhost"].every(isLoopbackHost)).toBe(true);
    expect(["0.0.0.0", "100.64.1.2", "::", "192.168.1.5", "example.com"].some(isLoopbackHost)).toBe(false);
    const load = (text: string) => parseConfigText(text, "daemon.toml").config.web;
    expect(load("")).toEqual({ listen: "", allow_remote: false, tls_cert: "", tls_key: "" });
    expect(() => load('[web]\nlisten = "100.64.1.2:7777"\n')).toThrow(ConfigError);
    expect(load('[web]\nlisten = "100.64.1.2:7777"\nallow_remote = true\n').listen).toBe("100.64.1.2:7777");
    expect(() => load('[web]\nlisten = "127.0.0.1"\n')).toThrow("web.listen");
    expect(() => load('[web]\ntls_key = "k.pem"\n')).toThrow("tls_cert and web.tls_key go together");
  });

  test("kas web without a daemon says so and exits 1", async () => {
    const r = await sb.run(["web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("daemon not running");
  });
});
