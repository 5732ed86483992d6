// Cold start of the CLI: `kasmos daemon status --socket S` (against a live daemon) and `kasmos --help`,
// compared with a compiled one-line hello-world built in the same run, so the figure is relative to
// the fixed cost of starting any compiled Bun binary on this machine.
import { writeFileSync, statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, type BenchResult, type Figure, mean, round, withDaemon, type Sandbox } from "./lib.ts";

const WARMUP = 5;
const RUNS = 40;
const TARGET_RATIO = 2.5;

interface Timing {
  label: string;
  meanMs: number;
  stddevMs: number;
}

function buildHello(sb: Sandbox): string {
  const src = join(sb.dir, "hello.ts");
  const out = join(sb.dir, "hello");
  writeFileSync(src, 'console.log("hi");\n');
  const r = Bun.spawnSync(
    [process.execPath, "build", "--compile", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", src, "--outfile", out],
    { cwd: sb.dir, stdout: "pipe", stderr: "pipe", timeout: 120_000 },
  );
  if (r.exitCode !== 0) throw new Error(`hello-world build failed: ${r.stderr.toString()}`);
  return out;
}

function hasHyperfine(): boolean {
  return Bun.which("hyperfine") !== null;
}

interface HyperfineJson {
  results: { command: string; mean: number; stddev: number | null }[];
}

function timeWithHyperfine(sb: Sandbox, cmds: { label: string; argv: string[] }[]): Timing[] {
  const json = join(sb.dir, "hf.json");
  const args = ["hyperfine", "-N", "--warmup", String(WARMUP), "--runs", String(RUNS), "--style", "none", "--export-json", json];
  for (const c of cmds) args.push("-n", c.label, c.argv.join(" "));
  const r = Bun.spawnSync(args, { env: sb.env, cwd: sb.dir, stdout: "pipe", stderr: "pipe", timeout: 150_000 });
  if (r.exitCode !== 0) throw new Error(`hyperfine failed (${r.exitCode}): ${r.stderr.toString()}${r.stdout.toString()}`);
  const data = JSON.parse(readFileSync(json, "utf8")) as HyperfineJson;
  return cmds.map((c, i) => {
    const res = data.results[i];
    if (!res) throw new Error(`hyperfine result missing for ${c.label}`);
    return { label: c.label, meanMs: res.mean * 1000, stddevMs: (res.stddev ?? 0) * 1000 };
  });
}

function timeWithLoop(sb: Sandbox, cmds: { label: string; argv: string[] }[]): Timing[] {
  return cmds.map((c) => {
    const times: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const t0 = performance.now();
      const r = Bun.spawnSync(c.argv, { env: sb.env, cwd: sb.dir, stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 10_000 });
      const dt = performance.now() - t0;
      if (r.exitCode !== 0) throw new Error(`${c.label} exited ${r.exitCode}`);
      if (i >= WARMUP) times.push(dt);
    }
    const m = mean(times);
    const sd = Math.sqrt(mean(times.map((t) => (t - m) ** 2)));
    return { label: c.label, meanMs: m, stddevMs: sd };
  });
}

export async function run(): Promise<BenchResult> {
  return withDaemon(async (d, sb) => {
    const hello = buildHello(sb);
    const cmds = [
      { label: "hello-world", argv: [hello] },
      { label: "status", argv: [BIN, "daemon", "status", "--socket", d.socket] },
      { label: "help", argv: [BIN, "--help"] },
    ];
    // Sanity: the status command must succeed against the live daemon before timing it.
    const check = sb.run(["daemon", "status", "--socket", d.socket]);
    if (check.code !== 0) throw new Error(`daemon status failed: ${check.stderr}`);

    const useHf = hasHyperfine();
    const [hw, status, help] = useHf ? timeWithHyperfine(sb, cmds) : timeWithLoop(sb, cmds);
    if (!hw || !status || !help) throw new Error("missing timings");
    const ratio = status.meanMs / hw.meanMs;

    const figures: Figure[] = [
      { label: "compiled hello-world mean", value: round(hw.meanMs, 1), unit: "ms" },
      { label: "`kasmos daemon status` mean", value: round(status.meanMs, 1), unit: "ms" },
      { label: "status − hello-world (kasmos's own startup + request)", value: round(status.meanMs - hw.meanMs, 1), unit: "ms" },
      { label: "status / hello-world ratio", value: round(ratio, 2), unit: "×", target: `≤ ${TARGET_RATIO}`, pass: ratio <= TARGET_RATIO },
      { label: "`kasmos --help` mean", value: round(help.meanMs, 1), unit: "ms" },
      { label: "dist/kasmos size", value: round(statSync(BIN).size / 1024 / 1024, 1), unit: "MiB" },
    ];
    const how = useHf
      ? `hyperfine -N --warmup ${WARMUP} --runs ${RUNS} (σ: hello ${hw.stddevMs.toFixed(1)} ms, status ${status.stddevMs.toFixed(1)} ms, help ${help.stddevMs.toFixed(1)} ms)`
      : `Bun.spawnSync loop, ${WARMUP} warm-up + ${RUNS} runs (hyperfine not found)`;
    return {
      name: "cold-start",
      figures,
      notes: [
        how,
        "hello-world: `bun build --compile --no-compile-autoload-dotenv --no-compile-autoload-bunfig` of `console.log(\"hi\")`, built in the same run",
        "status runs against a live foreground daemon in a temp HOME/XDG_RUNTIME_DIR with no repos registered",
      ],
    };
  });
}
