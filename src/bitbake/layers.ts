/**
 * Resolves every layer to an exact commit and provides an immutable checkout of it. A checkout
 * lives in the layer store at `<store>/<name>-<url hash>/<commit>` and is never modified once
 * complete, so any number of builds (also concurrent ones) can mount it read-only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

import { type LayerConfig } from '../config/config.js';
import { FULL_COMMIT } from '../config/names.js';
import { ConfigError, type GitError } from '../util/errors.js';
import { walk } from '../util/fs.js';
import { log } from '../util/log.js';
import { shownUrl, urlSecret, withoutUrlSecret } from '../util/url.js';
import { git, gitOk, gitRemote, gitRemoteOk } from './git.js';
import { patchedCheckout, patchFiles } from './patches.js';

export interface ResolvedLayer {
  name: string;
  kind: 'git' | 'path';
  /** The remote as configured (git layers), or the repository's origin (path layers). */
  url?: string;
  branch?: string;
  tag?: string;
  /** Full commit id that was built. */
  commit: string;
  /** Repository checkout on the host. */
  dir: string;
  /** BitBake layer directories inside the checkout, relative to it ('.' is the root). */
  sublayers: string[];
  /** Set when kas patches were applied: the patch entries, and the digest naming the patched tree. */
  patches?: { ids: string[]; digest: string };
  /** kas include priorities of sublayers (higher: earlier in BBLAYERS). */
  priorities?: Record<string, number>;
}

/** The marker written last into a checkout: without it the directory is an interrupted clone. */
const COMPLETE = '.smidr-complete';

/**
 * Checks out every layer. With `series` (yocto_series), sub-layers found by discovery are only
 * those whose LAYERSERIES_COMPAT names it, as upstream Smidr resolves them.
 */
export async function checkoutLayers(
  layers: LayerConfig[],
  store: string,
  configDir: string,
  series?: string,
): Promise<ResolvedLayer[]> {
  const resolved: ResolvedLayer[] = [];
  for (const layer of layers) {
    resolved.push(
      layer.source.kind === 'path'
        ? await usePathLayer(layer, path.resolve(configDir, layer.source.path))
        : await checkoutGitLayer(layer, store),
    );
  }
  // Patches may come from any layer's checkout (kas reads them from the unpatched trees).
  const dirs = new Map(resolved.map((r) => [r.name, r.dir]));
  for (const [i, layer] of layers.entries()) {
    const r = resolved[i]!;
    if (layer.patches?.length && r.kind === 'git') {
      const patched = await patchedCheckout(layer.name, r, await patchFiles(layer, dirs), COMPLETE);
      r.dir = patched.dir;
      r.patches = { ids: layer.patches.map((p) => p.id), digest: patched.digest };
    }
    r.sublayers = await resolveSublayers(layer, r.dir, r.commit);
    if (!layer.sublayers && series) r.sublayers = await compatibleSublayers(r, series);
    if (layer.priorities) r.priorities = layer.priorities;
    log.info(
      `${r.name}: ${r.url ?? r.dir} @ ${r.commit}` +
        `${r.branch ? ` (branch ${r.branch})` : r.tag ? ` (tag ${r.tag})` : ''}` +
        `${r.patches ? ` patched (${r.patches.ids.join(', ')})` : ''}` +
        ` layers: ${r.sublayers.join(', ') || '(none)'}`,
    );
  }
  return resolved;
}

async function usePathLayer(layer: LayerConfig, dir: string): Promise<ResolvedLayer> {
  if (!existsSync(dir))
    throw new ConfigError(
      `layer '${layer.name}': path ${dir} does not exist; check out the repository first (actions/checkout) or fix 'path'`,
    );
  let commit: string;
  try {
    commit = await git(['rev-parse', '--verify', 'HEAD^{commit}'], dir);
  } catch {
    throw new ConfigError(
      `layer '${layer.name}': path ${dir} is not inside a git checkout with a commit; the path layer is built at the repository's current commit`,
    );
  }
  const origin = await git(['remote', 'get-url', 'origin'], dir).catch(() => undefined);
  const url = origin && shownUrl(origin);
  return { name: layer.name, kind: 'path', url, commit, dir, sublayers: [] };
}

