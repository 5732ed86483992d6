// The dashboard's page and assets, embedded in the binary at build time (bundle.ts), served gzipped
// to browsers that take it, with an ETag so a reload revalidates instead of downloading again.
import { dashboardAssets } from "./bundle.ts" with { type: "macro" };

const BUILT = dashboardAssets();

interface Asset {
  body: string;
  gzip: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

function asset(body: string, type: string): Asset {
  return { body, gzip: Bun.gzipSync(body), type, etag: `"${Bun.hash(body).toString(36)}"` };
}

const pageHtml = (script: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>kasmos</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<header><a class="brand" href="/">kasmos</a><nav aria-label="pages"><a href="/">Fleet</a><a href="/usage">Usage</a><a href="/events">Events</a></nav><span id="conn" class="conn" role="status" aria-live="polite">connecting…</span></header>
<main id="app" tabindex="-1"></main>
</body>
</html>
`;

let assets: Map<string, Asset> | null = null;

function all(): Map<string, Asset> {
  assets ??= new Map([
    ["app.js", asset(BUILT.js, "text/javascript; charset=utf-8")],
    ["agent.js", asset(BUILT.agentJs, "text/javascript; charset=utf-8")],
    ["app.css", asset(BUILT.css, "text/css; charset=utf-8")],
    ["index.html", asset(pageHtml("app.js"), "text/html; charset=utf-8")],
    ["agent.html", asset(pageHtml("agent.js"), "text/html; charset=utf-8")],
  ]);
  return assets;
}

function respond(a: Asset, req: Request): Response {
  const headers: Record<string, string> = { "content-type": a.type, etag: a.etag, "cache-control": "no-cache", vary: "accept-encoding" };
  if (req.headers.get("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
  if (/\bgzip\b/.test(req.headers.get("accept-encoding") ?? "")) return new Response(a.gzip, { headers: { ...headers, "content-encoding": "gzip" } });
  return new Response(a.body, { headers });
}

export function serveAsset(name: string, req: Request): Response {
  const a = all().get(name);
  if (!a || name.endsWith(".html")) return Response.json({ error: `not found: ${name}` }, { status: 404 });
  return respond(a, req);
}

/** Every page path answers the same document (the Agent page's loads its own script); the script renders the view the path names. */
export function servePage(req: Request): Response {
  return respond(all().get(new URL(req.url).pathname.startsWith("/agent/") ? "agent.html" : "index.html")!, req);
}
