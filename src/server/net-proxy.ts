// The daemon's filtering proxy for agents whose [sandbox] network is a list of hosts. Such an agent
// has no network of its own (an empty namespace); the bridge it runs inside (kasmos agent net-bridge)
// carries each of its CLI's proxy connections here over a unix socket, first with the agent's token.
// An HTTP CONNECT (https) or absolute-URL request (http) to a listed host is connected; anything else
// is answered 403 and audited with the agent's identity.
import type { Socket, TCPSocketListener, UnixSocketListener } from "bun";
import { rmSync } from "node:fs";
import { recordAudit } from "../store/audit.ts";
import { SocketPipe } from "../sandbox/socket-pipe.ts";
import { type AgentIdentity, verifyAgentToken } from "./agent-token.ts";
import type { Daemon } from "./running-daemon.ts";
import { netProxyPath } from "./agent-paths.ts";


const MAX_HEAD = 64 * 1024;

/** `host` is one the list names: exactly, or under a `*.domain` entry. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return allowed.some((a) => {
    const e = a.toLowerCase();
    return e.startsWith("*.") ? h.endsWith(e.slice(1)) : h === e;
  });
}

/** Where a proxy request goes: CONNECT host:port, or an http:// absolute URL; null when neither. */
export function proxyTarget(requestLine: string): { host: string; port: number; connect: boolean } | null {
  const [method, target] = requestLine.split(" ");
  if (!method || !target) return null;
  if (method === "CONNECT") {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(target);
    return m ? { host: (m[1] ?? m[2])!, port: Number(m[3]), connect: true } : null;
  }
  try {
    const u = new URL(target);
    if (u.protocol !== "http:") return null;
    return { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port ? Number(u.port) : 80, connect: false };
  } catch {
    return null;
  }
}

interface Conn {
  buf: Uint8Array;
  /** Bytes for the upstream before it is open. */
  early: Uint8Array[];
  toUpstream: SocketPipe | null;
  toClient: SocketPipe | null;
  upstream: Socket<unknown> | null;
  closed: boolean;
}

function answer(s: Socket<Conn>, status: string, text: string): void {
  s.data.closed = true;
  s.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

function allowedHosts(d: Daemon): string[] | "all" {
  const n = d.config.sandbox.network;
  return Array.isArray(n) ? n : n === "on" ? "all" : [];
}

function refuse(d: Daemon, s: Socket<Conn>, id: AgentIdentity, host: string): void {
  try {
    recordAudit(d.db, { kind: "agent_forbidden", project: id.project, task: id.task, message: `${id.title}: network access to ${host} refused (not in [sandbox] network)`, detail: { title: id.title, host }, level: "warn" });
  } catch (err) {
    d.log.warn(`cannot audit a refused network request: ${(err as Error).message}`);
  }
  answer(s, "403 Forbidden", `kasmos: ${host} is not in [sandbox] network\n`);
}

function open(d: Daemon, s: Socket<Conn>, id: AgentIdentity, target: { host: string; port: number; connect: boolean }, rest: Uint8Array): void {
  const c = s.data;
  c.toClient = new SocketPipe(s as Socket<unknown>);
  if (rest.length > 0) c.early.push(rest);
  Bun.connect<undefined>({
    hostname: target.host,
    port: target.port,
    socket: {
      open(up) {
        if (c.closed) return void up.end();
        c.upstream = up as Socket<unknown>;
        c.toUpstream = new SocketPipe(up as Socket<unknown>);
        if (target.connect) s.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        for (const b of c.early) c.toUpstream.write(b);
        c.early = [];
      },
      data(_up, chunk) {
        c.toClient?.write(chunk);
      },
      drain() {
        c.toUpstream?.drain();
      },
      close() {
        c.toClient?.end();
      },
      error() {
        c.toClient?.end();
      },
    },
  }).catch((err: unknown) => {
    d.log.warn(`${id.project}/${id.task}: agent ${id.title}: proxy to ${target.host}:${target.port} failed: ${(err as Error).message}`);
    if (!c.closed) answer(s, "502 Bad Gateway", `kasmos: cannot reach ${target.host}:${target.port}\n`);
  });
}

function onHead(d: Daemon, s: Socket<Conn>): void {
  const c = s.data;
  const text = Buffer.from(c.buf).toString("latin1");
  const nl = text.indexOf("\n");
  const headEnd = nl < 0 ? -1 : text.indexOf("\r\n\r\n", nl + 1);
  if (headEnd < 0) {
    if (c.buf.length > MAX_HEAD) answer(s, "400 Bad Request", "kasmos: request head too large\n");
    return;
  }
  const auth = text.slice(0, nl).trim();
  const id = auth.startsWith("KASMOS-AGENT ") ? verifyAgentToken(auth.slice("KASMOS-AGENT ".length).trim()) : null;
  if (id === null) return answer(s, "407 Proxy Authentication Required", "kasmos: an agent token is required\n");
  const requestLine = text.slice(nl + 1, text.indexOf("\r\n", nl + 1));
  const target = proxyTarget(requestLine);
  if (target === null) return answer(s, "400 Bad Request", "kasmos: only CONNECT and http:// proxy requests\n");
  const allowed = allowedHosts(d);
  if (allowed !== "all" && !hostAllowed(target.host, allowed)) return refuse(d, s, id, target.host);
  const afterAuth = c.buf.subarray(Buffer.byteLength(text.slice(0, nl + 1), "latin1"));
  const afterHead = c.buf.subarray(headEnd + 4);
  c.buf = new Uint8Array(0);
  open(d, s, id, target, target.connect ? afterHead : afterAuth);
}

/** Listen on the proxy's socket (0600, in the agents' folder). */
export function serveNetProxy(d: Daemon, controlSocket: string): UnixSocketListener<Conn> | TCPSocketListener<Conn> {
  const path = netProxyPath(controlSocket);
  rmSync(path, { force: true });
  const oldUmask = process.umask(0o177);
  try {
    return Bun.listen<Conn>({
      unix: path,
      socket: {
        open(s) {
          s.data = { buf: new Uint8Array(0), early: [], toUpstream: null, toClient: null, upstream: null, closed: false };
        },
        data(s, chunk) {
          const c = s.data;
          if (c.toClient !== null) {
            if (c.toUpstream) c.toUpstream.write(chunk);
            else c.early.push(new Uint8Array(chunk));
            return;
          }
          if (c.closed) return;
          const joined = new Uint8Array(c.buf.length + chunk.length);
          joined.set(c.buf);
          joined.set(chunk, c.buf.length);
          c.buf = joined;
          onHead(d, s);
        },
        drain(s) {
          s.data.toClient?.drain();
        },
        close(s) {
          s.data.closed = true;
          s.data.upstream?.end();
        },
        error(s) {
          s.data.closed = true;
          s.data.upstream?.end();
        },
      },
    });
  } finally {
    process.umask(oldUmask);
  }
}
