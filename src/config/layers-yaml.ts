/** smidr.yaml's `layers:` list: one entry per repository, fetched with git or the checked-out one. */
import * as path from 'node:path';

import { isMap, type Node } from 'yaml';

import type { LayerConfig, LayerSource } from './config.js';
import { sectionKeys } from './keys.js';
import { COMMIT, gitUrlProblem, isRepoSubdir, isValidRefName, LAYER_NAME } from './names.js';
import type { Entry, YamlReader } from './yaml-reader.js';

/** Where relative paths in the file resolve: the config file's directory, and `~`. */
export interface PathBase {
  dir: string;
  home: string;
}

const LAYER_SHAPE =
  'a mapping with name and git or path, e.g. { name: meta-oe, git: https://git.openembedded.org/meta-openembedded, branch: kirkstone }';
const REF_EXPECTED = 'a git branch or tag name (letters, digits and . _ / + -, no "..")';

/** The layers listed, each name once (a repeated name is reported, the later entry dropped). */
export function readLayers(r: YamlReader, layersEntry: Entry | undefined, base: PathBase): LayerConfig[] {
  if (!layersEntry) return [];
  const items = r.list(layersEntry, 'a list of layers, each a mapping with name and git or path') ?? [];
  const layers: LayerConfig[] = [];
  const seen = new Map<string, string>();
  for (const item of items) {
    const layer = readLayer(r, item.node, item.field, layersEntry.keyNode, base);
    if (!layer) continue;
    const other = seen.get(layer.name.toLowerCase());
    if (other !== undefined) {
      r.error(
        layer.line,
        `${item.field}.name`,
        `layer name "${layer.name}" is already used by ${other}`,
        "a unique name for each layer (it names the layer's checkout directory)",
      );
      continue;
    }
    seen.set(layer.name.toLowerCase(), item.field);
    layers.push(layer);
  }
  return layers;
}

function readLayer(
  r: YamlReader,
  node: Node | null,
  field: string,
  listKey: Node,
  base: PathBase,
): LayerConfig | undefined {
  if (!isMap(node)) return r.error(node ?? listKey, field, r.describe(node), LAYER_SHAPE);
  const line = r.lineOf(node);
  const entries = r.mapping(node, field, sectionKeys('layer'), LAYER_SHAPE)!;
  const before = r.problemCount;
  const nameEntry = entries.get('name');
  const name = nameEntry
    ? r.matching(
        nameEntry,
        (s) => LAYER_NAME.test(s),
        'a valid layer name',
        "letters, digits and . _ - (starting with a letter or digit); it names the layer's directory",
      )
    : r.error(node, `${field}.name`, 'is missing', 'a layer name, e.g. name: meta-oe');
  const refs = readRefs(r, entries);
  const sublayers = readSublayers(r, entries.get('sublayers'));
  const source = readSource(r, node, field, entries, refs, base);
  if (r.problemCount > before || name === undefined || source === undefined) return undefined;
  return { name, source, ...(sublayers !== undefined && { sublayers }), line };
}

interface Refs {
  branch?: string;
  tag?: string;
  commit?: string;
}

function readRefs(r: YamlReader, entries: Map<string, Entry>): Refs {
  return {
    branch: r.matching(entries.get('branch'), isValidRefName, 'a valid branch name', REF_EXPECTED),
    tag: r.matching(entries.get('tag'), isValidRefName, 'a valid tag name', REF_EXPECTED),
    commit: r.matching(
      entries.get('commit'),
      (s) => COMMIT.test(s),
      'a commit id',
      '7 to 40 lowercase hex digits (git rev-parse HEAD)',
    ),
  };
}

