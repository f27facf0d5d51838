import { describe, expect, it } from 'vitest';

import {
  confLines,
  parseBoolean,
  parsePositive,
  parseSize,
  resolveCacheMode,
  splitList,
  splitWords,
} from '../../src/action/inputs.js';

describe('splitWords', () => {
  it('splits like a shell without evaluating anything', () => {
    expect(splitWords(`-k -R "conf/a b.conf" '$(id)' \`x\``, 'bitbake-args')).toEqual([
      '-k',
      '-R',
      'conf/a b.conf',
      '$(id)',
      '`x`',
    ]);
  });
  it('keeps an empty quoted word and escaped spaces', () => {
    expect(splitWords(`a "" b\\ c`, 'bitbake-args')).toEqual(['a', '', 'b c']);
  });
  it('names the input on an unterminated quote', () => {
    expect(() => splitWords(`-k "oops`, 'bitbake-args')).toThrow(/input 'bitbake-args': unterminated " quote/);
  });
});

describe('splitList and confLines', () => {
  it('accepts spaces, commas and newlines between targets', () => {
    expect(splitList('core-image-minimal, core-image-base\nmeta-toolchain')).toEqual([
      'core-image-minimal',
      'core-image-base',
      'meta-toolchain',
    ]);
  });
  it('skips blank lines and comments in local-conf', () => {
    expect(confLines('# rm work\nINHERIT += "rm_work"\n\n  X = "1"  \n')).toEqual(['INHERIT += "rm_work"', 'X = "1"']);
  });
});

describe('cache inputs', () => {
  it('reads sizes in binary units', () => {
    expect(parseSize('8G', 'cache-size-limit')).toBe(8 * 1024 ** 3);
    expect(parseSize('500m', 'cache-size-limit')).toBe(500 * 1024 ** 2);
    expect(parseSize('10GB', 'cache-size-limit')).toBe(10 * 1024 ** 3);
    expect(parseSize('1.5GiB', 'cache-size-limit')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('4096', 'cache-size-limit')).toBe(4096);
    expect(() => parseSize('lots', 'cache-size-limit')).toThrow(/input 'cache-size-limit': "lots" is not a size/);
  });
  it('reads booleans as core.getBooleanInput does, naming the input otherwise', () => {
    expect(parseBoolean('True', 'save')).toBe(true);
    expect(parseBoolean('false', 'save')).toBe(false);
    expect(() => parseBoolean('yes', 'save')).toThrow(/input 'save': "yes" is not a boolean/);
  });
  it('reads a positive number of minutes or days, naming the input otherwise', () => {
    expect(parsePositive('0.5', 'stop-after', 'minutes', 330)).toBe(0.5);
    expect(parsePositive('330', 'stop-after', 'minutes', 330)).toBe(330);
    for (const bad of ['0', '-5', '5m', '', '1e3']) {
      expect(() => parsePositive(bad, 'stop-after', 'minutes', 330)).toThrow(
        `input 'stop-after': "${bad}" is not a number of minutes; expected a positive number, e.g. 330`,
      );
    }
  });
  it('uses the cache service on GitHub-hosted runners and the host on self-hosted ones', () => {
    expect(resolveCacheMode('auto', { RUNNER_ENVIRONMENT: 'github-hosted' })).toBe('actions');
    expect(resolveCacheMode('auto', { RUNNER_ENVIRONMENT: 'self-hosted' })).toBe('local');
    expect(resolveCacheMode('off', { RUNNER_ENVIRONMENT: 'self-hosted' })).toBe('off');
  });
});
