/**
 * kas `repos:` as kas's Repo.factory reads them (defaults, overrides, layers, patches), turned into
 * the action's layers. Validation only: nothing here touches the network or a checkout.
 */
import * as path from 'node:path';

import type { LayerConfig, LayerPatch } from '../config.js';
import { COMMIT, gitUrlProblem, isRepoSubdir, isValidRefName, LAYER_NAME } from '../names.js';
import { isDict, type KasDict } from './files.js';
import type { KasProblems } from './problems.js';

/** A kas repository after defaults and overrides, as `smidr check` prints it. */
export interface KasRepo {
  id: string;
  /** Its checkout's name (`name:`, else the id): the action's layer name. */
  name: string;
  url?: string;
  commit?: string;
  branch?: string;
  tag?: string;
  /** A repository without url: the directory it is (the project's own repository, or `path`). */
  dir?: string;
  /** Enabled layers, relative to the repository ('.' is its root), with their kas priority. */
  layers: { dir: string; prio: number }[];
  disabled: string[];
  patches: LayerPatch[];
}

/** Values kas still reads as "disabled" for a layer, with a deprecation warning. */
const LEGACY_DISABLED: unknown[] = ['excluded', 'n', 'no', '0', 'false', 0, false];
const REPO_KEYS = ['name', 'url', 'type', 'commit', 'branch', 'tag', 'path', 'layers', 'patches'];
const REF_EXPECTED = 'a git branch or tag name (letters, digits and . _ / + -, no "..")';

