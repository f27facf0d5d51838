import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { check, init } from '../../src/cli/commands.js';
import { ConfigError } from '../../src/util/errors.js';

const UPSTREAM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/upstream-smidr');

function stdoutOf(f: () => unknown): string {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    f();
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('smidr check', () => {
  afterEach(() => vi.restoreAllMocks());
  it('prints the settings, the layers and the exact auto.conf lines, with overrides named as flags', () => {
    const file = path.join(UPSTREAM, 'smidr-raspberrypi-ci.yaml');
    let code: number | undefined;
    const out = stdoutOf(() => (code = check(['--machine', 'raspberrypi3', '-t', 'core-image-base'], file)));
    expect(code).toBe(0);
    expect(out).toContain(`${file}: valid smidr.yaml config`);
    expect(out).toMatch(/^ {2}MACHINE: +raspberrypi3$/m);
    expect(out).toMatch(/^ {2}targets: +core-image-base$/m);
    expect(out).toContain('  meta-raspberrypi: git https://github.com/agherzan/meta-raspberrypi.git branch kirkstone');
    expect(out).toContain('  MACHINE = "raspberrypi3"');
    expect(out).toContain('  SSTATE_MIRRORS = "file://.* file:///home/builder/sstate-cache/PATH"');
  });
  it('-c after the command wins over the global --config', () => {
    const out = stdoutOf(() => check(['-c', path.join(UPSTREAM, 'smidr-ci.yaml')], '/nonexistent.yaml'));
    expect(out).toContain('smidr-ci.yaml: valid smidr.yaml config');
  });
  it('throws a ConfigError (exit 2) naming the flag', () => {
    expect(() => check(['--machine', 'bad name'], path.join(UPSTREAM, 'smidr-ci.yaml'))).toThrow(
      /^--machine: "bad name" is not a valid MACHINE name/,
    );
    expect(() => check(['--machine', 'bad name'], path.join(UPSTREAM, 'smidr-ci.yaml'))).toThrow(ConfigError);
  });
});

describe('smidr init', () => {
  it('writes a starter config that check accepts, and never overwrites one', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'smidr-init-')), 'smidr.yaml');
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(init(['my-product'], file)).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^name: my-product$/m);
    const out = stdoutOf(() => check([], file));
    expect(out).toContain('  poky: git https://git.yoctoproject.org/poky branch scarthgap');
    expect(() => init(['again'], file)).toThrow(/already exists/);
    vi.restoreAllMocks();
  });
});
