/**
 * The cache round-trip benchmark's synthetic sstate tree must look like sstate to the action:
 * names its parser reads, real superseded groups for pruning to find, the promised sizes. Only the
 * plan (names and sizes) is tested here; no file is written and no benchmark runs.
 */
import { describe, expect, it } from 'vitest';

import { planTree } from '../../bench/support/sstate-tree.js';
import { parseSstateName, planPrune, type SstateObject } from '../../src/cache/sstate.js';

const params = { totalBytes: 300 * 2 ** 20, objects: 1000, staleShare: 0.25, seed: 6 };

describe('the benchmark sstate tree', () => {
  const plan = planTree(params);

  it('is the same for the same seed, and another for another', () => {
    expect(planTree(params)).toEqual(plan);
    expect(planTree({ ...params, seed: 7 })[0]!.path).not.toBe(plan[0]!.path);
  });

  it('has the asked number of objects, OE-core names in <h0h1>/<h2h3>/ directories, native ones under universal/', () => {
    expect(plan).toHaveLength(1000);
    expect(new Set(plan.map((o) => o.path)).size).toBe(1000);
    for (const o of plan) {
      const parsed = parseSstateName(o.path.split('/').at(-1)!);
      expect(parsed, o.path).toBeDefined();
      expect(o.path.replace(/^universal\//, '').slice(0, 5)).toBe(
        `${parsed!.unihash.slice(0, 2)}/${parsed!.unihash.slice(2, 4)}`,
      );
    }
    expect(plan.some((o) => o.path.startsWith('universal/') && o.path.includes('-native:x86_64-linux:'))).toBe(true);
  });

  it('spreads sizes from 1 KiB to tens of MB and adds up to the total', () => {
    const sizes = plan.map((o) => o.bytes).sort((a, b) => a - b);
    expect(sizes[0]).toBe(1024);
    expect(sizes.at(-1)!).toBeGreaterThan(20 * 2 ** 20);
    expect(sizes[500]!).toBeLessThan(100 * 1024);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - params.totalBytes) / params.totalBytes).toBeLessThan(0.02);
  });

  it("marks as stale exactly what the action's pruning drops when only the current objects were used", () => {
    const used = 2_000_000;
    const objects: SstateObject[] = plan.map((o) => {
      const name = parseSstateName(o.path.split('/').at(-1)!)!;
      return { ...name, path: o.path, bytes: o.bytes, companions: [], mtimeMs: o.stale ? 1_000_000 : used };
    });
    const pruned = planPrune(objects, { buildStartedMs: used, restored: new Set(plan.map((o) => o.path)) });
    expect(pruned.drop.map((d) => d.object.path).sort()).toEqual(
      plan
        .filter((o) => o.stale)
        .map((o) => o.path)
        .sort(),
    );
  });
});
