/** Reads every input of the action once, into the overrides config.ts lays over smidr.yaml. */
import * as path from 'node:path';
import * as core from '@actions/core';
import { DEFAULT_CONFIG_FILE, Inputs } from './constants.js';
import { ConfigError, type ConfigOverrides } from './config.js';

export interface ActionInputs {
  configFile: string;
  overrides: ConfigOverrides;
  workspaceDir?: string;
}

export function readInputs(env = process.env): ActionInputs {
  const get = (name: Inputs) => core.getInput(name).trim() || undefined;
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const target = get(Inputs.Target);
  const bitbakeArgs = get(Inputs.BitbakeArgs);
  const localConf = core.getInput(Inputs.LocalConf);
  const workspaceDir = get(Inputs.WorkspaceDir);
  return {
    configFile: path.resolve(workspace, get(Inputs.Config) ?? DEFAULT_CONFIG_FILE),
    overrides: {
      targets: target ? splitList(target) : undefined,
      machine: get(Inputs.Machine),
      distro: get(Inputs.Distro),
      bitbakeArgs: bitbakeArgs ? splitWords(bitbakeArgs, Inputs.BitbakeArgs) : undefined,
      localConf: localConf.trim() ? confLines(localConf) : undefined,
      containerImage: get(Inputs.ContainerImage),
      containerEngine: get(Inputs.ContainerEngine),
    },
    workspaceDir: workspaceDir ? path.resolve(workspace, workspaceDir) : undefined,
  };
}

/** Targets may be separated by spaces, commas or newlines (a YAML block or a matrix value). */
export function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** local-conf: one assignment per line; blank lines and `#` comments are skipped. */
export function confLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/**
 * Splits like a shell would split words, with '…' and "…" quoting and backslash escapes, but
 * evaluates nothing: `$(…)` stays the literal text it is.
 */
export function splitWords(text: string, input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new ConfigError(`input '${input}': unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (inWord) words.push(word);
  return words;
}
