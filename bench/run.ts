// Benchmark runner: `bun bench/run.ts` runs every bench in BENCHES in order, prints a table and
// rewrites BENCHMARKS.md; `bun bench/run.ts <name> [<name>…]` runs only those benches and replaces
// just their sections in an existing BENCHMARKS.md. `bun run bench` builds dist/kasmos first.
//
// To add a bench: create bench/<name>.ts exporting `run(): Promise<BenchResult>` (see bench/lib.ts)
// and append an entry below.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { release, totalmem, availableParallelism } from "node:os";
import { join } from "node:path";
import { assertBinary, type BenchModule, type BenchResult, type Figure, ROOT } from "./lib.ts";

interface BenchEntry {
  name: string;
  title: string;
  load: () => Promise<BenchModule>;
}

export const BENCHES: BenchEntry[] = [
  { name: "cold-start", title: "CLI cold start", load: () => import("./cold-start.ts") },
  { name: "idle-rss", title: "Daemon idle RSS", load: () => import("./idle-rss.ts") },
  { name: "latency", title: "Sequential request latency", load: () => import("./latency.ts") },
  { name: "concurrency", title: "Concurrent clients", load: () => import("./concurrency.ts") },
  { name: "signal-latency", title: "Signal file → committed transition latency", load: () => import("./signal-latency.ts") },
  { name: "signal-burst", title: "Signal burst (10 repos × 1,000 files)", load: () => import("./signal-burst.ts") },
  { name: "idle-100-repos", title: "Idle daemon with 100 repos", load: () => import("./idle-100-repos.ts") },
  { name: "agent-latency", title: "Signal → next agent's tmux session", load: () => import("./agent-latency.ts") },
  { name: "agent-start-sandbox", title: "Agent start sandboxed vs not (signal → agent program running)", load: () => import("./agent-start-sandbox.ts") },
  { name: "agent-load", title: "Agent load (20 tasks × 3 parallel wave coders)", load: () => import("./agent-load.ts") },
  { name: "notify-slow", title: "Signals while webhooks hang or are dead", load: () => import("./notify-slow.ts") },
  { name: "agents-live", title: "40 live agents with state tracking (hooks) vs none", load: () => import("./agents-live.ts") },
  { name: "fleet-agents", title: "Signal → transition and SSE latency at 0/10/40/100 live (sandboxed) agents, start and stop storms, 450 k old agent rows", load: () => import("./fleet-agents.ts") },
  { name: "history", title: "Long history: 1 k vs 1 M finished signals", load: () => import("./history.ts") },
  { name: "start-many-repos", title: "Daemon start with 10 / 300 / 500 registered repos", load: () => import("./start-many-repos.ts") },
  { name: "idle-500-repos", title: "Idle daemon with 500 repos and 5,000 tasks", load: () => import("./idle-500-repos.ts") },
  { name: "load-mixed", title: "Mixed load (50 API clients + signal storm over 20 repos)", load: () => import("./load-mixed.ts") },
  { name: "web", title: "Dashboard: first load, live transitions and terminal, assets, CPU", load: () => import("./web.ts") },
];

const OUT = join(ROOT, "BENCHMARKS.md");
const COMMAND = "bun run bench";

interface Outcome {
  entry: BenchEntry;
  result: BenchResult | null;
  error: string | null;
  seconds: number;
  at: Date;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmtValue(f: Figure): string {
  const v = Number.isInteger(f.value) && Math.abs(f.value) >= 10_000 ? f.value.toLocaleString("en-US") : String(f.value);
  if (f.unit === "") return v;
  if (f.unit === "×" || f.unit === "%") return `${v}${f.unit}`;
  return `${v} ${f.unit}`;
}

function verdict(f: Figure): string {
  if (f.pass === undefined) return "—";
  return f.pass ? "PASS" : "FAIL";
}

function machine(): { nproc: string; model: string; kernel: string; bun: string; mem: string } {
  let nproc = String(availableParallelism());
  const np = Bun.spawnSync(["nproc"], { stdout: "pipe", stderr: "ignore", timeout: 5_000 });
  if (np.exitCode === 0) nproc = np.stdout.toString().trim();
  let model = "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m?.[1]) model = m[1].trim();
  } catch {
    // no /proc/cpuinfo
  }
  return {
    nproc,
    model,
    kernel: release(),
    bun: `${Bun.version} (${Bun.revision.slice(0, 9)})`,
    mem: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
  };
}

