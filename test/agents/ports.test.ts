// KASMOS_PORT allocation: one port per live agent, persisted across a daemon restart, freed when the
// agent ends, and a full range refused with a message.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PortPool } from "../../src/agents/ports.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function pool(): { make: () => PortPool; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "kports-"));
  dirs.push(dir);
  const file = (project: string, title: string) => {
    mkdirSync(join(dir, project, title), { recursive: true });
    return join(dir, project, title, "port");
  };
  return { make: () => new PortPool(file), dir };
}

describe("PortPool", () => {
  test("distinct ports for live agents; persisted; a restarted daemon never hands out a live agent's port", () => {
    const { make, dir } = pool();
    const p = make();
    const live: { project: string; title: string }[] = [];
    const got: number[] = [];
    for (const title of ["a", "b", "c"]) {
      const g = p.take("41000-41002", "shop", title, live);
      expect(g.error).toBeNull();
      got.push(g.port!);
      live.push({ project: "shop", title });
    }
    expect(got).toEqual([41000, 41001, 41002]);
    expect(readFileSync(join(dir, "shop", "b", "port"), "utf8")).toBe("41001\n");
    // Full: refused with the reason.
    const full = p.take("41000-41002", "shop", "d", live);
    expect(full.port).toBeNull();
    expect(full.error).toContain("no free port in [worktree] ports 41000-41002");
    // A new daemon (empty memory) adopts a and c; b ended: b's port is the only free one.
    const restarted = make();
    const adopted = [live[0]!, live[2]!];
    expect(restarted.take("41000-41002", "shop", "e", adopted)).toEqual({ port: 41001, error: null });
    // "" = no KASMOS_PORT.
    expect(restarted.take("", "shop", "f", adopted)).toEqual({ port: null, error: null });
  });

  test("a start under way holds its port until its agent is live or the reservation lapses; an ended agent's port is free at once", () => {
    const { make } = pool();
    const p = make();
    expect(p.take("41000-41001", "x", "a", []).port).toBe(41000);
    // a's start is under way (no agent row yet): b gets another port, and c none.
    expect(p.take("41000-41001", "x", "b", []).port).toBe(41001);
    expect(p.take("41000-41001", "x", "c", []).error).toContain("no free port");
    // a and b are live; then a ends: its port is free for c at once.
    expect(p.take("41000-41001", "x", "c", [{ project: "x", title: "a" }, { project: "x", title: "b" }]).error).toContain("no free port");
    expect(p.take("41000-41001", "x", "c", [{ project: "x", title: "b" }]).port).toBe(41000);
  });
});