/** git with branch, tag or commit; or path, alone. */
function readSource(
  r: YamlReader,
  node: Node,
  field: string,
  entries: Map<string, Entry>,
  { branch, tag, commit }: Refs,
  base: PathBase,
): LayerSource | undefined {
  const [gitEntry, pathEntry, branchEntry, tagEntry, commitEntry] = ['git', 'path', 'branch', 'tag', 'commit'].map(
    (k) => entries.get(k),
  );
  if (gitEntry && pathEntry) {
    return r.error(
      pathEntry.keyNode,
      `${field}.path`,
      'a layer has both git and path',
      'exactly one of them: git for a repository to fetch, path for the checked-out repository',
    );
  }
  if (pathEntry) {
    for (const e of [branchEntry, tagEntry, commitEntry]) {
      if (e)
        r.error(
          e.keyNode,
          e.field,
          `a path layer takes no ${e.key} (it is built at the commit that is checked out)`,
          'path alone, or git with branch, tag or commit',
        );
    }
    const p = readLayerPath(r, pathEntry);
    return p === undefined ? undefined : { kind: 'path', path: p };
  }
  if (!gitEntry) {
    return r.error(
      node,
      field,
      'the layer has neither git nor path',
      'git: <repository URL> for a repository to fetch, or path: <dir> for the checked-out repository (e.g. path: .)',
    );
  }
  if (tagEntry && (branchEntry || commitEntry)) {
    r.error(
      tagEntry.keyNode,
      tagEntry.field,
      `tag cannot be combined with ${branchEntry ? 'branch' : 'commit'}`,
      'either tag alone, or branch and/or commit',
    );
  }
  const url = readGitUrl(r, gitEntry, base);
  if (url === undefined) return undefined;
  return {
    kind: 'git',
    url,
    ...(branch !== undefined && { branch }),
    ...(tag !== undefined && { tag }),
    ...(commit !== undefined && { commit }),
  };
}

function readGitUrl(r: YamlReader, e: Entry, base: PathBase): string | undefined {
  const expected = 'a repository URL git accepts (https://, ssh://, git://, file://, user@host:path) or a local path';
  const url = r.str(e, expected);
  if (url === undefined) return undefined;
  const problem = gitUrlProblem(url);
  if (problem) return r.error(e.value, e.field, `${JSON.stringify(url)} ${problem}`, expected);
  if (url.startsWith('./') || url.startsWith('../') || url === '.' || url === '..') return path.resolve(base.dir, url);
  if (url === '~' || url.startsWith('~/')) return path.join(base.home, url.slice(1));
  return url;
}

/** A path layer: relative to the config file's directory, and inside it. */
function readLayerPath(r: YamlReader, e: Entry): string | undefined {
  const expected = 'a directory relative to the config file, inside its directory, e.g. . or meta-mylayer';
  const raw = r.str(e, expected);
  if (raw === undefined) return undefined;
  if (raw.startsWith('/') || path.isAbsolute(raw))
    return r.error(e.value, e.field, `${JSON.stringify(raw)} is absolute`, expected);
  const norm = path.posix.normalize(raw).replace(/\/+$/, '') || '.';
  if (norm === '..' || norm.startsWith('../'))
    return r.error(e.value, e.field, `${JSON.stringify(raw)} leaves the config file's directory`, expected);
  if (!isRepoSubdir(norm))
    return r.error(
      e.value,
      e.field,
      `${JSON.stringify(raw)} is not a plain relative directory`,
      `${expected} (letters, digits and . _ + - /)`,
    );
  return norm;
}

function readSublayers(r: YamlReader, e: Entry | undefined): string[] | undefined {
  if (!e) return undefined;
  const expected =
    'directories inside the repository holding conf/layer.conf, e.g. [meta, meta-poky, meta-yocto-bsp] (. is the repository root)';
  const items = r.list(e, expected);
  if (items === undefined) return undefined;
  if (items.length === 0)
    return r.error(
      e.value ?? e.keyNode,
      e.field,
      'is an empty list',
      `${expected}, or no sublayers key to use every directory holding conf/layer.conf`,
    );
  const out: string[] = [];
  for (const item of items) {
    const raw = r.string(item.node, e.keyNode, item.field, expected);
    if (raw === undefined) continue;
    const norm = raw === '.' || raw === './' ? '.' : path.posix.normalize(raw).replace(/\/+$/, '');
    const bad = (what: string, exp = expected) => r.error(item.node, item.field, `${JSON.stringify(raw)} ${what}`, exp);
    if (raw.startsWith('/')) bad('is absolute');
    else if (norm === '..' || norm.startsWith('../') || raw.split('/').includes('..')) bad('contains ..');
    else if (!isRepoSubdir(norm))
      bad('is not a plain relative directory', `${expected}; letters, digits and . _ + - /`);
    else if (out.includes(norm)) bad('is listed twice', 'each sublayer once');
    else out.push(norm);
  }
  return out;
}
