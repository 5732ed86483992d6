// `kasmos daemon service install|uninstall|status` (compiled binary, temp HOME, no user systemd),
// the systemd-reachable path against a fake `systemctl` on PATH, and contrib/kasmos.service.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT, Sandbox } from "../helpers/env.ts";

const sb = new Sandbox("ks-");
afterAll(() => sb.cleanup());

/** What `process.execPath` of the compiled binary is (dist/kas is a symlink to it). */
const REAL_BIN = realpathSync(BIN);
const unitFile = join(sb.home, ".config", "systemd", "user", "kasmos.service");
const ANALYZE = Bun.which("systemd-analyze");

/** Independent of src/: sections → key → values. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      out[section] = {};
      continue;
    }
    const eq = line.indexOf("=");
    expect(eq).toBeGreaterThan(0);
    ((out[section] ??= {})[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

/** `systemd-analyze --user verify <file>`: exit 0 and no complaints on stderr. Skipped (with a message) only when systemd-analyze is missing. */
function verifyUnit(path: string): void {
  if (!ANALYZE) {
    console.warn(`SKIPPED: systemd-analyze verify ${path}: systemd-analyze is not installed (apt-get install -y systemd)`);
    return;
  }
  const r = Bun.spawnSync([ANALYZE, "--user", "verify", path], { env: sb.env, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const out = `${r.stdout.toString()}${r.stderr.toString()}`.trim();
  expect({ code: r.exitCode, out }).toEqual({ code: 0, out: "" });
}

const contrib = readFileSync(join(ROOT, "contrib", "kasmos.service"), "utf8");

describe("daemon service (no user systemd)", () => {
  test("install writes a valid unit and prints the systemctl commands", async () => {
    const r = await sb.run(["daemon", "service", "install"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${unitFile}`);
    expect(r.stdout).toContain("no user systemd reachable");
    expect(r.stdout).toContain("systemctl --user daemon-reload");
    expect(r.stdout).toContain("systemctl --user enable --now kasmos");
    expect(r.stdout.indexOf("daemon-reload")).toBeLessThan(r.stdout.indexOf("enable --now"));

    const text = readFileSync(unitFile, "utf8");
    const unit = parseUnit(text);
    expect(unit).toEqual({
      Unit: { Description: ["kasmos daemon"], After: ["network.target"] },
      Service: {
        Type: ["simple"],
        ExecStart: [`${REAL_BIN} daemon start --foreground`],
        ExecReload: ["/bin/kill -HUP $MAINPID"],
        Restart: ["on-failure"],
        RestartForceExitStatus: ["SIGHUP"],
      },
      Install: { WantedBy: ["default.target"] },
    });
    // Same text as the shipped unit, ExecStart aside.
    expect(text).toBe(contrib.replace("ExecStart=/usr/local/bin/kasmos ", `ExecStart=${REAL_BIN} `));
    verifyUnit(unitFile);
  });

  test("a hand-edited unit is not overwritten without --force; --force keeps a .bak; a kasmos-written one is updated freely", async () => {
    expect((await sb.run(["daemon", "service", "install"])).code).toBe(0);
    // A kasmos-written unit (even for another config) is replaced without asking.
    expect((await sb.run(["daemon", "service", "install", "--config", join(sb.dir, "a.toml")])).stdout).toContain(`updated ${unitFile}`);
    const edited = readFileSync(unitFile, "utf8").replace("[Service]\n", "[Service]\nEnvironment=GH_TOKEN=ghp_mine\n");
    writeFileSync(unitFile, edited);
    const r = await sb.run(["daemon", "service", "install"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("was edited by hand");
    expect(r.stderr).toContain("--force");
    expect(readFileSync(unitFile, "utf8")).toBe(edited);
    const f = await sb.run(["daemon", "service", "install", "--force"]);
    expect(f.code).toBe(0);
    expect(f.stdout).toContain(`kept as ${unitFile}.bak`);
    expect(readFileSync(`${unitFile}.bak`, "utf8")).toBe(edited);
    expect(readFileSync(unitFile, "utf8")).not.toContain("GH_TOKEN");
  });

  test("status reports the installed unit and its ExecStart", async () => {
    const r = await sb.run(["daemon", "service", "status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${unitFile} (installed)`);
    expect(r.stdout).toContain(`ExecStart: ${REAL_BIN} daemon start --foreground`);
    expect(r.stdout).toContain("no user systemd reachable");
    const j = await sb.run(["daemon", "service", "status", "--json"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({
      unit_path: unitFile,
      installed: true,
      exec_start: `${REAL_BIN} daemon start --foreground`,
      binary: REAL_BIN,
      binary_exists: true,
      systemd_reachable: false,
      enabled: null,
      active: null,
    });
  });

  test("install --config passes an absolute, quoted path through to ExecStart", async () => {
    const cfgDir = join(sb.dir, "my conf");
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, "daemon.toml"), "");
    const r = await sb.run(["daemon", "service", "install", "--config", "my conf/daemon.toml"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`updated ${unitFile}`);
    const cfg = join(realpathSync(sb.dir), "my conf", "daemon.toml");
    const exec = `${REAL_BIN} daemon start --foreground --config "${cfg}"`;
    expect(parseUnit(readFileSync(unitFile, "utf8")).Service!.ExecStart).toEqual([exec]);
    verifyUnit(unitFile);
    const j = await sb.run(["daemon", "service", "status", "--json"]);
    expect(JSON.parse(j.stdout).exec_start).toBe(exec);
    // Re-running with the same flags leaves the file alone.
    const again = await sb.run(["daemon", "service", "install", "--config", cfg]);
    expect(again.stdout).toContain(`unchanged ${unitFile}`);
  });

  test("uninstall removes the unit; a second uninstall is a no-op", async () => {
    const r = await sb.run(["daemon", "service", "uninstall"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${unitFile}`);
    expect(existsSync(unitFile)).toBe(false);
    const s = await sb.run(["daemon", "service", "status", "--json"]);
    expect(JSON.parse(s.stdout)).toMatchObject({ installed: false, exec_start: null });
    const again = await sb.run(["daemon", "service", "uninstall"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("not installed");
  });

  test("--help lists the subcommands with examples", async () => {
    const r = await sb.run(["daemon", "service", "--help"]);
    expect(r.code).toBe(0);
    for (const sub of ["install", "uninstall", "status"]) expect(r.stdout).toContain(sub);
    for (const sub of ["install", "uninstall", "status"]) {
      const h = await sb.run(["daemon", "service", sub, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain("EXAMPLES");
      expect(h.stdout).toContain(`kas daemon service ${sub}`);
    }
  });

  test("outside the compiled binary, install refuses", async () => {
    const proc = Bun.spawn([process.execPath, join(ROOT, "src", "cli.ts"), "daemon", "service", "install"], { env: sb.env, cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    sb.track(proc.pid);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(stderr).toContain("run the compiled binary");
    expect(existsSync(unitFile)).toBe(false);
  });
});

describe("daemon service (user systemd reachable: fake systemctl)", () => {
  const fake = new Sandbox("ksf-");
  afterAll(() => fake.cleanup());
  const binDir = join(fake.dir, "bin");
  const log = join(fake.dir, "systemctl.log");
  mkdirSync(binDir, { recursive: true });
  writeFileSync(
    join(binDir, "systemctl"),
    `#!/bin/sh\necho "$*" >> '${log}'\ncase "$*" in\n  *is-system-running*) echo running ;;\n  *is-active*) echo active ;;\n  *is-enabled*) echo enabled ;;\nesac\nexit 0\n`,
  );
  chmodSync(join(binDir, "systemctl"), 0o755);
  const env = { PATH: `${binDir}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);

  test("install runs daemon-reload then enable --now; status asks systemd; uninstall disables", async () => {
    const r = await fake.run(["daemon", "service", "install"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("$ systemctl --user daemon-reload");
    expect(r.stdout).toContain("$ systemctl --user enable --now kasmos");
    expect(r.stdout).toContain("enabled and started");
    const c = calls();
    expect(c.indexOf("--user daemon-reload")).toBeGreaterThanOrEqual(0);
    expect(c.indexOf("--user enable --now kasmos")).toBeGreaterThan(c.indexOf("--user daemon-reload"));

    const s = await fake.run(["daemon", "service", "status", "--json"], { env });
    expect(JSON.parse(s.stdout)).toMatchObject({ installed: true, systemd_reachable: true, active: "active", enabled: "enabled" });

    const u = await fake.run(["daemon", "service", "uninstall"], { env });
    expect(u.code).toBe(0);
    const after = calls();
    expect(after.indexOf("--user disable --now kasmos")).toBeGreaterThan(c.length - 1);
    expect(after[after.length - 1]).toBe("--user daemon-reload");
    expect(existsSync(join(fake.home, ".config", "systemd", "user", "kasmos.service"))).toBe(false);
  });
});

describe("contrib/kasmos.service", () => {
  test("is the README's unit, with ExecReload, and verifies", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /```ini\n([\s\S]*?)```/.exec(readme);
    expect(block?.[1]).toBe(contrib);
    expect(parseUnit(contrib).Service!.ExecReload).toEqual(["/bin/kill -HUP $MAINPID"]);
    // systemd counts a death by SIGHUP as clean and would not restart it: a HUP during the runtime's
    // own start-up (before the daemon can take it) would leave no daemon.
    expect(parseUnit(contrib).Service!.RestartForceExitStatus).toEqual(["SIGHUP"]);
    // systemd-analyze needs the ExecStart binary to exist: point it at dist/kasmos.
    const dir = join(sb.dir, "contrib");
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, "kasmos.service");
    writeFileSync(copy, contrib.replace("ExecStart=/usr/local/bin/kasmos ", `ExecStart=${REAL_BIN} `));
    expect(readFileSync(copy, "utf8")).not.toBe(contrib);
    verifyUnit(copy);
  });
});
