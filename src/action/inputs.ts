/** Reads every input of the action once, into the overrides config.ts lays over smidr.yaml. */
import * as path from 'node:path';

import * as core from '@actions/core';

import type { CleanupSettings } from '../cache/cleanup.js';
import { type HashServer, parseHashServer } from '../cache/remote/hashserve.js';
import { parseBucketUrl, type RemoteSettings } from '../cache/remote/location.js';
import { type ConfigOverrides, type OverrideField, type OverrideNaming } from '../config/config.js';
import { kasFileList } from '../config/kas/load.js';
import { ConfigError } from '../util/errors.js';
import { CACHE_MODES, type CacheModeInput, DEFAULT_CONFIG_FILE, Inputs, UNTRUSTED_EVENTS } from './constants.js';
import { readRunnerInputs, type RunnerInputs } from './runner-inputs.js';

export interface ActionInputs {
  configFile: string;
  overrides: ConfigOverrides;
  workspaceDir?: string;
  cache: CacheInputs;
  /** Minutes after the main step started at which BitBake is stopped gracefully. */
  stopAfterMinutes?: number;
  report: ReportInputs;
  runner: RunnerInputs;
  /** A shared bitbake-hashserv (the hashserve input); else BitBake's local auto server. */
  hashServe?: HashServer;
  /** Upload the files smidr.yaml's artifacts select as a workflow artifact. */
  uploadArtifacts: boolean;
  /** Validate and print the config, then stop: no network, Docker or BitBake. */
  checkOnly: boolean;
}

export interface ReportInputs {
  /** Write the job summary. */
  summary: boolean;
}

export type CacheMode = 'actions' | 'local' | 'remote' | 'off';

export interface CacheInputs {
  mode: CacheMode;
  /** cache: remote: the bucket. */
  remote?: RemoteSettings;
  /** Root of the persistent cache directories (local mode); else smidr.yaml's directories. */
  dir?: string;
  keyPrefix: string;
  save: boolean;
  /** Why save is what it is, for the log and the summary. */
  saveReason: string;
  saveOnFailure: boolean;
  sizeLimitBytes?: number;
  /** Longest one restore or save may take; a service slower than that counts as down. */
  timeoutMs: number;
  sstateMaxAgeDays: number;
  workspaceMaxAgeDays: number;
}

/** The input each override comes from. */
const OVERRIDE_INPUTS: Record<OverrideField, Inputs> = {
  config: Inputs.Config,
  targets: Inputs.Target,
  machine: Inputs.Machine,
  distro: Inputs.Distro,
  bitbakeArgs: Inputs.BitbakeArgs,
  localConf: Inputs.LocalConf,
  containerImage: Inputs.ContainerImage,
  containerEngine: Inputs.ContainerEngine,
  buildtools: Inputs.Buildtools,
  buildtoolsSha256: Inputs.BuildtoolsSha256,
};

/** Config errors about an override name the input: `input 'machine': …`. */
export const INPUT_NAMING: OverrideNaming = {
  label: (field) => `input '${OVERRIDE_INPUTS[field]}'`,
  mention: (field) => `the '${OVERRIDE_INPUTS[field]}' input`,
};

