// install.sh end to end: a loopback HTTP server plays the GitHub release (binary + SHA256SUMS)
// and the script is run with `sh` in a controlled environment (HOME/TMPDIR in a temp dir).
// The server lives in this process, so install.sh must be spawned asynchronously (Bun.spawn).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const INSTALL_SH = join(ROOT, "install.sh");
const ARCH = process.arch === "arm64" ? "arm64" : "x64";
const ASSET = `kasmos-linux-${ARCH}`;

let work: string; // everything temporary lives under here
let server: ReturnType<typeof Bun.serve>;
let baseUrl: string;
let standin: string; // path of the binary being "released"
let goodSha: string;
const requests: string[] = [];

// scenario name -> files it serves (absent file => 404)
const scenarios = new Map<string, Map<string, string>>();

function sha256(path: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(readFileSync(path));
  return h.digest("hex");
}

function addScenario(name: string, files: Record<string, string>) {
  const dir = join(work, "srv", name);
  mkdirSync(dir, { recursive: true });
  const m = new Map<string, string>();
  for (const [file, content] of Object.entries(files)) {
    const p = join(dir, file);
    if (content === "@binary") copyFileSync(standin, p);
    else writeFileSync(p, content);
    m.set(file, p);
  }
  scenarios.set(name, m);
}

async function versionOf(bin: string): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([bin, "--version"], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
  const out = (await new Response(p.stdout).text()) + (await new Response(p.stderr).text());
  return { code: await p.exited, out };
}

async function prepareBinary(): Promise<string> {
  // Prefer the real build when it exists and works; it may be mid-rebuild by someone else, so copy it first.
  const real = join(ROOT, "dist", "kasmos");
  if (existsSync(real)) {
    const copy = join(work, "kasmos-real");
    try {
      copyFileSync(real, copy);
      chmodSync(copy, 0o755);
      const v = await versionOf(copy);
      if (v.code === 0 && /\d+\.\d+\.\d+/.test(v.out)) return copy;
    } catch {
      // fall through to the stand-in
    }
  }
  const src = join(work, "standin.ts");
  writeFileSync(
    src,
    `if (process.argv.includes("--version")) { console.log("kasmos 0.1.0"); process.exit(0); }\nconsole.log("kasmos stand-in");\n`,
  );
  const out = join(work, "kasmos-standin");
  const p = Bun.spawn([process.execPath, "build", "--compile", src, "--outfile", out], { stdout: "pipe", stderr: "pipe" });
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0) throw new Error(`compiling the stand-in failed: ${err}`);
  return out;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  home: string;
  tmp: string;
}

