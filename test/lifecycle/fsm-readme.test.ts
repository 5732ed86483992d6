// README's transition table is written from the code: it must be what the table says today.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readmeTable, transitionTableMarkdown } from "../../scripts/fsm-table.ts";
import { transitionRows } from "../../src/lifecycle/fsm.ts";

const README = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");

describe("README transition table", () => {
  test("README shows the table the code has (regenerate: bun scripts/fsm-table.ts --write)", () => {
    expect(readmeTable(README)).toBe(transitionTableMarkdown());
  });

  test("the rendered table names every edge of the code's table, with its guard", () => {
    const table = transitionTableMarkdown();
    const rows = transitionRows();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const line = table.split("\n").find((l) => l.startsWith(`| \`${r.from}\` |`));
      expect(line).toBeDefined();
      expect(line).toContain(`\`${r.event}\` → \`${r.to}\`${r.guard ? ` *(${r.guard})*` : ""}`);
    }
  });
});