export function readInputs(env = process.env): ActionInputs {
  const get = (name: Inputs) => core.getInput(name).trim() || undefined;
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const target = get(Inputs.Target);
  const bitbakeArgs = get(Inputs.BitbakeArgs);
  const localConf = core.getInput(Inputs.LocalConf);
  const workspaceDir = get(Inputs.WorkspaceDir);
  const stopAfter = get(Inputs.StopAfter);
  const hashserve = get(Inputs.Hashserve);
  return {
    // A kas list (`kas/base.yml:kas/ci.yml`): each file relative to the workspace.
    configFile: kasFileList(path.resolve(workspace, get(Inputs.Config) ?? DEFAULT_CONFIG_FILE))
      .map((f) => path.resolve(workspace, f))
      .join(':'),
    overrides: {
      targets: target ? splitList(target) : undefined,
      machine: get(Inputs.Machine),
      distro: get(Inputs.Distro),
      bitbakeArgs: bitbakeArgs ? splitWords(bitbakeArgs, Inputs.BitbakeArgs) : undefined,
      localConf: localConf.trim() ? confLines(localConf) : undefined,
      containerImage: get(Inputs.ContainerImage),
      containerEngine: get(Inputs.ContainerEngine),
      buildtools: get(Inputs.Buildtools),
      buildtoolsSha256: get(Inputs.BuildtoolsSha256),
    },
    workspaceDir: workspaceDir ? path.resolve(workspace, workspaceDir) : undefined,
    cache: readCacheInputs(env, workspace),
    report: readReportInputs(),
    runner: readRunnerInputs(env),
    stopAfterMinutes: stopAfter ? parsePositive(stopAfter, Inputs.StopAfter, 'minutes', 330) : undefined,
    hashServe: hashserve ? parseHashServer(hashserve, `input '${Inputs.Hashserve}'`) : undefined,
    uploadArtifacts: booleanInput(Inputs.UploadArtifacts, false),
    checkOnly: booleanInput(Inputs.CheckOnly, false),
  };
}

function booleanInput(name: Inputs, fallback: boolean): boolean {
  const text = core.getInput(name).trim();
  return text === '' ? fallback : parseBoolean(text, name);
}

function readReportInputs(): ReportInputs {
  const summary = core.getInput(Inputs.Summary).trim();
  return { summary: summary === '' ? true : parseBoolean(summary, Inputs.Summary) };
}

function readCacheInputs(env: NodeJS.ProcessEnv, workspace: string): CacheInputs {
  const get = (name: Inputs) => core.getInput(name).trim();
  const mode = get(Inputs.Cache) || 'auto';
  if (!(CACHE_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      `input '${Inputs.Cache}': "${mode}" is not a cache mode; expected one of ${CACHE_MODES.join(', ')}`,
    );
  }
  const event = env.GITHUB_EVENT_NAME ?? '';
  const saveInput = get(Inputs.Save);
  const save = saveInput === '' ? !pullRequestBuild(env) : parseBoolean(saveInput, Inputs.Save);
  const saveReason =
    saveInput !== ''
      ? `the save input is ${saveInput}`
      : save
        ? `a ${event || 'non-pull-request'} build saves by default`
        : `a ${event} build restores only (its code is untrusted); set save: true to save`;
  const dir = get(Inputs.CacheDir);
  const limit = get(Inputs.CacheSizeLimit);
  const remoteUrl = get(Inputs.RemoteCache);
  const resolved = resolveCacheMode(mode as CacheModeInput, env, remoteUrl !== '');
  if (resolved === 'remote' && !remoteUrl)
    throw new ConfigError(
      `input '${Inputs.Cache}': cache: remote needs the bucket; set ${Inputs.RemoteCache}: s3://bucket/prefix`,
    );
  const pathStyle = get(Inputs.RemotePathStyle);
  return {
    mode: resolved,
    remote:
      resolved === 'remote'
        ? remoteSettings({
            url: remoteUrl,
            endpoint: get(Inputs.RemoteEndpoint) || undefined,
            region: get(Inputs.RemoteRegion) || undefined,
            pathStyle: pathStyle === '' ? undefined : parseBoolean(pathStyle, Inputs.RemotePathStyle),
            where: { url: `input '${Inputs.RemoteCache}'`, endpoint: `input '${Inputs.RemoteEndpoint}'` },
          })
        : undefined,
    dir: dir ? path.resolve(workspace, dir) : undefined,
    keyPrefix: get(Inputs.CacheKeyPrefix),
    save,
    saveReason,
    saveOnFailure:
      get(Inputs.SaveOnFailure) === '' ? true : parseBoolean(get(Inputs.SaveOnFailure), Inputs.SaveOnFailure),
    sizeLimitBytes: limit ? parseSize(limit, Inputs.CacheSizeLimit) : undefined,
    timeoutMs:
      (get(Inputs.CacheTimeout) === ''
        ? 20
        : parsePositive(get(Inputs.CacheTimeout), Inputs.CacheTimeout, 'minutes', 20)) * 60_000,
    sstateMaxAgeDays: parseDays(get(Inputs.SstateMaxAgeDays), Inputs.SstateMaxAgeDays, 30),
    workspaceMaxAgeDays: parseDays(get(Inputs.WorkspaceMaxAgeDays), Inputs.WorkspaceMaxAgeDays, 7),
  };
}

