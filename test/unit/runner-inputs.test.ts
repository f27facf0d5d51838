/** The runner inputs: rm_work's default by runner, its exclusions, and auto/true/false switches. */
import { afterEach, describe, expect, it } from 'vitest';

import { autoSwitch, readRunnerInputs } from '../../src/action/runner-inputs.js';

const INPUTS = ['INPUT_RM-WORK', 'INPUT_RM-WORK-EXCLUDE', 'INPUT_FREE-DISK-SPACE'];
afterEach(() => {
  for (const k of INPUTS) delete process.env[k];
});

describe('rm-work', () => {
  it('is on by default on GitHub-hosted runners only', () => {
    expect(readRunnerInputs({ RUNNER_ENVIRONMENT: 'github-hosted' }).rmWork).toEqual({ exclude: [] });
    expect(readRunnerInputs({ RUNNER_ENVIRONMENT: 'self-hosted' }).rmWork).toBeUndefined();
    expect(readRunnerInputs({}).rmWork).toBeUndefined();
  });

  it('follows true and false whatever the runner, with its exclusion list', () => {
    process.env['INPUT_RM-WORK'] = 'true';
    process.env['INPUT_RM-WORK-EXCLUDE'] = 'linux-yocto, gtk+3\nbusybox';
    expect(readRunnerInputs({ RUNNER_ENVIRONMENT: 'self-hosted' }).rmWork).toEqual({
      exclude: ['linux-yocto', 'gtk+3', 'busybox'],
    });
    process.env['INPUT_RM-WORK'] = 'false';
    expect(readRunnerInputs({ RUNNER_ENVIRONMENT: 'github-hosted' }).rmWork).toBeUndefined();
  });

  it('names the input for a recipe name that is not one', () => {
    process.env['INPUT_RM-WORK-EXCLUDE'] = 'busybox "x';
    expect(() => readRunnerInputs({})).toThrow(/input 'rm-work-exclude': ""x" is not a recipe name/);
  });
});

describe('autoSwitch', () => {
  it('reads auto, the YAML booleans, and empty as auto', () => {
    expect(['', 'auto', 'true', 'True', 'false', 'FALSE'].map((t) => autoSwitch(t, 'x'))).toEqual([
      'auto',
      'auto',
      'true',
      'true',
      'false',
      'false',
    ]);
    expect(() => autoSwitch('yes', 'free-disk-space')).toThrow(
      /input 'free-disk-space': "yes" is not one of auto, true, false/,
    );
  });
});