function printTable(outcomes: Outcome[]): void {
  const rows: string[][] = [["bench", "figure", "value", "target", "verdict"]];
  for (const o of outcomes) {
    if (!o.result) {
      rows.push([o.entry.name, "ERROR", o.error ?? "", "", "FAIL"]);
      continue;
    }
    for (const f of o.result.figures) rows.push([o.entry.name, f.label.replaceAll("`", ""), fmtValue(f), f.target ?? "", verdict(f)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd();
  console.log(line(rows[0]!));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  let prev = "";
  for (const r of rows.slice(1)) {
    const name = r[0] ?? "";
    console.log(line([name === prev ? "" : name, ...r.slice(1)]));
    prev = name;
  }
}

function section(o: Outcome): string {
  const lines = [`<!-- bench:${o.entry.name} -->`, `## ${o.entry.title} (\`${o.entry.name}\`)`, ""];
  lines.push(`_Measured ${o.at.toISOString()} in ${o.seconds.toFixed(1)} s; run alone with \`bun bench/run.ts ${o.entry.name}\`._`, "");
  if (!o.result) {
    lines.push(`**ERROR:** ${o.error ?? "unknown"}`);
  } else {
    lines.push("| figure | value | target | verdict |", "|---|---:|---|---|");
    for (const f of o.result.figures) lines.push(`| ${f.label} | ${fmtValue(f)} | ${f.target ?? ""} | ${verdict(f)} |`);
    if (o.result.notes.length > 0) {
      lines.push("");
      for (const n of o.result.notes) lines.push(`- ${n}`);
    }
  }
  lines.push(`<!-- /bench:${o.entry.name} -->`);
  return lines.join("\n");
}

function header(at: Date): string {
  const m = machine();
  return [
    "# Benchmarks",
    "",
    "Generated by `bench/run.ts`; do not edit by hand. Re-run to refresh.",
    "",
    `- **Date:** ${at.toISOString()}`,
    `- **Machine:** ${m.nproc} CPU (nproc), ${m.model}, ${m.mem} RAM, Linux ${m.kernel}`,
    `- **Bun:** ${m.bun}`,
    `- **Command:** \`${COMMAND}\` (builds \`dist/kasmos\`, then runs \`bun bench/run.ts\`)`,
    "",
    "Every bench runs the compiled `dist/kasmos` as a foreground daemon in a throw-away HOME / XDG_RUNTIME_DIR under /tmp, and kills it by PID afterwards.",
    "",
  ].join("\n");
}

/**
 * The sections written by hand (`<!-- issue-20 -->` … `<!-- /issue-20 -->`: before/after tables of
 * runs no single bench makes), kept by a full run, which rewrites the rest.
 */
function handSections(text: string): string[] {
  return [...text.matchAll(/<!-- ([a-z0-9-]+) -->[\s\S]*?<!-- \/\1 -->/g)].map((m) => m[0]);
}

function writeReport(outcomes: Outcome[], full: boolean, startedAt: Date): void {
  const sections = outcomes.map(section);
  if (full || !existsSync(OUT)) {
    const kept = existsSync(OUT) ? handSections(readFileSync(OUT, "utf8")) : [];
    writeFileSync(OUT, `${header(startedAt)}\n${[...sections, ...kept].join("\n\n")}\n`);
    return;
  }
  // Partial run: replace only the sections that ran, keep the rest (and the header) untouched.
  let text = readFileSync(OUT, "utf8");
  for (let i = 0; i < outcomes.length; i++) {
    const name = outcomes[i]!.entry.name;
    const body = sections[i]!;
    const start = text.indexOf(`<!-- bench:${name} -->`);
    const endMarker = `<!-- /bench:${name} -->`;
    const end = text.indexOf(endMarker);
    if (start >= 0 && end > start) text = text.slice(0, start) + body + text.slice(end + endMarker.length);
    else text = `${text.trimEnd()}\n\n${body}\n`;
  }
  writeFileSync(OUT, text);
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const wanted = argv.filter((a) => !a.startsWith("-"));
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(", ")} (available: ${BENCHES.map((b) => b.name).join(", ")})`);
    return 2;
  }
  assertBinary();
  const selected = wanted.length > 0 ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
  const startedAt = new Date();
  const outcomes: Outcome[] = [];
  for (const entry of selected) {
    process.stderr.write(`running ${entry.name}…\n`);
    const at = new Date();
    const t0 = performance.now();
    try {
      const mod = await entry.load();
      const result = await mod.run();
      outcomes.push({ entry, result, error: null, seconds: (performance.now() - t0) / 1000, at });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`  ${entry.name} failed: ${msg}\n`);
      outcomes.push({ entry, result: null, error: msg, seconds: (performance.now() - t0) / 1000, at });
    }
  }
  printTable(outcomes);
  writeReport(outcomes, wanted.length === 0, startedAt);
  const total = (Date.now() - startedAt.getTime()) / 1000;
  const failed = outcomes.filter((o) => !o.result || o.result.figures.some((f) => f.pass === false));
  console.log(`\n${outcomes.length} bench(es) in ${total.toFixed(1)} s; ${failed.length === 0 ? "all targets met" : `targets missed or errors in: ${failed.map((o) => o.entry.name).join(", ")}`}; wrote ${OUT}`);
  return outcomes.some((o) => !o.result) ? 1 : 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
