// The whole suite as two `bun test` processes at once: the real-CLI tests (test/real-agents) beside
// everything else. The real-CLI tests spend most of their time waiting — on the CLIs' own retries, on
// usage-limit resets, on model servers — so run one after the other (`bun run test:sequential`) the suite takes 12 minutes of which
// the machine was idle for much; side by side it stays under 10 on 2 cores. Each group's output is
// printed whole when it ends (interleaved lines would be unreadable), then one summary of both, in bun's
// own words, so tools that read `N pass` / `N fail` read the total. Extra arguments go to both groups.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const NOT_TESTS = new Set(["real-agents", "helpers", "fixtures"]);
const rest = readdirSync(join(root, "test"))
  .filter((name) => !NOT_TESTS.has(name))
  .map((name) => (statSync(join(root, "test", name)).isDirectory() ? `./test/${name}/` : `./test/${name}`));
const extra = process.argv.slice(2);
const groups = [
  { name: "real agent CLIs (test/real-agents)", args: ["test", "--timeout", "300000", "./test/real-agents/", ...extra] },
  { name: "everything else", args: ["test", "--timeout", "60000", ...rest, ...extra] },
];

interface Outcome {
  name: string;
  code: number;
  output: string;
  counts: Record<"pass" | "fail" | "skip" | "todo", number>;
}

/** bun's closing summary (" 12 pass", " 0 fail", …): the last of each. */
function counts(output: string): Outcome["counts"] {
  const c = { pass: 0, fail: 0, skip: 0, todo: 0 };
  for (const kind of Object.keys(c) as (keyof typeof c)[]) {
    const all = [...output.matchAll(new RegExp(`^ *(\\d+) ${kind}$`, "gm"))];
    c[kind] = Number(all.at(-1)?.[1] ?? 0);
  }
  return c;
}

async function run(g: (typeof groups)[number]): Promise<Outcome> {
  const proc = Bun.spawn([process.execPath, ...g.args], { cwd: root, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: process.env });
  // bun test writes its report to stderr; both streams are kept, in order of arrival per stream.
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const output = `${out}${err}`;
  await print(`\n==== ${g.name}: bun ${g.args.join(" ")}\n${output}`);
  return { name: g.name, code, output, counts: counts(output) };
}

/**
 * Writes to stdout one after the other, each awaited whole: a group's output is large, and a write
 * still draining into a pipe let the summary land before the end of it, where a reader of the last
 * "N pass" line took one group's count for the total.
 */
let printing: Promise<unknown> = Promise.resolve();
function print(text: string): Promise<unknown> {
  printing = printing.then(() => Bun.write(Bun.stdout, text));
  return printing;
}

await print(`running ${groups.length} groups side by side: ${groups.map((g) => g.name).join("; ")} (each printed when it ends)\n`);
const outcomes = await Promise.all(groups.map(run));
const total = { pass: 0, fail: 0, skip: 0, todo: 0 };
for (const o of outcomes) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += o.counts[k];
let failed = false;
const lines: string[] = [];
for (const o of outcomes) {
  // A group that ended badly without a failing test (a crash, a timeout of the runner) still fails the suite.
  const bad = o.code !== 0 || o.counts.fail > 0 || o.counts.pass === 0;
  if (bad) failed = true;
  lines.push(`${o.name}: ${o.counts.pass} pass, ${o.counts.fail} fail${o.counts.skip ? `, ${o.counts.skip} skip` : ""} (exit ${o.code})${bad && o.counts.fail === 0 ? " — ended without its summary or with an error: see its output above" : ""}`);
}
if (failed && total.fail === 0) total.fail = 1;
lines.push("", ` ${total.pass} pass`);
if (total.skip) lines.push(` ${total.skip} skip`);
if (total.todo) lines.push(` ${total.todo} todo`);
lines.push(` ${total.fail} fail`, "");
await print(lines.join("\n"));
process.exit(failed ? 1 : 0);