async function checkoutGitLayer(layer: LayerConfig, store: string): Promise<ResolvedLayer> {
  if (layer.source.kind !== 'git') throw new Error('not a git layer');
  const { url, tag, commit: pinned } = layer.source;
  const secret = urlSecret(url);
  if (secret) log.secret(secret);
  const shown = shownUrl(url);
  const home = path.join(store, `${layer.name}-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`);
  await fs.mkdir(home, { recursive: true });

  // A full pin needs no network at all when its checkout is already in the store.
  if (pinned && FULL_COMMIT.test(pinned) && !layer.source.branch && existsSync(path.join(home, pinned, COMPLETE))) {
    log.info(`${layer.name}: reusing checkout of ${pinned}`);
    return {
      name: layer.name,
      kind: 'git',
      url: shown,
      tag,
      commit: pinned,
      dir: path.join(home, pinned),
      sublayers: [],
    };
  }

  let branch = layer.source.branch;
  let head: string | undefined;
  if (pinned) head = undefined;
  else if (layer.source.branchFromSeries) ({ branch, sha: head } = await seriesHead(layer.name, url, branch!));
  else head = await remoteHead(layer.name, url, branch, tag);
  const tmp = path.join(home, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await git(['init', '-q', tmp]);
    const commit = await fetchRevision(layer.name, tmp, url, { branch, tag, pinned, head });
    const dir = path.join(home, commit);
    if (existsSync(path.join(dir, COMPLETE))) {
      log.info(`${layer.name}: reusing checkout of ${commit}`);
      return { name: layer.name, kind: 'git', url: shown, branch, tag, commit, dir, sublayers: [] };
    }
    await git(['-c', 'core.hooksPath=/dev/null', 'checkout', '-q', '--detach', commit], tmp);
    await fs.writeFile(path.join(tmp, COMPLETE), `${shown}\n${commit}\n`);
    await placeCheckout(tmp, dir);
    return { name: layer.name, kind: 'git', url: shown, branch, tag, commit, dir, sublayers: [] };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Renames a finished clone into place. Only complete clones are ever renamed, so an existing
 * directory is another build's identical checkout, possibly in use: keep it.
 */
async function placeCheckout(tmp: string, dir: string): Promise<void> {
  try {
    await fs.rename(tmp, dir);
  } catch (e) {
    if (!existsSync(path.join(dir, COMPLETE))) throw e;
  }
}

/**
 * A branch that follows yocto_series: the series itself, else the first `<series>-*` head (the
 * Toradex layers name theirs kirkstone-6.x.y), as upstream Smidr retries; the choice is logged.
 */
async function seriesHead(name: string, url: string, series: string): Promise<{ branch: string; sha: string }> {
  const heads = await lsRemote(name, url, [`refs/heads/${series}`, `refs/heads/${series}-*`]);
  const exact = heads.get(`refs/heads/${series}`);
  if (exact) return { branch: series, sha: exact };
  const [ref, sha] = [...heads.entries()].sort(([a], [b]) => (a < b ? -1 : 1))[0] ?? [];
  if (!ref || !sha)
    throw new ConfigError(
      `layer '${name}': ${shownUrl(url)} has no branch '${series}' (yocto_series) nor any '${series}-*' branch; set the layer's branch`,
    );
  const branch = ref.slice('refs/heads/'.length);
  log.info(`${name}: no branch ${series} in ${shownUrl(url)}; following ${branch}, the first ${series}-* branch`);
  return { branch, sha };
}

async function lsRemote(name: string, url: string, refs: string[]): Promise<Map<string, string>> {
  let out: string;
  try {
    out = await gitRemote(['ls-remote', '--', url, ...refs]);
  } catch (e) {
    throw new ConfigError(
      `layer '${name}': cannot reach ${shownUrl(url)}: ${withoutUrlSecret((e as GitError).stderr.split('\n').pop() ?? '', url)}; check the URL and the runner's credentials for it`,
    );
  }
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [sha, r] = l.split('\t');
        return [r!, sha!] as const;
      }),
  );
}

/** The commit a branch, tag or the default branch points at, asked of the remote. */
async function remoteHead(name: string, url: string, branch?: string, tag?: string): Promise<string> {
  const ref = branch ? `refs/heads/${branch}` : tag ? `refs/tags/${tag}` : 'HEAD';
  const refs = await lsRemote(name, url, [ref, ...(tag ? [`${ref}^{}`] : [])]);
  const sha = refs.get(`${ref}^{}`) ?? refs.get(ref);
  if (!sha) {
    const what = branch ? `branch '${branch}'` : tag ? `tag '${tag}'` : 'a default branch (HEAD)';
    throw new ConfigError(
      `layer '${name}': ${shownUrl(url)} has no ${what}; check the layer's ${branch ? 'branch' : tag ? 'tag' : 'revision'} in the config`,
    );
  }
  return sha;
}

interface Revision {
  branch?: string;
  tag?: string;
  pinned?: string;
  head?: string;
}

