/**
 * What each logger writes: workflow commands through @actions/core on a runner, plain lines in a
 * terminal, where no line may act as a workflow command. Captures the process's own streams.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { actionLogger, terminalLogger } from '../../src/util/log.js';

let stdout: string;
let stderr: string;

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
});

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.SMIDR_DEBUG;
});

describe('actionLogger', () => {
  it('writes workflow commands: annotations with their place, debug lines, groups', async () => {
    actionLogger.info('plain line');
    actionLogger.debug('details');
    actionLogger.warning('Disk 91% full', { title: 'Disk nearly full' });
    actionLogger.error('unparsed line', { title: 'BitBake parse error', file: 'recipes/a.bb', line: 3 });
    actionLogger.notice('made private');
    const value = await actionLogger.group('Layers', async () => {
      actionLogger.info('inside');
      return 42;
    });
    expect(value).toBe(42);
    expect(stdout.split('\n')).toEqual([
      'plain line',
      '::debug::details',
      '::warning title=Disk nearly full::Disk 91%25 full',
      '::error title=BitBake parse error,file=recipes/a.bb,line=3::unparsed line',
      '::notice::made private',
      '::group::Layers',
      'inside',
      '::endgroup::',
      '',
    ]);
  });

  it("turns workflow commands off while BitBake's lines pass through, with a token no line can guess", () => {
    const p = actionLogger.passthrough();
    p.line('::error::from a recipe');
    p.end();
    actionLogger.passthrough().end();
    const [stop, line, resume, stopAgain] = stdout.split('\n');
    const token = /^::stop-commands::([0-9a-f]{32})$/.exec(stop!)?.[1];
    expect(token).toBeDefined();
    expect(line).toBe('::error::from a recipe');
    expect(resume).toBe(`::${token}::`);
    const again = /^::stop-commands::([0-9a-f]{32})$/.exec(stopAgain!)?.[1];
    expect(again).toBeDefined();
    expect(again).not.toBe(token);
  });
});

describe('terminalLogger', () => {
  it('writes plain lines: information on stdout, problems on stderr with their place', async () => {
    terminalLogger.info('Build directory: /w/b1');
    terminalLogger.warning('Disk 91% full', { title: 'Disk nearly full' });
    terminalLogger.error('unparsed line', { file: 'recipes/a.bb', line: 3 });
    terminalLogger.notice('made private', { file: 'smidr.yaml' });
    await terminalLogger.group('Layers', async () => terminalLogger.info('poky: …'));
    expect(stdout).toBe('Build directory: /w/b1\n\n=== Layers\npoky: …\n');
    expect(stderr).toBe(
      'warning: Disk 91% full\nerror: recipes/a.bb:3: unparsed line\nnote: smidr.yaml: made private\n',
    );
  });

  it('shows debug lines only with SMIDR_DEBUG', () => {
    terminalLogger.debug('hidden');
    process.env.SMIDR_DEBUG = '1';
    terminalLogger.debug('git fetch');
    expect(stderr).toBe('debug: git fetch\n');
  });

  it('lets no line through that a runner would take for a workflow command', async () => {
    const p = terminalLogger.passthrough();
    p.line('NOTE: Running task 1 of 2');
    p.line('::error::from a recipe');
    p.line('  ::set-output name=x::y');
    p.end();
    terminalLogger.info('::warning::a message\nsecond line');
    await terminalLogger.group('::group::x', async () => undefined);
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toEqual([
      'NOTE: Running task 1 of 2',
      '(text) ::error::from a recipe',
      '(text)   ::set-output name=x::y',
      '(text) ::warning::a message',
      'second line',
      '=== ::group::x',
    ]);
    for (const l of lines) expect(l.trimStart().startsWith('::')).toBe(false);
  });
});