let runSeq = 0;
async function runInstall(args: string[], opts: { scenario?: string; env?: Record<string, string>; path?: string } = {}): Promise<RunResult> {
  const id = `run${++runSeq}`;
  const home = join(work, id, "home");
  const tmp = join(work, id, "tmp");
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const env: Record<string, string> = {
    PATH: opts.path ?? process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    TMPDIR: tmp,
    ...(opts.scenario ? { KASMOS_INSTALL_BASE_URL: `${baseUrl}/${opts.scenario}` } : {}),
    ...opts.env,
  };
  const p = Bun.spawn(["sh", INSTALL_SH, ...args], { cwd: join(work, id), env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, stdout, stderr, home, tmp };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "kasmos-install-test-"));
  standin = await prepareBinary();
  goodSha = sha256(standin);
  const other = "0".repeat(64);

  addScenario("good", { [ASSET]: "@binary", SHA256SUMS: `${other}  kasmos-linux-other\n${goodSha}  ${ASSET}\n` });
  addScenario("badsum", { [ASSET]: "@binary", SHA256SUMS: `${"ab".repeat(32)}  ${ASSET}\n` });
  addScenario("noline", { [ASSET]: "@binary", SHA256SUMS: `${goodSha}  kasmos-linux-not-${ARCH}\n` });
  addScenario("nosums", { [ASSET]: "@binary" });
  addScenario("empty", {});

  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const { pathname } = new URL(req.url);
      requests.push(pathname);
      const [, scenario, file] = pathname.split("/");
      const path = scenarios.get(scenario ?? "")?.get(file ?? "");
      if (!path) return new Response("Not Found", { status: 404 });
      return new Response(Bun.file(path));
    },
  });
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.stop(true);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("install.sh", () => {
  test("is valid POSIX sh", async () => {
    const p = Bun.spawn(["sh", "-n", INSTALL_SH], { stderr: "pipe" });
    expect(await p.exited).toBe(0);
  });

  test("good checksum: installs kasmos (0755) and the kas symlink, which runs", async () => {
    const bin = join(work, "explicit", "bin");
    const r2 = await runInstall(["--prefix", bin], { scenario: "good" });
    expect(r2.stderr).not.toContain("error");
    expect(r2.code).toBe(0);
    const kasmos = join(bin, "kasmos");
    expect(statSync(kasmos).mode & 0o777).toBe(0o755);
    expect(sha256(kasmos)).toBe(goodSha);
    expect(lstatSync(join(bin, "kas")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(bin, "kas"))).toBe("kasmos");
    const v = await versionOf(join(bin, "kas"));
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/\d+\.\d+\.\d+/);
    // only the two entries: no staged temp file left behind
    expect(readdirSync(bin).sort()).toEqual(["kas", "kasmos"]);
    // the mktemp download dir was cleaned up by the trap
    expect(readdirSync(r2.tmp)).toEqual([]);
    expect(r2.stdout).toContain("checksum verified");
    expect(r2.stdout).toContain("kasmos daemon start");
    expect(r2.stdout).toContain("systemctl --user");
    // the bin dir is not on PATH in this environment → hint
    expect(r2.stdout).toContain("not on your PATH");
    expect(requests).toContain(`/good/${ASSET}`);
    expect(requests).toContain("/good/SHA256SUMS");
  });

  test("re-install over an existing install replaces the binary and the symlink", async () => {
    const bin = join(work, "reinstall", "bin");
    expect((await runInstall(["--prefix", bin], { scenario: "good" })).code).toBe(0);
    writeFileSync(join(bin, "kasmos"), "stale");
    const r = await runInstall([`--prefix=${bin}`], { scenario: "good" });
    expect(r.code).toBe(0);
    expect(sha256(join(bin, "kasmos"))).toBe(goodSha);
    expect(readlinkSync(join(bin, "kas"))).toBe("kasmos");
    expect(readdirSync(bin).sort()).toEqual(["kas", "kasmos"]);
  });

  test("bad checksum: aborts, mentions the checksum, installs nothing", async () => {
    const bin = join(work, "badsum", "bin");
    const r = await runInstall(["--prefix", bin], { scenario: "badsum" });
    expect(r.code).not.toBe(0);
    expect(r.stderr.toLowerCase()).toContain("checksum");
    expect(existsSync(join(bin, "kasmos"))).toBe(false);
    expect(existsSync(join(bin, "kas"))).toBe(false);
    expect(readdirSync(r.tmp)).toEqual([]);
  });

  test("bad checksum does not touch an existing install", async () => {
    const bin = join(work, "badsum-existing", "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "kasmos"), "previous");
    const r = await runInstall(["--prefix", bin], { scenario: "badsum" });
    expect(r.code).toBe(1);
    expect(readFileSync(join(bin, "kasmos"), "utf8")).toBe("previous");
    expect(readdirSync(bin)).toEqual(["kasmos"]);
  });

  test("missing SHA256SUMS line: aborts, installs nothing", async () => {
    const bin = join(work, "noline", "bin");
    const r = await runInstall(["--prefix", bin], { scenario: "noline" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no checksum line for ${ASSET}`);
    expect(existsSync(join(bin, "kasmos"))).toBe(false);
  });

  test("SHA256SUMS not published (404): aborts, installs nothing", async () => {
    const bin = join(work, "nosums", "bin");
    const r = await runInstall(["--prefix", bin], { scenario: "nosums" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("SHA256SUMS");
    expect(existsSync(join(bin, "kasmos"))).toBe(false);
  });

  test("server 404 for the binary: clear error, installs nothing", async () => {
    const bin = join(work, "404", "bin");
    const r = await runInstall(["--prefix", bin], { scenario: "empty" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`failed to download ${baseUrl}/empty/${ASSET}`);
    expect(existsSync(join(bin, "kasmos"))).toBe(false);
    expect(existsSync(bin)).toBe(false); // prefix is only created once the download verified
    expect(readdirSync(r.tmp)).toEqual([]);
  });

  test("--help exits 0 and documents --prefix", async () => {
    const r = await runInstall(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--prefix");
    expect(r.stdout).toContain("--version");
    expect(r.stdout).toContain("--from-source");
    expect(r.stdout).toContain("Examples");
  });

  test("unknown flag exits 2 with an error", async () => {
    const r = await runInstall(["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option: --bogus");
    const r2 = await runInstall(["--prefix"]);
    expect(r2.code).toBe(2);
  });

  test("default prefix for a non-root user is $HOME/.local/bin", async () => {
    const r = await runInstall([], { scenario: "good", env: { KASMOS_INSTALL_AS_ROOT: "0" } });
    expect(r.code).toBe(0);
    const bin = join(r.home, ".local", "bin");
    expect(statSync(join(bin, "kasmos")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(bin, "kas"))).toBe("kasmos");
    expect(r.stdout).toContain(`export PATH="${bin}:$PATH"`);
  });

  test("no PATH hint when the prefix is already on PATH", async () => {
    const bin = join(work, "onpath", "bin");
    const r = await runInstall(["--prefix", bin], { scenario: "good", path: `${bin}:${process.env.PATH}` });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("not on your PATH");
  });

  describe("platform detection (uname shimmed on PATH)", () => {
    function shim(s: string, m: string): string {
      const dir = join(work, `uname-${s}-${m}`);
      mkdirSync(dir, { recursive: true });
      const p = join(dir, "uname");
      writeFileSync(p, `#!/bin/sh\ncase "$1" in -s) echo ${s} ;; -m) echo ${m} ;; *) echo ${s} ;; esac\n`);
      chmodSync(p, 0o755);
      return `${dir}:${process.env.PATH}`;
    }

    test("non-Linux OS is rejected with exit 1", async () => {
      const bin = join(work, "darwin", "bin");
      const r = await runInstall(["--prefix", bin], { scenario: "good", path: shim("Darwin", "arm64") });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("not supported");
      expect(existsSync(bin)).toBe(false);
      const r2 = await runInstall(["--prefix", bin], { scenario: "good", path: shim("FreeBSD", "amd64") });
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain("unsupported operating system: FreeBSD");
    });

    test("unknown architecture is rejected; aarch64/amd64 map to arm64/x64", async () => {
      const r = await runInstall(["--prefix", join(work, "mips", "bin")], { scenario: "good", path: shim("Linux", "mips64") });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("unsupported architecture: mips64");

      const other = ARCH === "x64" ? { m: "aarch64", asset: "kasmos-linux-arm64" } : { m: "amd64", asset: "kasmos-linux-x64" };
      const r2 = await runInstall(["--prefix", join(work, "other-arch", "bin")], { scenario: "empty", path: shim("Linux", other.m) });
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain(`/empty/${other.asset}`);
    });
  });

  describe("--from-source", () => {
    test("builds a checkout with bun and installs dist/kasmos", async () => {
      const src = join(work, "checkout");
      mkdirSync(src, { recursive: true });
      copyFileSync(standin, join(src, "prebuilt"));
      writeFileSync(
        join(src, "package.json"),
        JSON.stringify({
          name: "kasmos-fake",
          version: "0.0.0",
          private: true,
          scripts: { build: "mkdir -p dist && cp prebuilt dist/kasmos" },
        }),
      );
      // a lockfile so --frozen-lockfile has something to hold to
      const lock = Bun.spawn([process.execPath, "install"], { cwd: src, stdout: "pipe", stderr: "pipe" });
      expect(await lock.exited).toBe(0);

      const bin = join(work, "fromsrc", "bin");
      const r = await runInstall(["--prefix", bin, "--from-source", src]);
      expect(r.stderr).not.toContain("error:");
      expect(r.code).toBe(0);
      expect(statSync(join(bin, "kasmos")).mode & 0o777).toBe(0o755);
      expect(sha256(join(bin, "kasmos"))).toBe(goodSha);
      expect(readlinkSync(join(bin, "kas"))).toBe("kasmos");
      expect(r.stdout).not.toContain("checksum");
    });

    test("a directory without package.json is rejected", async () => {
      const empty = join(work, "not-a-checkout");
      mkdirSync(empty, { recursive: true });
      const r = await runInstall(["--from-source", empty, "--prefix", join(work, "fromsrc-bad", "bin")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("no package.json");
    });
  });
});