/** Fetches as little history as the remote allows and returns the full commit id. */
async function fetchRevision(name: string, repo: string, url: string, rev: Revision): Promise<string> {
  const want = rev.pinned ?? rev.head!;
  const revLabel = rev.pinned
    ? `commit ${rev.pinned}`
    : rev.branch
      ? `branch ${rev.branch} (${want})`
      : rev.tag
        ? `tag ${rev.tag}`
        : `HEAD (${want})`;
  log.info(`${name}: fetching ${revLabel} from ${shownUrl(url)}`);
  const shallow = FULL_COMMIT.test(want) && (await gitRemoteOk(['fetch', '-q', '--depth', '1', '--', url, want], repo));
  if (!shallow) {
    // The server refused a fetch by id, or the pin is abbreviated: fetch branches and tags.
    try {
      await gitRemote(['fetch', '-q', '--tags', '--', url, '+refs/heads/*:refs/remotes/origin/*'], repo);
    } catch (e) {
      throw new ConfigError(
        `layer '${name}': cannot fetch from ${shownUrl(url)}: ${withoutUrlSecret((e as GitError).stderr.split('\n').pop() ?? '', url)}`,
      );
    }
  }
  let commit: string;
  try {
    commit = await git(['rev-parse', '--verify', '--end-of-options', `${want}^{commit}`], repo);
  } catch {
    throw new ConfigError(
      `layer '${name}': revision ${want} does not exist in ${shownUrl(url)}; check the layer's commit (git ls-remote ${shownUrl(url)})`,
    );
  }
  if (rev.pinned && rev.branch) await assertOnBranch(name, repo, url, commit, rev.branch);
  return commit;
}

/** A pin with a branch promises the commit is on that branch; a mismatch is a config error. */
async function assertOnBranch(name: string, repo: string, url: string, commit: string, branch: string): Promise<void> {
  const since = Number(await git(['log', '-1', '--format=%ct', commit], repo)) - 86400;
  const ref = `refs/remotes/origin/${branch}`;
  const fetched =
    (await gitRemoteOk(['fetch', '-q', `--shallow-since=${since}`, '--', url, `+refs/heads/${branch}:${ref}`], repo)) ||
    (await gitRemoteOk(['fetch', '-q', '--', url, `+refs/heads/${branch}:${ref}`], repo));
  if (!fetched)
    throw new ConfigError(`layer '${name}': ${shownUrl(url)} has no branch '${branch}'; fix the layer's branch`);
  if (!(await gitOk(['merge-base', '--is-ancestor', commit, ref], repo))) {
    throw new ConfigError(
      `layer '${name}': commit ${commit} is not on branch '${branch}' of ${shownUrl(url)}; pin a commit from that branch or drop 'branch'`,
    );
  }
}

/**
 * The BitBake layers a repository provides: the configured list, else those its own
 * bblayers.conf template names (poky: meta, meta-poky, meta-yocto-bsp), else every directory
 * holding conf/layer.conf.
 */
async function resolveSublayers(layer: LayerConfig, dir: string, commit: string): Promise<string[]> {
  if (layer.sublayers) {
    for (const sub of layer.sublayers) {
      if (!existsSync(path.join(dir, sub, 'conf', 'layer.conf'))) {
        const found = discoverLayers(dir);
        throw new ConfigError(
          `layer '${layer.name}'${layer.line ? ` (line ${layer.line})` : ''}: sublayer '${sub}' has no conf/layer.conf at ${commit.slice(0, 12)}; the repository provides: ${found.join(', ') || 'none'}`,
        );
      }
    }
    return layer.sublayers;
  }
  return (await templateLayers(dir)) ?? discoverLayers(dir);
}

/**
 * The sub-layers whose LAYERSERIES_COMPAT names the series (a layer without the line is kept).
 * master is not a codename a layer lists (master's own compat names the coming release), so it
 * filters nothing.
 */
async function compatibleSublayers(r: ResolvedLayer, series: string): Promise<string[]> {
  if (series === 'master') return r.sublayers;
  const kept: string[] = [];
  for (const sub of r.sublayers) {
    const text = await fs.readFile(path.join(r.dir, sub, 'conf', 'layer.conf'), 'utf8').catch(() => '');
    const compat = /^\s*LAYERSERIES_COMPAT_[A-Za-z0-9_.+-]+\s*[?:+.]?=\s*["']([^"']*)["']/m.exec(text);
    if (!compat || compat[1]!.split(/\s+/).includes(series)) kept.push(sub);
    else log.info(`${r.name}: leaving out ${sub}: its ${compat[0].trim()} does not name ${series} (yocto_series)`);
  }
  return kept;
}

