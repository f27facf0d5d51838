import { describe, expect, it } from 'vitest';
import { confLines, splitList, splitWords } from '../../src/inputs.js';

describe('splitWords', () => {
  it('splits like a shell without evaluating anything', () => {
    expect(splitWords(`-k -R "conf/a b.conf" '$(id)' \`x\``, 'bitbake-args')).toEqual(['-k', '-R', 'conf/a b.conf', '$(id)', '`x`']);
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
    expect(splitList('core-image-minimal, core-image-base\nmeta-toolchain')).toEqual(['core-image-minimal', 'core-image-base', 'meta-toolchain']);
  });
  it('skips blank lines and comments in local-conf', () => {
    expect(confLines('# rm work\nINHERIT += "rm_work"\n\n  X = "1"  \n')).toEqual(['INHERIT += "rm_work"', 'X = "1"']);
  });
});
