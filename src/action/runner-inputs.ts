/**
 * The inputs about the runner rather than the build: rm_work, freeing disk space, buildtools.
 * Their defaults depend on the runner: a GitHub-hosted machine is small and starts empty, a
 * self-hosted one is the owner's and keeps its tools.
 */
import * as core from '@actions/core';

import { ConfigError } from '../util/errors.js';
import { AUTO_SWITCH, type AutoSwitch, Inputs } from './constants.js';

export interface RunnerInputs {
  /** INHERIT += "rm_work", keeping the work directories of `exclude`; undefined: off. */
  rmWork?: { exclude: string[] };
  freeDiskSpace: AutoSwitch;
  /** Whether the runner is a GitHub-hosted machine (RUNNER_ENVIRONMENT). */
  githubHosted: boolean;
}

const RECIPE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function readRunnerInputs(env: NodeJS.ProcessEnv): RunnerInputs {
  const githubHosted = env.RUNNER_ENVIRONMENT === 'github-hosted';
  const rmWork = autoSwitch(core.getInput(Inputs.RmWork).trim(), Inputs.RmWork);
  const exclude = core
    .getInput(Inputs.RmWorkExclude)
    .split(/[\s,]+/)
    .filter(Boolean);
  for (const r of exclude) {
    if (!RECIPE.test(r))
      throw new ConfigError(
        `input '${Inputs.RmWorkExclude}': "${r}" is not a recipe name; list recipe names (PN), e.g. linux-yocto busybox`,
      );
  }
  const on = rmWork === 'auto' ? githubHosted : rmWork === 'true';
  return {
    rmWork: on ? { exclude } : undefined,
    freeDiskSpace: autoSwitch(core.getInput(Inputs.FreeDiskSpace).trim(), Inputs.FreeDiskSpace),
    githubHosted,
  };
}

/** auto, true or false (the YAML boolean spellings too); empty is auto. */
export function autoSwitch(text: string, input: string): AutoSwitch {
  if (text === '' || text === 'auto') return 'auto';
  if (['true', 'True', 'TRUE'].includes(text)) return 'true';
  if (['false', 'False', 'FALSE'].includes(text)) return 'false';
  throw new ConfigError(`input '${input}': "${text}" is not one of ${AUTO_SWITCH.join(', ')}`);
}