/**
 * A MACHINE that no layer provides (no conf/machine/<machine>.conf in any sub-layer) is a config
 * error before BitBake starts, rather than BitBake's parse error, or upstream's silent swap.
 */
export function assertMachineProvided(layers: ResolvedLayer[], machine: string): void {
  const searched = layers.flatMap((l) =>
    l.sublayers.map((s) => ({ label: `${l.name}/${s}`, dir: path.join(l.dir, s) })),
  );
  if (searched.some((s) => existsSync(path.join(s.dir, 'conf', 'machine', `${machine}.conf`)))) return;
  throw new ConfigError(
    `MACHINE "${machine}" is provided by no layer: no conf/machine/${machine}.conf in ${searched.map((s) => s.label).join(', ') || 'any layer'}; expected its BSP layer under layers, or another machine`,
  );
}

const TEMPLATES = ['meta-poky/conf/templates/default/bblayers.conf.sample', 'meta-poky/conf/bblayers.conf.sample'];

async function templateLayers(dir: string): Promise<string[] | undefined> {
  for (const t of TEMPLATES) {
    const file = path.join(dir, t);
    if (!existsSync(file)) continue;
    const text = await fs.readFile(file, 'utf8');
    const subs = [...text.matchAll(/##OEROOT##\/([A-Za-z0-9._/-]+)/g)].map((m) => m[1]!.replace(/\/$/, ''));
    const present = subs.filter((s) => existsSync(path.join(dir, s, 'conf', 'layer.conf')));
    if (present.length > 0) return present;
  }
  return undefined;
}

/** Directories holding example or test layers, never built (as upstream Smidr skips them). */
const NOT_LAYERS = new Set(['tests', 'testdata', 'meta-selftest', 'meta-skeleton']);

/** Directories up to `depth` levels down holding conf/layer.conf, not looking inside a layer or a hidden directory. */
export function discoverLayers(dir: string, depth = 2): string[] {
  const isLayer = (rel: string) => existsSync(path.join(dir, rel, 'conf', 'layer.conf'));
  if (isLayer('')) return ['.'];
  const found: string[] = [];
  walk(dir, ({ rel, dirent }) => {
    if (!dirent.isDirectory() || dirent.name.startsWith('.') || NOT_LAYERS.has(dirent.name)) return 'skip';
    if (isLayer(rel)) {
      found.push(rel);
      return 'skip';
    }
    return rel.split('/').length >= depth ? 'skip' : undefined;
  });
  return found;
}

/** Where oe-init-build-env and BitBake are, in the poky layout or the split one. */
export interface BuildTools {
  initEnv: { layer: string; file: string };
  bitbake: { layer: string; dir: string };
  version: string;
}

export async function findBuildTools(layers: ResolvedLayer[]): Promise<BuildTools> {
  const init = layers.find((l) => existsSync(path.join(l.dir, 'oe-init-build-env')));
  if (!init)
    throw new ConfigError(
      'no layer provides oe-init-build-env; add poky, or openembedded-core with bitbake (the split layout)',
    );
  const bitbake = existsSync(path.join(init.dir, 'bitbake', 'bin', 'bitbake'))
    ? { layer: init.name, dir: 'bitbake' }
    : (() => {
        const l = layers.find((x) => existsSync(path.join(x.dir, 'bin', 'bitbake')));
        return l ? { layer: l.name, dir: '.' } : undefined;
      })();
  if (!bitbake)
    throw new ConfigError(
      `no layer provides BitBake: ${init.name} has no bitbake/ directory; add a layer for the bitbake repository (the split layout)`,
    );
  const owner = layers.find((l) => l.name === bitbake.layer)!;
  const version = await bitbakeVersion(path.join(owner.dir, bitbake.dir));
  return { initEnv: { layer: init.name, file: 'oe-init-build-env' }, bitbake, version };
}

async function bitbakeVersion(bitbakeDir: string): Promise<string> {
  const text = await fs.readFile(path.join(bitbakeDir, 'lib', 'bb', '__init__.py'), 'utf8').catch(() => '');
  return /^__version__\s*=\s*["']([0-9.]+)["']/m.exec(text)?.[1] ?? '0';
}

export function versionAtLeast(version: string, wanted: string): boolean {
  const a = version.split('.').map(Number);
  const b = wanted.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** What the `layers` output and the summary show. */
export function layersJson(layers: ResolvedLayer[]): object[] {
  return layers.map((l) => ({
    name: l.name,
    url: l.url,
    branch: l.branch,
    tag: l.tag,
    commit: l.commit,
    sublayers: l.sublayers,
    ...(l.patches && { patches: l.patches.ids, patched: l.patches.digest }),
  }));
}
