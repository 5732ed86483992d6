// Quick fuzz pass (fixed seeds, bounded, a few seconds): random signal files, random API requests and
// random daemon.toml texts against one compiled foreground daemon. The long pass with rotating seeds
// is `bun run fuzz` (bench/fuzz.ts). A failure message names the seed; re-run the long pass with
// `--seed <S>` to reproduce.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request, fuzzApi, fuzzConfig, fuzzConfigCli, fuzzSignals, Rng, signalName, startFuzzDaemon, storeViolations } from "./gen.ts";

const SEEDS = [1, 2, 3];
let ctx: Awaited<ReturnType<typeof startFuzzDaemon>>;

beforeAll(async () => {
  ctx = await startFuzzDaemon();
});
afterAll(async () => {
  await ctx?.stop();
});

describe("fuzz (quick pass)", () => {
  test("generators are deterministic per seed and produce valid file names", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 500; i++) {
      const n = signalName(a, ["t"], 255);
      expect(signalName(b, ["t"], 255)).toBe(n);
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
      expect(n).not.toMatch(/[/\0]/);
    }
  });

  for (const seed of SEEDS) {
    test(`signal files, seed ${seed}`, async () => {
      expect(await fuzzSignals(ctx, new Rng(seed), 60)).toEqual([]);
    });
  }

  for (const seed of SEEDS) {
    test(`API requests, seed ${seed}`, async () => {
      expect(await fuzzApi(ctx, new Rng(1000 + seed), 150)).toEqual([]);
    });
  }

  test("the store is consistent after the API batches (signal rows settle)", async () => {
    let v = storeViolations(ctx.sb, true);
    for (let i = 0; i < 50 && v.length > 0; i++) {
      await Bun.sleep(100);
      v = storeViolations(ctx.sb, true);
    }
    expect(v).toEqual([]);
    expect(ctx.proc.exitCode).toBeNull();
  });

  // Known bug (src/signals/files.ts quarantineFile): failed/<name>.reason and failed/<name>.<time> are
  // built by appending to the name, so a legal 249..255-byte name loses its reason (ENAMETOOLONG on
  // the .reason write, after the rename) and a 231..255-byte name quarantined a second time never
  // leaves signals/ (rename to failed/<name>.<time> fails on every pass, logged as ERROR); 224..230
  // bytes quarantined twice: the second copy loses its reason (failed/<name>.<time>.reason too long).
  // Fixed: long names are shortened with a hash in failed/ and the .reason names the original.
  const drop = (name: string) => {
    const dir = join(ctx.repo, ".kasmos", "signals");
    writeFileSync(join(dir, ".fz-long"), "");
    renameSync(join(dir, ".fz-long"), join(dir, name));
  };
  const settle = async (name: string) => {
    for (let i = 0; i < 30 && existsSync(join(ctx.repo, ".kasmos", "signals", name)); i++) {
      await request(ctx.sb.socket, "POST", "/v1/scan", "{}");
      await Bun.sleep(50);
    }
  };
  test("a 249-byte signal name is quarantined (under a shortened name) with its .reason naming the original", async () => {
    const name = `planner-finished-${"y".repeat(232)}`;
    drop(name);
    await settle(name);
    expect(existsSync(join(ctx.repo, ".kasmos", "signals", name))).toBe(false);
    const failedDir = join(ctx.repo, ".kasmos", "signals", "failed");
    const reasons = readdirSync(failedDir).filter((f) => f.endsWith(".reason")).map((f) => readFileSync(join(failedDir, f), "utf8"));
    expect(reasons.some((r) => r.includes(`original name: ${name}`))).toBe(true);
  });
  test("a 240-byte signal name quarantined twice leaves the signals folder both times", async () => {
    const name = `review-approved-${"z".repeat(224)}`;
    for (let round = 0; round < 2; round++) {
      drop(name);
      await settle(name);
      expect(existsSync(join(ctx.repo, ".kasmos", "signals", name))).toBe(false);
    }
  });

  test("config texts in process, seeds 1-3", () => {
    for (const seed of SEEDS) expect(fuzzConfig(new Rng(2000 + seed), 1500)).toEqual([]);
  });

  test("config texts through `kasmos daemon config --config`", async () => {
    expect(await fuzzConfigCli(ctx.sb, new Rng(3001), 6)).toEqual([]);
  });
});
