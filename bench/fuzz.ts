// Long fuzz pass: `bun bench/fuzz.ts [--seconds N] [--seed S] [--max-name-bytes B]` (`bun run fuzz`).
// One compiled foreground daemon in a sandbox; rounds with seeds S, S+1, … until the time is up, each
// round: a batch of random signal files, a batch of random API requests, random daemon.toml texts in
// process and (every 5th round) through `kasmos daemon config`. Prints the seed of any property
// violation, exits 1 if there was one, and rewrites the "Fuzzing" section of RELIABILITY.md.
// Needs dist/kasmos (`bun run build`).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MAX_NAME_BYTES, fuzzApi, fuzzConfig, fuzzConfigCli, fuzzSignals, Rng, startFuzzDaemon, storeViolations } from "../test/fuzz/gen.ts";

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n)) {
    console.error(`--${name} needs a number`);
    process.exit(2);
  }
  return n;
}

const seconds = flag("seconds", 60);
const seed0 = flag("seed", Date.now() % 1_000_000) >>> 0;
const maxNameBytes = flag("max-name-bytes", DEFAULT_MAX_NAME_BYTES);
const SIGNALS_PER_ROUND = 40;
const REQUESTS_PER_ROUND = 120;
const CONFIGS_PER_ROUND = 400;
const MAX_ROUNDS = 100_000; // bound even if the clock misbehaves

const ctx = await startFuzzDaemon();
const started = Date.now();
const statusCounts: Record<string, number> = {};
const failures: { seed: number; target: string; violations: string[] }[] = [];
let rounds = 0;
let files = 0;
let requests = 0;
let configs = 0;
let cliRuns = 0;
let lastSeed = seed0;

try {
  while (rounds < MAX_ROUNDS && Date.now() - started < seconds * 1000) {
    const seed = (seed0 + rounds) >>> 0;
    lastSeed = seed;
    const targets: [string, () => Promise<string[]> | string[]][] = [
      ["signals", () => fuzzSignals(ctx, new Rng(seed), SIGNALS_PER_ROUND, { maxNameBytes })],
      ["api", () => fuzzApi(ctx, new Rng(seed ^ 0x5a5a5a5a), REQUESTS_PER_ROUND, statusCounts)],
      ["config", () => fuzzConfig(new Rng(seed ^ 0x33333333), CONFIGS_PER_ROUND)],
    ];
    if (rounds % 5 === 0) targets.push(["config-cli", () => fuzzConfigCli(ctx.sb, new Rng(seed ^ 0x77777777), 3)]);
    for (const [target, fn] of targets) {
      const v = await fn();
      if (v.length > 0) {
        failures.push({ seed, target, violations: v });
        console.error(`PROPERTY VIOLATION target=${target} seed=${seed} (reproduce: bun bench/fuzz.ts --seed ${seed} --seconds 5)`);
        for (const line of v.slice(0, 5)) console.error(`  ${line.slice(0, 2000)}`);
      }
    }
    if (ctx.proc.exitCode !== null) {
      failures.push({ seed, target: "daemon", violations: [`daemon exited with ${ctx.proc.exitCode}`] });
      console.error(`DAEMON EXITED (${ctx.proc.exitCode}) during seed ${seed}`);
      break;
    }
    rounds++;
    files += SIGNALS_PER_ROUND;
    requests += REQUESTS_PER_ROUND;
    configs += CONFIGS_PER_ROUND;
    if (rounds % 5 === 1) cliRuns += 3;
    if (failures.length >= 20) break;
  }
  if (ctx.proc.exitCode === null) {
    const v = storeViolations(ctx.sb, true);
    if (v.length > 0) failures.push({ seed: lastSeed, target: "store (final)", violations: v });
  }
} finally {
  await ctx.stop();
}

const elapsed = (Date.now() - started) / 1000;
const command = `bun bench/fuzz.ts --seconds ${seconds} --seed ${seed0}${maxNameBytes !== DEFAULT_MAX_NAME_BYTES ? ` --max-name-bytes ${maxNameBytes}` : ""}`;
const statuses = Object.entries(statusCounts)
  .sort(([a], [b]) => Number(a) - Number(b))
  .map(([s, n]) => `${s}: ${n}`)
  .join(", ");
const summary = [
  `seeds ${seed0}..${lastSeed} (${rounds} rounds) in ${elapsed.toFixed(1)} s`,
  `signal files: ${files} (names ≤ ${maxNameBytes} bytes)`,
  `API requests: ${requests} (statuses ${statuses})`,
  `config texts: ${configs} in process, ${cliRuns} through \`kasmos daemon config\``,
  `property violations: ${failures.length}`,
];
console.log(summary.join("\n"));

const section = [
  "## Fuzzing",
  "",
  "Seeded, bounded and reproducible (`test/fuzz/gen.ts`, mulberry32). The quick pass runs in `bun test`",
  "(`test/fuzz/fuzz.test.ts`, fixed seeds, a few seconds); the long pass rotates seeds against one",
  "compiled foreground daemon. Properties: the daemon never exits and never answers 5xx, it answers",
  "`/v1/ping` after every batch; every signal file leaves the signals folder (consumed, or in `failed/`",
  "with a `.reason`; dot-files are left alone); every signal row ends `done` or `failed` with a reason;",
  "`PRAGMA integrity_check` is ok and task statuses are valid; `parseConfigText` returns a schema-valid",
  "config or throws `ConfigError` naming the file; `kasmos daemon config` exits 0 or 1 without a stack trace.",
  "",
  "Last long pass:",
  "",
  "```sh",
  command,
  "```",
  "",
  ...summary.map((l) => `- ${l}`),
  ...failures.slice(0, 10).map((f) => `- violation, target ${f.target}, seed ${f.seed}: ${f.violations[0]!.split("\n")[0]!.slice(0, 300)}`),
  "",
  `Signal names up to ${DEFAULT_MAX_NAME_BYTES} bytes (the OS limit) are generated; quarantine shortens long ones in \`failed/\` with a hash and names the original in the \`.reason\`.`,
  "",
].join("\n");

const out = join(import.meta.dir, "..", "RELIABILITY.md");
let doc = existsSync(out) ? readFileSync(out, "utf8") : "# Reliability\n\n";
const start = doc.search(/^## Fuzzing\s*$/m);
if (start >= 0) {
  const rest = doc.slice(start + 1);
  const next = rest.search(/^## /m);
  doc = doc.slice(0, start) + section + (next >= 0 ? `\n${rest.slice(next)}` : "");
} else {
  doc = `${doc.replace(/\n*$/, "\n\n")}${section}`;
}
writeFileSync(out, doc);
console.log(`wrote the Fuzzing section of ${out}`);
process.exit(failures.length > 0 ? 1 : 0);
