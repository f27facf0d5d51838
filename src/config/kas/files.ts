/**
 * kas project files as kas reads them (siemens/kas, kas/includehandler.py): one file or a
 * colon-separated list, each file's lock file (`<stem>.lock<ext>`) loaded right before it, includes
 * depth first, merged into one mapping. Reads files only; repositories named by `{repo, file}`
 * includes are found through the directories the caller passes in.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { type Document, isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';

import { ConfigError } from '../../util/errors.js';

export type KasDict = Record<string, unknown>;

/** One file read: its parsed content and what is needed to point at a line of it. */
export interface KasFile {
  file: string;
  config: KasDict;
  /** A lock file (kas lock), loaded because it sits next to a file that was read. */
  lock: boolean;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface KasFiles {
  /** Every file read, in merge order (later files win). */
  files: KasFile[];
  /** The merged configuration. */
  merged: KasDict;
  /** Ids of repositories that `{repo, file}` includes name but that have no directory yet. */
  missingRepos: string[];
  /** Messages for the log: include paths kas resolves by its fallback rule. */
  notes: string[];
}

/** Is this text a kas project file? kas files are recognised by `header.version`. */
export function isKasText(text: string): boolean {
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return false;
  const header = doc.get('header');
  return isMap(header) && header.has('version');
}

export function isDict(v: unknown): v is KasDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * kas's merge (`_internal_dict_merge`): mappings merge recursively, keeping the order keys were
 * first added; any other value (a string, a list, null) replaces what was there.
 */
export function mergeKas(dest: KasDict, upd: KasDict): KasDict {
  const out: KasDict = { ...dest };
  for (const [key, value] of Object.entries(upd)) {
    const old = out[key];
    out[key] = isDict(old) && isDict(value) ? mergeKas(old, value) : value;
  }
  return out;
}

/** Merges files in order; the merged `header.version` is the highest any file has. */
export function mergeKasFiles(configs: KasDict[]): KasDict {
  const merged = configs.reduce<KasDict>((a, c) => mergeKas(a, c), {});
  const versions = configs.map((c) => headerVersion(c));
  const header = isDict(merged.header) ? merged.header : {};
  return { ...merged, header: { ...header, version: Math.max(...versions) } };
}

/** `"0.10"` is format version 1, as kas reads it. */
function headerVersion(c: KasDict): number {
  const v = isDict(c.header) ? c.header.version : undefined;
  return typeof v === 'number' ? v : 1;
}

/**
 * The root of the repository holding a directory, as kas finds it (`git rev-parse
 * --show-toplevel`, a submodule counting as part of its superproject); the directory itself when
 * it is in no repository.
 */
export function repoRoot(dir: string): string {
  let found: string | undefined;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const dotGit = path.join(d, '.git');
    if (existsSync(dotGit)) {
      found = d;
      // A submodule's .git is a file pointing into its superproject's .git/modules: keep going up.
      const isSubmodule =
        !statSync(dotGit).isDirectory() && /\/modules\//.test(readFileSync(dotGit, 'utf8').replace(/\\/g, '/'));
      if (!isSubmodule) return d;
    }
    if (path.dirname(d) === d) return found ?? path.resolve(dir);
  }
}

/** The lock file kas looks for next to a file: `kas/ci.yml` → `kas/ci.lock.yml`. */
export function lockFileOf(file: string): string {
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.lock${ext}`);
}

/** The line of a key in a file (of the item, in a list), for messages; undefined when the file does not hold it. */
export function lineIn(f: KasFile, keys: readonly string[]): number | undefined {
  const parent = (keys.length > 1 ? f.doc.getIn(keys.slice(0, -1), true) : f.doc.contents) as Node | undefined;
  const last = keys.at(-1);
  let node: Node | undefined;
  if (isMap(parent)) node = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last)?.key as Node;
  node ??= f.doc.getIn(keys, true) as Node | undefined;
  const start = node?.range?.[0];
  return start === undefined ? undefined : f.lines.linePos(start).line;
}

/** `file:line` of the last file that sets a value (the one whose value won the merge). */
export function whereSet(files: KasFile[], keys: readonly string[]): string {
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i]!;
    let v: unknown = f.config;
    for (const k of keys) v = isDict(v) ? v[k] : undefined;
    if (v !== undefined) {
      const line = lineIn(f, keys);
      return line ? `${f.file}:${line}` : f.file;
    }
  }
  return files[0]?.file ?? 'kas';
}

export function readKasFile(file: string, lock: boolean): KasFile {
  const ext = path.extname(file);
  if (!['.yml', '.yaml', '.json'].includes(ext))
    throw new ConfigError(`${file}: not a kas file name; expected a .yml, .yaml or .json file, as kas reads`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `${file}: kas file not found; expected the file to exist (check the path, and the include that names it)`
        : `${file}: cannot read the kas file (${code ?? String(e)}); expected a readable file`,
    );
  }
  const lines = new LineCounter();
  // kas reads YAML 1.1 (PyYAML): `no`, `yes` and `on` are booleans, as they are here.
  const doc = parseDocument(text, { version: '1.1', lineCounter: lines, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0].line;
    throw new ConfigError(
      `${file}${at ? `:${at}` : ''}: invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}; expected valid YAML, check the indentation and quoting on that line`,
    );
  }
  const config = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (!isDict(config)) {
    throw new ConfigError(`${file}: the top level is not a mapping; expected a kas project file starting with header:`);
  }
  const header = config.header;
  if (!isDict(header) || header.version === undefined) {
    throw new ConfigError(
      `${file}:1: header.version: is missing; expected every kas file to start with header: { version: <n> } (kas's format version, e.g. 14)`,
    );
  }
  const v = header.version;
  if (!(v === '0.10' || (typeof v === 'number' && Number.isInteger(v) && v >= 1))) {
    const line = lineIn({ file, config, lock, doc, lines }, ['header', 'version']);
    throw new ConfigError(
      `${file}:${line ?? 1}: header.version: ${JSON.stringify(v)} is not a kas format version; expected a whole number such as 14 (or "0.10")`,
    );
  }
  return { file, config, lock, doc, lines };
}

