/** Layers as upstream Smidr resolves them: series branches, LAYERSERIES_COMPAT, the MACHINE check (real git). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { assertMachineProvided, checkoutLayers } from '../../src/bitbake/layers.js';
import type { LayerConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/util/errors.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, stdio: 'pipe' });

let root: string;
let repo: string;

function layerConf(dir: string, compat: string): void {
  mkdirSync(path.join(dir, 'conf'), { recursive: true });
  writeFileSync(
    path.join(dir, 'conf', 'layer.conf'),
    `BBFILE_COLLECTIONS += "x"\nLAYERSERIES_COMPAT_x = "${compat}"\n`,
  );
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'smidr-layers-'));
  repo = path.join(root, 'meta-vendor');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  layerConf(path.join(repo, 'meta-new'), 'kirkstone scarthgap');
  layerConf(path.join(repo, 'meta-old'), 'dunfell');
  layerConf(path.join(repo, 'meta-skeleton'), 'kirkstone');
  mkdirSync(path.join(repo, 'meta-new', 'conf', 'machine'));
  writeFileSync(path.join(repo, 'meta-new', 'conf', 'machine', 'vendor-board.conf'), '');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'layers');
  git(repo, 'branch', 'kirkstone-6.x.y');
  git(repo, 'branch', 'kirkstone-7.x.y');
});

const layer = (branch: string, branchFromSeries: boolean): LayerConfig => ({
  name: 'meta-vendor',
  source: { kind: 'git', url: `file://${repo}`, branch, branchFromSeries },
});

describe('layers that follow yocto_series', () => {
  it('take the first <series>-* branch when the series branch is missing, and keep the compatible sub-layers', async () => {
    const [r] = await checkoutLayers([layer('kirkstone', true)], path.join(root, 'store'), root, 'kirkstone');
    expect(r!.branch).toBe('kirkstone-6.x.y');
    // meta-old names only dunfell; meta-skeleton is an example layer, never built.
    expect(r!.sublayers).toEqual(['meta-new']);
  });
  it('do not fall back when the branch was written', async () => {
    await expect(checkoutLayers([layer('kirkstone', false)], path.join(root, 'store'), root)).rejects.toThrow(
      /has no branch 'kirkstone'/,
    );
  });
  it('say which series found no branch at all', async () => {
    await expect(checkoutLayers([layer('scarthgap', true)], path.join(root, 'store'), root)).rejects.toThrow(
      /has no branch 'scarthgap' \(yocto_series\) nor any 'scarthgap-\*' branch/,
    );
  });
});

describe('the MACHINE check', () => {
  it('passes when a sub-layer provides conf/machine/<machine>.conf, and names the layers searched when none does', async () => {
    const layers = await checkoutLayers([layer('kirkstone', true)], path.join(root, 'store'), root, 'kirkstone');
    expect(() => assertMachineProvided(layers, 'vendor-board')).not.toThrow();
    expect(() => assertMachineProvided(layers, 'verdin-imx8mp')).toThrow(ConfigError);
    expect(() => assertMachineProvided(layers, 'verdin-imx8mp')).toThrow(
      'MACHINE "verdin-imx8mp" is provided by no layer: no conf/machine/verdin-imx8mp.conf in meta-vendor/meta-new; expected its BSP layer under layers, or another machine',
    );
  });
});
