// `bun run release`: cross-compiles the release binaries into dist/release/ and writes SHA256SUMS
// (sha256sum format, "<hex>  <file>") so install.sh can verify downloads.
// Cross-compiling needs the target's bun runtime, which `bun build --compile --target=…` fetches
// from the npm registry on first use (then caches); a target that cannot be built is reported
// by name and the script exits 1 (the targets that did build are left in place, no SHA256SUMS).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "./build.ts";

export const TARGETS = [
  { target: "bun-linux-x64", asset: "kasmos-linux-x64" },
  { target: "bun-linux-arm64", asset: "kasmos-linux-arm64" },
] as const;

export interface ReleaseResult {
  dir: string;
  assets: { asset: string; path: string; bytes: number; sha256: string; ms: number }[];
  failed: { asset: string; target: string; error: string }[];
}

export function sha256File(path: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(readFileSync(path));
  return hasher.digest("hex");
}

function fmtBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

export async function release(dir = join(import.meta.dir, "..", "dist", "release")): Promise<ReleaseResult> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result: ReleaseResult = { dir, assets: [], failed: [] };

  for (const { target, asset } of TARGETS) {
    const outfile = join(dir, asset);
    const started = performance.now();
    try {
      await build({ target, outfile });
      const ms = Math.round(performance.now() - started);
      result.assets.push({ asset, path: outfile, bytes: statSync(outfile).size, sha256: sha256File(outfile), ms });
    } catch (e) {
      rmSync(outfile, { force: true });
      result.failed.push({ asset, target, error: e instanceof Error ? e.message : String(e) });
    }
  }
  // --sourcemap may leave side files next to the outfile; the map is embedded in the binary.
  for (const f of readdirSync(dir)) if (f.endsWith(".map")) rmSync(join(dir, f), { force: true });

  if (result.failed.length === 0) {
    const sums = result.assets.map((a) => `${a.sha256}  ${a.asset}\n`).join("");
    writeFileSync(join(dir, "SHA256SUMS"), sums);
  }
  return result;
}

if (import.meta.main) {
  const r = await release();
  for (const a of r.assets) {
    console.log(`  ${a.asset.padEnd(22)} ${fmtBytes(a.bytes).padStart(10)}  sha256 ${a.sha256}  (${(a.ms / 1000).toFixed(1)}s)`);
  }
  if (r.failed.length > 0) {
    for (const f of r.failed) {
      console.error(`release: failed to build ${f.asset} (--target=${f.target}): ${f.error}`);
    }
    console.error(
      "release: cross-compiling fetches the target bun runtime from the npm registry; check network/registry access and retry.",
    );
    process.exit(1);
  }
  console.log(`wrote ${r.assets.length} binaries + SHA256SUMS to ${r.dir}`);
}