/** A pull_request or pull_request_target build: its code is untrusted, so it saves only when told and never deletes. */
export function pullRequestBuild(env: NodeJS.ProcessEnv): boolean {
  return UNTRUSTED_EVENTS.includes(env.GITHUB_EVENT_NAME ?? '');
}

/**
 * The post step's clean-up of superseded cache entries. Read by the post step itself, unlike the
 * other inputs: the token must not travel through the step state, which the runner keeps in a file.
 */
export function readCleanupSettings(env = process.env): CleanupSettings {
  const token = core.getInput(Inputs.GithubToken).trim();
  const s = { token, repository: env.GITHUB_REPOSITORY ?? '', ref: env.GITHUB_REF ?? '' };
  if (pullRequestBuild(env)) return { ...s, skip: `a ${env.GITHUB_EVENT_NAME} build never deletes cache entries` };
  if (!token) return { ...s, skip: `the ${Inputs.GithubToken} input is empty` };
  if (!s.repository.includes('/') || !s.ref) return { ...s, skip: 'GITHUB_REPOSITORY or GITHUB_REF is not set' };
  return s;
}

/**
 * GitHub-hosted runners start empty: the cache service is their only memory. A bucket named in
 * remote-cache is what the workflow wants shared, on any runner.
 */
export function resolveCacheMode(mode: CacheModeInput, env: NodeJS.ProcessEnv, remoteGiven = false): CacheMode {
  if (mode !== 'auto') return mode;
  if (remoteGiven) return 'remote';
  return env.RUNNER_ENVIRONMENT === 'self-hosted' ? 'local' : 'actions';
}

/** The bucket's settings from inputs or CLI flags: an endpoint implies path-style unless told otherwise. */
export function remoteSettings(o: {
  url: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  /** How the URL and the endpoint were given (input or flag), for messages. */
  where: { url: string; endpoint: string };
}): RemoteSettings {
  const { bucket, prefix } = parseBucketUrl(o.url, o.where.url);
  if (o.endpoint !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(o.endpoint))
    throw new ConfigError(
      `${o.where.endpoint}: "${o.endpoint}" is not an http:// or https:// URL, e.g. https://minio.example.com:9000`,
    );
  return {
    url: `s3://${bucket}/${prefix}`,
    bucket,
    prefix,
    endpoint: o.endpoint,
    region: o.region,
    pathStyle: o.pathStyle ?? o.endpoint !== undefined,
  };
}

/** The YAML 1.2 core-schema booleans, as core.getBooleanInput reads them. */
export function parseBoolean(text: string, input: string): boolean {
  if (['true', 'True', 'TRUE'].includes(text)) return true;
  if (['false', 'False', 'FALSE'].includes(text)) return false;
  throw new ConfigError(`input '${input}': "${text}" is not a boolean; expected true or false`);
}

/** `8G`, `500M`, `10GB`, `1.5g` or a number of bytes; binary units, as du and docker use them. */
export function parseSize(text: string, input: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m)
    throw new ConfigError(`input '${input}': "${text}" is not a size; expected a number with K, M, G or T, e.g. 8G`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function parseDays(text: string, input: string, fallback: number): number {
  return text === '' ? fallback : parsePositive(text, input, 'days', fallback);
}

export function parsePositive(text: string, input: string, unit: string, example: number): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) {
    throw new ConfigError(
      `input '${input}': "${text}" is not a number of ${unit}; expected a positive number, e.g. ${example}`,
    );
  }
  return Number(text);
}

/** Targets may be separated by spaces, commas or newlines (a YAML block or a matrix value). */
export function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** local-conf: one assignment per line; blank lines and `#` comments are skipped. */
export function confLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
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