interface IncludeScope {
  /** Root of the repository the including file belongs to: local includes are relative to it. */
  repo: string;
  /** Repository ids → directories, for `{repo, file}` includes. */
  repoDirs: ReadonlyMap<string, string>;
  missing: string[];
  notes: string[];
  /** The chain of files being read, to refuse an include cycle. */
  stack: string[];
}

/** A path inside a repository, refusing one that leaves it (kas's sanitize_include_path). */
function inside(root: string, rel: string, from: string): string {
  const candidate = path.resolve(root, rel);
  const back = path.relative(root, candidate);
  if (back === '..' || back.startsWith(`..${path.sep}`) || path.isAbsolute(back)) {
    throw new ConfigError(
      `${from}: header.includes: ${JSON.stringify(rel)} resolves to ${candidate}, outside the repository ${root}; expected a path inside it`,
    );
  }
  return candidate;
}

/** Reads one file with its lock file and includes, depth first; returns them in merge order. */
function readWithIncludes(file: string, scope: IncludeScope, lock = false): KasFile[] {
  if (scope.stack.includes(file)) {
    throw new ConfigError(`${file}: includes itself (through ${scope.stack.join(' → ')}); expected no include cycle`);
  }
  const current = readKasFile(file, lock);
  const out: KasFile[] = [];
  const inner = { ...scope, stack: [...scope.stack, file] };
  const lockFile = lockFileOf(file);
  if (!lock && existsSync(lockFile)) out.push(...readWithIncludes(lockFile, inner, true));
  const includes = (current.config.header as KasDict).includes;
  if (includes !== undefined && !Array.isArray(includes)) {
    throw new ConfigError(
      `${file}:${lineIn(current, ['header', 'includes']) ?? 1}: header.includes: is not a list; expected a list of file paths or { repo, file } mappings`,
    );
  }
  for (const [i, inc] of (includes ?? []).entries()) {
    const at = `${file}:${lineIn(current, ['header', 'includes', String(i)]) ?? 1}`;
    if (typeof inc === 'string') {
      let target = inside(scope.repo, inc, at);
      if (!existsSync(target)) {
        const alternate = inside(path.dirname(file), inc, at);
        if (existsSync(alternate)) {
          scope.notes.push(
            `${at}: include ${JSON.stringify(inc)} is not at the repository root, found relative to the file (kas falls back the same way and warns; write it relative to the repository root)`,
          );
          target = alternate;
        }
      }
      out.push(...readWithIncludes(target, inner));
    } else if (isDict(inc) && typeof inc.repo === 'string' && typeof inc.file === 'string') {
      const dir = scope.repoDirs.get(inc.repo);
      if (dir === undefined) {
        if (!scope.missing.includes(inc.repo)) scope.missing.push(inc.repo);
        continue;
      }
      out.push(...readWithIncludes(inside(dir, inc.file, at), { ...inner, repo: dir }));
    } else {
      throw new ConfigError(
        `${at}: header.includes[${i}]: ${JSON.stringify(inc)} is not an include; expected a path (base.yml) or { repo: <repo id>, file: <path in that repo> }`,
      );
    }
  }
  out.push(current);
  return out;
}

/**
 * Reads the top files (kas's `a.yml:b.yml:c.yml`) with their lock files and includes and merges
 * them. `repoDirs` maps repository ids to directories; includes from repositories not in it are
 * reported in `missingRepos` and left out (call again once they are checked out, as kas does).
 */
export function readKasFiles(topFiles: string[], repoDirs: ReadonlyMap<string, string> = new Map()): KasFiles {
  const top = topFiles.map((f) => path.resolve(f));
  const repo = repoRoot(path.dirname(top[0]!));
  const other = top.find((f) => repoRoot(path.dirname(f)) !== repo);
  if (other) {
    throw new ConfigError(
      `${other}: is not in the repository of ${top[0]} (${repo}); expected all files of a colon-separated list in one repository, as kas requires`,
    );
  }
  const scope: IncludeScope = { repo, repoDirs, missing: [], notes: [], stack: [] };
  const files = top.flatMap((f) => readWithIncludes(f, scope));
  const merged = mergeKasFiles(files.map((f) => f.config));
  return { files, merged, missingRepos: scope.missing, notes: scope.notes };
}
