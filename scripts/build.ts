// Builds dist/kasmos: one self-contained executable.
// --splitting keeps daemon-only modules and Node builtins in lazy chunks (fast CLI cold start);
// --bytecode needs --format=esm; the source map is embedded so traces name src/ files;
// autoloading .env / bunfig.toml is off because kasmos runs inside user repositories.
import { mkdirSync, rmSync, symlinkSync, existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import pkg from "../package.json" with { type: "json" };

export interface BuildOptions {
  target?: string; // e.g. "bun-linux-arm64"; default: this machine
  outfile?: string;
  /** The module to compile; default src/cli.ts (a test compiles one that registers a harness of its own first). */
  entry?: string;
}

export async function build(opts: BuildOptions = {}): Promise<string> {
  const root = join(import.meta.dir, "..");
  const outfile = opts.outfile ?? join(root, "dist", "kasmos");
  const outDir = dirname(outfile);
  mkdirSync(outDir, { recursive: true });
  const args = [
    "build",
    "--compile",
    "--splitting",
    "--minify",
    "--bytecode",
    "--format=esm",
    "--sourcemap",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--define=KASMOS_VERSION=${JSON.stringify(pkg.version)}`,
    ...(opts.target ? [`--target=${opts.target}`] : []),
    opts.entry ?? join(root, "src", "cli.ts"),
    "--outfile",
    outfile,
  ];
  const proc = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) {
    process.stderr.write(proc.stdout.toString() + proc.stderr.toString());
    throw new Error(`bun build failed (exit ${proc.exitCode})`);
  }
  // The embedded map is what matters; drop the side files --sourcemap also writes.
  for (const f of readdirSync(outDir)) if (f.endsWith(".map")) rmSync(join(outDir, f), { force: true });
  return outfile;
}

if (import.meta.main) {
  const out = await build();
  const kas = join(import.meta.dir, "..", "dist", "kas");
  if (existsSync(kas)) rmSync(kas);
  symlinkSync("kasmos", kas);
  console.log(`built ${out} (+ dist/kas symlink)`);
}