function stripRefPrefix(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/** One repo with kas's defaulting: `key: null` in the repo removes a default, a missing key takes it. */
function pick(cfg: KasDict, key: string, fallback: unknown): unknown {
  return key in cfg ? cfg[key] : fallback;
}

export function kasRepos(merged: KasDict, topRepo: string, r: KasProblems): KasRepo[] {
  const repos = merged.repos ?? {};
  if (!isDict(repos)) {
    r.error(['repos'], 'is not a mapping', 'a mapping of repository ids to their settings');
    return [];
  }
  const defaults = isDict(merged.defaults) && isDict(merged.defaults.repos) ? merged.defaults.repos : {};
  for (const key of Object.keys(defaults)) {
    if (!['branch', 'tag', 'patches'].includes(key)) r.unsupported(['defaults', 'repos', key]);
  }
  const overrides = isDict(merged.overrides) && isDict(merged.overrides.repos) ? merged.overrides.repos : {};
  const out: KasRepo[] = [];
  for (const [id, value] of Object.entries(repos)) {
    const cfg = value ?? {};
    if (!isDict(cfg)) {
      r.error(['repos', id], 'is not a mapping', 'a mapping (url, commit, branch, layers, …) or nothing');
      continue;
    }
    const ov = overrides[id] ?? {};
    const repo = kasRepo(id, cfg, isDict(ov) ? ov : {}, defaults, topRepo, r);
    if (repo) out.push(repo);
  }
  const names = new Map<string, string>();
  for (const repo of out) {
    const other = names.get(repo.name.toLowerCase());
    if (other !== undefined)
      r.error(['repos', repo.id, 'name'], `"${repo.name}" is also the name of repos.${other}`, 'a unique name');
    names.set(repo.name.toLowerCase(), repo.id);
  }
  const ids = new Map(out.map((x) => [x.id, x.name]));
  for (const repo of out) {
    for (const p of repo.patches) {
      const name = ids.get(p.repo);
      if (name === undefined)
        r.error(
          ['repos', repo.id, 'patches', p.id, 'repo'],
          `"${p.repo}" is not a repository of this project`,
          [...ids.keys()].join(', '),
        );
      else p.repo = name;
    }
  }
  return out;
}

function kasRepo(
  id: string,
  cfg: KasDict,
  ov: KasDict,
  defaults: KasDict,
  topRepo: string,
  r: KasProblems,
): KasRepo | undefined {
  const at = (...k: string[]) => ['repos', id, ...k];
  const before = r.errorCount;
  for (const key of Object.keys(cfg)) {
    if (key === 'refspec') r.error(at(key), 'is deprecated in kas and not supported', 'commit, branch or tag');
    else if (!REPO_KEYS.includes(key)) r.unsupported(at(key));
  }
  if (cfg.type !== undefined && cfg.type !== 'git')
    r.error(
      at('type'),
      `${JSON.stringify(cfg.type)} is not supported`,
      'git (Mercurial repositories are not supported)',
    );
  const name = r.string(at('name'), cfg.name) ?? id;
  if (!LAYER_NAME.test(name))
    r.error(
      at(cfg.name === undefined ? '' : 'name').filter(Boolean),
      `"${name}" cannot name a checkout`,
      'letters, digits and . _ - (starting with a letter or digit); set name: to one',
    );
  let url = r.string(at('url'), pick(cfg, 'url', undefined), true);
  if ('url' in ov) url = r.string(['overrides', 'repos', id, 'url'], ov.url, true);
  if (url !== undefined) {
    const problem = gitUrlProblem(url);
    if (problem) r.error(at('url'), `${JSON.stringify(url)} ${problem}`, 'a repository URL git accepts');
    else if (url.startsWith('./') || url.startsWith('../')) url = path.resolve(topRepo, url);
  }
  let commit = r.string(at('commit'), cfg.commit);
  if ('commit' in ov) commit = r.string(['overrides', 'repos', id, 'commit'], ov.commit, true);
  if (commit !== undefined && !COMMIT.test(commit))
    r.error(at('commit'), `"${commit}" is not a commit id`, 'a full commit id (40 lowercase hex digits)');
  let branch = r.string(at('branch'), pick(cfg, 'branch', defaults.branch), true);
  if ('branch' in ov) branch = r.string(['overrides', 'repos', id, 'branch'], ov.branch, true);
  const tag = r.string(at('tag'), pick(cfg, 'tag', defaults.tag), true);
  for (const [key, ref] of [
    ['branch', branch],
    ['tag', tag],
  ] as const) {
    if (ref !== undefined && !isValidRefName(stripRefPrefix(ref)))
      r.error(at(key), `"${ref}" is not a valid ${key} name`, REF_EXPECTED);
  }
  if (tag !== undefined && branch !== undefined)
    r.error(
      at('tag'),
      `tag "${tag}" and branch "${branch}" are both set`,
      'either a tag or a branch (kas refuses both)',
    );
  if (url !== undefined && [commit, tag, branch, cfg.commit, cfg.tag, cfg.branch].every((x) => x === undefined))
    r.error(
      at('url'),
      'no commit, tag or branch is set',
      'a commit (or a branch or tag, pinned by a lock file); only a repository without url may have none',
    );
  const dirPath = r.string(at('path'), cfg.path, true);
  const layers = kasLayers(cfg.layers, at('layers'), r);
  const patches = kasPatches(cfg.patches, at('patches'), defaults, r);
  if (url === undefined && patches.length > 0)
    r.warn(at('patches'), 'a repository without url is not patched (kas does the same): the patches are not applied');
  if (r.errorCount > before) return undefined;
  return {
    id,
    name,
    ...(url !== undefined && { url }),
    ...(commit !== undefined && { commit }),
    ...(branch !== undefined && { branch: stripRefPrefix(branch) }),
    ...(tag !== undefined && { tag: stripRefPrefix(tag) }),
    ...(url === undefined && { dir: dirPath === undefined ? topRepo : path.resolve(topRepo, dirPath) }),
    ...layers,
    patches: url === undefined ? [] : patches,
  };
}

function kasLayers(value: unknown, at: string[], r: KasProblems): Pick<KasRepo, 'layers' | 'disabled'> {
  // kas: no layers (or an empty mapping) makes the repository itself the layer.
  if (value === undefined || value === null || (isDict(value) && Object.keys(value).length === 0))
    return { layers: [{ dir: '.', prio: 0 }], disabled: [] };
  if (!isDict(value)) {
    r.error(at, 'is not a mapping', 'a mapping of layer directories, e.g. { meta: , meta-poky: }');
    return { layers: [], disabled: [] };
  }
  const layers: KasRepo['layers'] = [];
  const disabled: string[] = [];
  for (const [key, prop] of Object.entries(value)) {
    const dir = key === '' || key === './' ? '.' : key.replace(/\/+$/, '');
    if (!isRepoSubdir(dir)) {
      r.error(
        [...at, key],
        `"${key}" is not a plain directory inside the repository`,
        'a relative directory (letters, digits and . _ + - /), . for the root',
      );
      continue;
    }
    if (prop === 'disabled') disabled.push(dir);
    else if (LEGACY_DISABLED.includes(prop)) {
      r.warn([...at, key], `${JSON.stringify(prop)} is deprecated in kas; write disabled (the layer is left out)`);
      disabled.push(dir);
    } else if (prop === null) layers.push({ dir, prio: 0 });
    else if (isDict(prop) && Object.keys(prop).every((k) => k === 'prio')) {
      const prio = prop.prio ?? 0;
      if (typeof prop.prio === 'number' && Number.isInteger(prio) && (prio as number) >= -99 && (prio as number) <= 99)
        layers.push({ dir, prio: prio as number });
      else if (prop.prio === undefined) layers.push({ dir, prio: 0 });
      else
        r.error(
          [...at, key, 'prio'],
          `${JSON.stringify(prop.prio)} is not a priority`,
          'a whole number from -99 to 99',
        );
    } else
      r.error([...at, key], `${JSON.stringify(prop)} is not a layer setting`, 'nothing, disabled, or { prio: <n> }');
  }
  return { layers, disabled };
}

function kasPatches(value: unknown, at: string[], defaults: KasDict, r: KasProblems): LayerPatch[] {
  if (value === undefined || value === null) return [];
  if (!isDict(value)) {
    r.error(at, 'is not a mapping', 'a mapping of patch ids to { repo, path }');
    return [];
  }
  const defaultRepo = isDict(defaults.patches) ? defaults.patches.repo : undefined;
  const out: LayerPatch[] = [];
  // kas applies patches in the order of their sorted ids.
  for (const id of Object.keys(value).sort()) {
    const p = value[id];
    if (p === null) continue;
    if (!isDict(p) || typeof p.path !== 'string') {
      r.error(
        [...at, id],
        `${JSON.stringify(p)} is not a patch entry`,
        '{ repo: <repo id>, path: <patch file or quilt directory> }',
      );
      continue;
    }
    const repo = p.repo ?? defaultRepo;
    if (typeof repo !== 'string') {
      r.error(
        [...at, id, 'repo'],
        'no repository is named and defaults.repos.patches.repo is not set',
        'repo: <the id of the repository holding the patch>',
      );
      continue;
    }
    const rel = path.posix.normalize(p.path).replace(/\/+$/, '');
    if (rel.startsWith('/') || rel === '..' || rel.startsWith('../'))
      r.error(
        [...at, id, 'path'],
        `"${p.path}" leaves the repository`,
        'a path inside the repository that holds the patch',
      );
    else out.push({ id, repo, path: rel });
  }
  return out;
}

/** The action's layers for kas repositories, in kas's order: by name, each repo's layers by name. */
export function layersOf(repos: KasRepo[], topRepo: string): LayerConfig[] {
  return [...repos]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((repo) => {
      const subs = [...repo.layers].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
      const priorities = Object.fromEntries(subs.filter((l) => l.prio !== 0).map((l) => [l.dir, l.prio]));
      return {
        name: repo.name,
        source:
          repo.url === undefined
            ? { kind: 'path', path: path.relative(topRepo, repo.dir!) || '.' }
            : {
                kind: 'git',
                url: repo.url,
                ...(repo.branch !== undefined && { branch: repo.branch }),
                ...(repo.tag !== undefined && { tag: repo.tag }),
                ...(repo.commit !== undefined && { commit: repo.commit }),
              },
        sublayers: subs.map((l) => l.dir),
        ...(Object.keys(priorities).length > 0 && { priorities }),
        ...(repo.patches.length > 0 && { patches: repo.patches }),
      } satisfies LayerConfig;
    });
}
