/**
 * The Smidr config: smidr.yaml as written by users, validated, with the action's inputs (or the
 * CLI's flags) laid over it. Nothing here touches the network or writes a file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLMap,
} from 'yaml';

import { CONTAINER_ENGINES, type ContainerEngine, DEFAULT_CONTAINER_IMAGE, Inputs } from '../action/constants.js';
import { ConfigError } from '../util/errors.js';
import type { KasProject } from './kas/project.js';
import {
  BITBAKE_NAME,
  BITBAKE_TARGET,
  COMMIT,
  CONF_VARIABLE,
  CONTAINER_IMAGE,
  gitUrlProblem,
  isRepoSubdir,
  isValidRefName,
  LAYER_NAME,
  MEMORY,
  POKY_VERSION,
  YOCTO_SERIES,
} from './names.js';

/** Where a layer's repository comes from. */
export type LayerSource =
  | { kind: 'git'; url: string; branch?: string; tag?: string; commit?: string }
  /** The repository under test itself (or a directory in it), at its current commit. */
  | { kind: 'path'; path: string };

export interface LayerConfig {
  name: string;
  source: LayerSource;
  /**
   * Directories inside the repository that are BitBake layers (hold conf/layer.conf), relative to
   * the repository root; '.' is the root itself. Undefined: every directory holding
   * conf/layer.conf, found after checkout.
   */
  sublayers?: string[];
  /** YAML line of the layer entry, for errors found after checkout. */
  line?: number;
  /** kas include priority of a sublayer (higher: earlier in BBLAYERS); unset is 0. */
  priorities?: Record<string, number>;
  /** Patches applied to the checkout (kas `patches`), in order; a patched checkout is its own store entry. */
  patches?: LayerPatch[];
}

/** One kas patch entry: a patch file or a quilt directory (with `series`) in a repository of the project. */
export interface LayerPatch {
  id: string;
  /** Name of the layer whose checkout holds the patch. */
  repo: string;
  /** Relative to that checkout. */
  path: string;
}

/** One `VAR op "value"` assignment from local_conf, parsed so conf.ts can re-render it escaped. */
export interface ConfAssignment {
  variable: string;
  operator: '=' | '?=' | '??=' | ':=' | '+=' | '=+' | '.=' | '=.';
  value: string;
}

export interface BuildConfig {
  /** Absolute path of the config file, and its directory (relative paths resolve against it). */
  file: string;
  dir: string;
  name: string;
  description?: string;
  yoctoSeries?: string;
  machine: string;
  /** Undefined: 'poky' when a meta-poky layer is present, else 'nodistro' (decided after checkout). */
  distro?: string;
  targets: string[];
  layers: LayerConfig[];
  localConf: ConfAssignment[];
  bitbakeArgs: string[];
  /** PARALLEL_MAKE value, e.g. "-j 8". */
  parallelMake?: string;
  bbNumberThreads?: number;
  /** Persistent directories for local runs and self-hosted runners; absolute, `~` expanded. */
  directories: { downloads: string; sstate: string; layers: string };
  container: { engine: ContainerEngine; image: string; memory?: string; cpuCount?: number };
  /**
   * Conf text from a kas project (local_conf_header, bblayers_conf_header), written as is: it
   * comes from the repository, like its recipes; values from inputs never reach it.
   */
  confText?: { localConf: string; bblayersConf: string };
  /** Variables passed into BitBake's environment (kas `env`): name → default, null = only when set. */
  passEnv?: Record<string, string | null>;
  /** Set when the config is a kas project. */
  kas?: KasProject;
}

/** Values that override the file: the action's inputs, or the CLI's flags. Unset means "keep". */
export interface ConfigOverrides {
  targets?: string[];
  machine?: string;
  distro?: string;
  bitbakeArgs?: string[];
  localConf?: string[];
  containerImage?: string;
  containerEngine?: string;
}
// ---------------------------------------------------------------------------------------------
// Implementation. Everything above is the contract other modules use.

/**
 * Every key smidr.yaml accepts, per mapping. The parser rejects any other key, and the JSON
 * Schema (schema/smidr.schema.json) must list exactly these: a unit test holds the two together.
 * `root` is the top level, `layer` one entry of `layers:`; the others are the mappings of that name.
 */
export const CONFIG_KEYS = {
  root: ['name', 'description', 'yocto_series', 'base', 'directories', 'layers', 'build', 'container'],
  base: ['provider', 'machine', 'distro', 'version'],
  directories: ['downloads', 'sstate', 'layers'],
  layer: ['name', 'git', 'path', 'branch', 'tag', 'commit', 'sublayers'],
  build: ['image', 'targets', 'machine', 'distro', 'parallel_make', 'bb_number_threads', 'local_conf', 'bitbake_args'],
  container: ['engine', 'base_image', 'memory', 'cpu_count'],
} as const;
export type ConfigSection = keyof typeof CONFIG_KEYS;

/** Values of `base.provider`: `poky` adds a poky layer unless one is listed; `none` adds nothing. */
export const BASE_PROVIDERS = ['poky', 'none'] as const;
export const POKY_GIT_URL = 'https://git.yoctoproject.org/poky';
export const DEFAULT_DIRECTORIES = {
  downloads: '~/.smidr/downloads',
  sstate: '~/.smidr/sstate-cache',
  layers: '~/.smidr/layers',
} as const;

const ASSIGNMENT_FORM =
  'one assignment VAR op "value", e.g. INHERIT += "rm_work" (op is one of = ?= ??= := += =+ .= =.)';
const NAME_CHARS = 'letters, digits and . _ + - (starting with a letter or digit)';
/** More errors than this in one file are summarised: the first ones are what needs fixing. */
const MAX_ERRORS = 25;

/**
 * Reads and parses a config file. A missing file is a ConfigError that says how to provide one.
 * See parseConfig for everything else.
 */
export function loadConfig(file: string, overrides: ConfigOverrides, env: { home?: string } = {}): BuildConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw new ConfigError(
        `${file}: config file not found; expected a Smidr config there: create it (see docs/config.md) or set the '${Inputs.Config}' input to its path`,
      );
    }
    if (err.code === 'EISDIR')
      throw new ConfigError(`${file}: is a directory; expected the path of a Smidr config file (smidr.yaml)`);
    throw new ConfigError(
      `${file}: cannot read the config file (${err.code ?? err.message}); expected a readable file`,
    );
  }
  return parseConfig(text, file, overrides, env);
}

/**
 * Parses and validates smidr.yaml text and lays the overrides over it. Pure: reads no file and
 * no environment (`env.home` expands `~`, default: the user's home directory).
 *
 * Every problem found is reported at once: the ConfigError's message holds one line per
 * problem, each `<file>:<line>: <field>: <what is wrong>; expected <what>`, or
 * `input '<name>': …` for an override. Checks that combine fields (a machine and a target must
 * exist somewhere) run only when the fields themselves are valid, so one mistake gives one line.
 */
export function parseConfig(
  text: string,
  file: string,
  overrides: ConfigOverrides,
  env: { home?: string } = {},
): BuildConfig {
  const abs = path.resolve(file);
  const p = new Parser(text, file, path.dirname(abs), env.home ?? os.homedir());
  const config = p.parse(abs, overrides);
  const errors = p.errors;
  if (errors.length > 0 || !config) {
    const shown = errors.slice(0, MAX_ERRORS);
    if (errors.length > MAX_ERRORS) shown.push(`… and ${errors.length - MAX_ERRORS} more errors`);
    throw new ConfigError(shown.join('\n'));
  }
  return config;
}

/**
 * Parses one `VAR op "value"` line (local_conf, the local-conf input). `where` starts the error
 * message: `smidr.yaml:12: build.local_conf[0]` or `input 'local-conf'`.
 *
 * BitBake keeps the text between the quotes verbatim; conf.ts writes the value back in double
 * quotes escaping `\` and `"`. So the value returned here is the text with exactly those two
 * escapes undone, and anything that would not survive that round trip unchanged is refused:
 * the line BitBake reads is the line the user wrote (single quotes become double quotes).
 */
export function parseConfAssignment(line: string, where: string): ConfAssignment {
  const fail = (what: string, expected: string = ASSIGNMENT_FORM): never => {
    throw new ConfigError(`${where}: ${what}; expected ${expected}`);
  };
  const shown = JSON.stringify(line);
  if (/[\r\n]/.test(line)) fail(`${shown} contains a line break`, `a single line: ${ASSIGNMENT_FORM}`);
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) fail(`${shown} contains a control character`);
  const text = line.trim();
  if (text.includes('${@')) {
    fail(
      `${shown} contains inline Python (\${@…}), which is refused: these lines come from the config and workflow inputs, and BitBake would run the code`,
      'a plain value; put Python in a .bbappend or a conf file in one of your layers',
    );
  }
  const m =
    /^([A-Za-z_][A-Za-z0-9_.+-]*?(?::[A-Za-z0-9_${}.+-]+?)*(?:\[[A-Za-z0-9_.-]+\])?)\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*(.*)$/.exec(
      text,
    );
  if (!m) {
    const directive =
      /^(include|require|include_all|inherit|inherit_defer|export|unset|addtask|deltask|addhandler|addpylib|addfragments|python|def|fakeroot|EXPORT_FUNCTIONS)(\s+(.*))?$/.exec(
        text,
      );
    if (directive?.[1] === 'inherit' || directive?.[1] === 'inherit_defer') {
      fail(
        `${shown} is an inherit directive, which is not an assignment`,
        `INHERIT += "${directive[3]?.trim() ?? 'class'}" instead`,
      );
    }
    if (directive?.[1] === 'include' || directive?.[1] === 'require' || directive?.[1] === 'include_all') {
      fail(
        `${shown} is ${directive[1] === 'require' ? 'a' : 'an'} ${directive[1]} directive, which is not an assignment`,
        `assignments only (VAR op "value"); keep includes in a conf file in one of your layers`,
      );
    }
    if (directive) fail(`${shown} is a BitBake "${directive[1]}" statement, not an assignment`);
    if (text === '') fail('the line is empty');
    fail(`${shown} is not an assignment`);
  }
  const [, variable, operator, rest] = m as unknown as [string, string, ConfAssignment['operator'], string];
  if (!CONF_VARIABLE.test(variable))
    fail(
      `${JSON.stringify(variable)} is not a variable name`,
      `VAR, VAR:override or VAR[flag] on the left of ${operator}`,
    );
  const quote = rest[0] ?? '';
  if (quote !== '"' && quote !== "'") {
    fail(`${shown}: the value is not in quotes`, `${variable} ${operator} "${rest}"`);
  }
  // BitBake's own grammar: the value is everything between the first and the last quote, taken
  // verbatim (no escapes), and a value with exactly one inner quote of its kind does not parse.
  if (rest.length < 2 || !rest.endsWith(quote)) {
    fail(`${shown}: the value must end with its closing ${quote} (BitBake takes no comment after a value)`);
  }
  const value = rest.slice(1, -1);
  if (value.split(quote).length === 2) {
    fail(
      `${shown}: the value holds exactly one ${quote}, a line BitBake cannot parse`,
      `no ${quote} or at least two inside the value, or the other kind of quotes around it`,
    );
  }
  return { variable, operator, value };
}

// ---------------------------------------------------------------------------------------------

type Scalarish = string | number | boolean | null;

interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
  /** Dotted field path for messages: `layers[0].commit`. */
  field: string;
}

/** Damerau-free Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function unknownKeyHint(key: string, section: ConfigSection): string {
  const close = CONFIG_KEYS[section]
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k) }))
    .filter((x) => x.d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  if (close) return ` (did you mean ${close.k}?)`;
  const elsewhere = (Object.keys(CONFIG_KEYS) as ConfigSection[])
    .filter((s) => s !== section && s !== 'root' && (CONFIG_KEYS[s] as readonly string[]).includes(key))
    .map((s) => (s === 'layer' ? 'a layer entry' : `${s}:`));
  return elsewhere.length > 0 ? ` (${key} belongs under ${elsewhere.join(' or ')})` : '';
}

const SECTION_LABEL: Record<ConfigSection, string> = {
  root: 'the top level',
  base: 'base',
  directories: 'directories',
  layer: 'a layer',
  build: 'build',
  container: 'container',
};

class Parser {
  /** Problems found, with the line they are on (inputs sort last); reported in line order. */
  private readonly problems: Array<{ line: number; text: string }> = [];
  private readonly lc = new LineCounter();
  private doc!: Document.Parsed;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly dir: string,
    private readonly home: string,
  ) {}

  // ---- reporting -----------------------------------------------------------------------------

  private lineOf(node: Node | null | undefined): number | undefined {
    const range = node?.range;
    return range ? this.lc.linePos(range[0]).line : undefined;
  }

  private error(at: Node | null | undefined | number, field: string, what: string, expected: string): undefined {
    const line = typeof at === 'number' ? at : this.lineOf(at);
    this.problems.push({
      line: line ?? 0,
      text: `${this.file}${line ? `:${line}` : ''}: ${field ? `${field}: ` : ''}${what}; expected ${expected}`,
    });
    return undefined;
  }

  private inputError(input: Inputs, what: string, expected: string): undefined {
    this.problems.push({ line: Infinity, text: `input '${input}': ${what}; expected ${expected}` });
    return undefined;
  }

  private resolve(node: Node | null): Node | null {
    return node && isAlias(node) ? ((node.resolve(this.doc) as Node | undefined) ?? null) : node;
  }

  /** How a value that has the wrong type reads in a message. */
  private describe(node: Node | null): string {
    if (node === null || (isScalar(node) && node.value === null)) return 'is empty';
    if (isMap(node)) return 'is a mapping';
    if (isSeq(node)) return 'is a list';
    if (isScalar(node)) {
      const src = this.source(node);
      if (typeof node.value === 'number') return `${src} is a number`;
      if (typeof node.value === 'boolean') return `${src} is a boolean`;
      if (typeof node.value === 'string') return `${JSON.stringify(node.value)} is a string`;
    }
    return 'has an unsupported type';
  }

  private source(node: Node): string {
    const r = node.range;
    return r ? this.text.slice(r[0], r[1]).trim() : String((node as { value?: unknown }).value);
  }

  // ---- typed access --------------------------------------------------------------------------

  /** The entries of a mapping; unknown keys are reported. Null (an empty `key:`) is no entries. */
  private mapping(
    node: Node | null,
    field: string,
    section: ConfigSection,
    expected: string,
  ): Map<string, Entry> | undefined {
    node = this.resolve(node);
    if (node === null || (isScalar(node) && node.value === null)) return new Map();
    if (!isMap(node)) return this.error(node, field, this.describe(node), expected);
    const entries = new Map<string, Entry>();
    for (const pair of (node as YAMLMap<Node, Node | null>).items) {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? String(keyNode.value) : this.source(keyNode);
      const sub = field ? `${field}.${key}` : key;
      if (
        !isScalar(keyNode) ||
        typeof keyNode.value !== 'string' ||
        !(CONFIG_KEYS[section] as readonly string[]).includes(key)
      ) {
        this.error(
          keyNode,
          sub,
          `unknown key${unknownKeyHint(key, section)}`,
          `one of the keys of ${SECTION_LABEL[section]}: ${CONFIG_KEYS[section].join(', ')}`,
        );
        continue;
      }
      entries.set(key, { key, keyNode, value: this.resolve(pair.value ?? null), field: sub });
    }
    return entries;
  }

  private list(e: Entry, expected: string): Array<{ node: Node | null; field: string }> | undefined {
    const n = e.value;
    if (n === null || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) return this.error(n, e.field, this.describe(n), expected);
    return n.items.map((item, i) => ({ node: this.resolve(item as Node | null), field: `${e.field}[${i}]` }));
  }

  /** A string value; numbers and booleans are refused with a hint to quote them. */
  private string(node: Node | null, at: Node, field: string, expected: string): string | undefined {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    if (isScalar(node) && node.value === null && this.source(node) === '~') {
      return this.error(
        node,
        field,
        '~ alone is YAML for "no value"',
        `${expected}; for the home directory write "~" in quotes`,
      );
    }
    if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) {
      return this.error(
        node,
        field,
        `${this.describe(node)}, not a string`,
        `${expected}; write it in quotes: "${this.source(node)}"`,
      );
    }
    return this.error(node ?? at, field, this.describe(node), expected);
  }

  private str(e: Entry | undefined, expected: string): string | undefined {
    return e ? this.string(e.value, e.keyNode, e.field, expected) : undefined;
  }

  /** A string matching a pattern. */
  private matching(
    e: Entry | undefined,
    test: (s: string) => boolean,
    noun: string,
    expected: string,
  ): string | undefined {
    const s = this.str(e, expected);
    if (s === undefined || !e) return undefined;
    if (!test(s)) return this.error(e.value, e.field, `${JSON.stringify(s)} is not ${noun}`, expected);
    return s;
  }

  private scalar(node: Node | null): Scalarish | undefined {
    return isScalar(node) ? (node.value as Scalarish) : undefined;
  }

  private noControl(e: Entry, s: string | undefined, expected: string): string | undefined {
    if (s !== undefined && /[\x00-\x1f\x7f]/.test(s))
      return this.error(e.value, e.field, `${JSON.stringify(s)} contains a line break or control character`, expected);
    return s;
  }

  // ---- the config ----------------------------------------------------------------------------

  parse(abs: string, overrides: ConfigOverrides): BuildConfig | undefined {
    this.doc = parseDocument(this.text, { lineCounter: this.lc, uniqueKeys: true });
    if (this.doc.errors.length > 0) {
      for (const e of this.doc.errors) {
        const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        this.error(
          e.linePos?.[0].line,
          '',
          `invalid YAML: ${what}`,
          'valid YAML; check the indentation and quoting on that line',
        );
      }
      return undefined;
    }
    const top = this.resolve(this.doc.contents as Node | null);
    if (top === null || (isScalar(top) && top.value === null)) {
      return this.error(1, '', 'the file is empty', `a mapping with at least name and layers (see docs/config.md)`);
    }
    if (!isMap(top)) {
      return this.error(
        top,
        '',
        `the top level ${this.describe(top)}`,
        `a mapping of keys: ${CONFIG_KEYS.root.join(', ')}`,
      );
    }
    const root = this.mapping(top, '', 'root', '')!;

    const nameEntry = root.get('name');
    const name = nameEntry
      ? this.noControl(
          nameEntry,
          this.str(nameEntry, 'a project name, e.g. name: my-project'),
          'a single-line project name',
        )
      : this.error(top, 'name', 'is missing', 'a project name, e.g. name: my-project');
    if (name !== undefined && name.trim() === '')
      this.error(nameEntry!.value, 'name', 'is blank', 'a project name, e.g. name: my-project');
    const description = root.get('description') ? this.str(root.get('description'), 'a text') : undefined;
    const yoctoSeries = this.matching(
      root.get('yocto_series'),
      (s) => YOCTO_SERIES.test(s) && isValidRefName(s),
      'a Yocto series name',
      'a release codename in lowercase, e.g. kirkstone, scarthgap, wrynose or master',
    );

    // base
    const baseEntry = root.get('base');
    const base = baseEntry
      ? this.mapping(baseEntry.value, 'base', 'base', 'a mapping: { provider, machine, distro, version }')
      : undefined;
    const provider = this.matching(
      base?.get('provider'),
      (s) => (BASE_PROVIDERS as readonly string[]).includes(s),
      'a supported provider',
      `one of ${BASE_PROVIDERS.join(', ')} (for other layer sets, set provider: none and list the layers under layers)`,
    );
    const baseMachine = this.bitbakeName(base?.get('machine'), 'MACHINE', 'qemux86-64');
    const baseDistro = this.bitbakeName(base?.get('distro'), 'DISTRO', 'poky');
    const version = this.matching(
      base?.get('version'),
      (s) => POKY_VERSION.test(s),
      'a poky version',
      'a release version in quotes, e.g. "4.0.20" (the tag yocto-4.0.20)',
    );

    // directories
    const dirEntry = root.get('directories');
    const dirs = dirEntry
      ? this.mapping(dirEntry.value, 'directories', 'directories', 'a mapping: { downloads, sstate, layers }')
      : undefined;
    const directories = {
      downloads: this.directory(dirs?.get('downloads'), DEFAULT_DIRECTORIES.downloads),
      sstate: this.directory(dirs?.get('sstate'), DEFAULT_DIRECTORIES.sstate),
      layers: this.directory(dirs?.get('layers'), DEFAULT_DIRECTORIES.layers),
    };

    // layers
    const layersEntry = root.get('layers');
    const layerItems = layersEntry
      ? (this.list(layersEntry, 'a list of layers, each a mapping with name and git or path') ?? [])
      : [];
    const layers: LayerConfig[] = [];
    const seen = new Map<string, string>();
    for (const item of layerItems) {
      const layer = this.layer(item.node, item.field, layersEntry!.keyNode);
      if (!layer) continue;
      const other = seen.get(layer.name.toLowerCase());
      if (other !== undefined) {
        this.error(
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

    // the implicit poky layer
    if (provider === 'poky' && !layers.some((l) => l.name === 'poky')) {
      const at = base!.get('provider')!.value;
      const split = layers.find((l) => l.name === 'openembedded-core' || l.name === 'bitbake');
      if (split) {
        this.error(
          at,
          'base.provider',
          `poky would add a poky layer beside the listed layer ${split.name} (the split layout)`,
          'provider: none with the split layout, or a layer named poky',
        );
      } else if (version !== undefined || yoctoSeries !== undefined) {
        layers.unshift({
          name: 'poky',
          source:
            version !== undefined
              ? { kind: 'git', url: POKY_GIT_URL, tag: `yocto-${version}` }
              : { kind: 'git', url: POKY_GIT_URL, branch: yoctoSeries! },
          line: this.lineOf(baseEntry!.keyNode),
        });
      } else if (!base!.has('version') && !root.has('yocto_series')) {
        this.error(
          at,
          'base.provider',
          'poky is not listed in layers, and neither base.version nor yocto_series says which poky to use',
          'a layer named poky under layers, base.version (e.g. "4.0.20"), or yocto_series (e.g. kirkstone)',
        );
      }
    } else if (provider !== 'poky' && version !== undefined) {
      this.error(
        base!.get('version')!.value,
        'base.version',
        'is only used with provider: poky',
        'provider: poky, or no base.version',
      );
    }

    // build
    const buildEntry = root.get('build');
    const build = buildEntry
      ? this.mapping(buildEntry.value, 'build', 'build', 'a mapping: { image, targets, machine, distro, … }')
      : undefined;
    const image = this.target(build?.get('image'));
    const targetsEntry = build?.get('targets');
    const fileTargets: string[] = image !== undefined ? [image] : [];
    if (targetsEntry) {
      for (const item of this.list(targetsEntry, 'a list of targets, e.g. [core-image-minimal, core-image-base]') ??
        []) {
        const t = this.target({ key: 'targets', keyNode: targetsEntry.keyNode, value: item.node, field: item.field });
        if (t !== undefined && !fileTargets.includes(t)) fileTargets.push(t);
      }
    }
    const buildMachine = this.bitbakeName(build?.get('machine'), 'MACHINE', 'qemux86-64');
    const buildDistro = this.bitbakeName(build?.get('distro'), 'DISTRO', 'poky');
    const parallelMake = this.parallelMake(build?.get('parallel_make'));
    const bbNumberThreads = this.positiveInteger(
      build?.get('bb_number_threads'),
      'a positive whole number of BitBake tasks run at once, e.g. 8',
    );
    const localConf: ConfAssignment[] = [];
    const localConfEntry = build?.get('local_conf');
    if (localConfEntry) {
      for (const item of this.list(localConfEntry, `a list of lines, each ${ASSIGNMENT_FORM}`) ?? []) {
        const line = this.string(item.node, localConfEntry.keyNode, item.field, ASSIGNMENT_FORM);
        if (line === undefined) continue;
        const a = this.attempt(
          () => parseConfAssignment(line, `${this.file}:${this.lineOf(item.node) ?? '?'}: ${item.field}`),
          this.lineOf(item.node) ?? 0,
        );
        if (a) localConf.push(a);
      }
    }
    const bitbakeArgs = this.strings(build?.get('bitbake_args'), 'a list of BitBake arguments, e.g. [-k]');

    // container
    const containerEntry = root.get('container');
    const container = containerEntry
      ? this.mapping(
          containerEntry.value,
          'container',
          'container',
          'a mapping: { engine, base_image, memory, cpu_count }',
        )
      : undefined;
    const engine = this.matching(
      container?.get('engine'),
      (s) => (CONTAINER_ENGINES as readonly string[]).includes(s),
      'a container engine',
      CONTAINER_ENGINES.join(', '),
    ) as ContainerEngine | undefined;
    const fileImage = this.matching(
      container?.get('base_image'),
      (s) => CONTAINER_IMAGE.test(s),
      'an image reference',
      'an image name such as crops/poky:ubuntu-22.04',
    );
    const memory = this.memory(container?.get('memory'));
    const cpuCount = this.cpuCount(container?.get('cpu_count'));

    // overrides: the action's inputs (or the CLI's flags)
    const o = this.overrides(overrides);

    const fieldErrors = this.problems.length;
    const machine = o.machine ?? buildMachine ?? baseMachine;
    const machineBroken = [build?.get('machine'), base?.get('machine')].some(
      (e) => e && this.problems.some((m) => m.text.includes(` ${e.field}: `)),
    );
    if (machine === undefined && !machineBroken && o.machineBroken === false) {
      this.error(
        undefined,
        'build.machine',
        'no MACHINE is set',
        `build.machine, base.machine or the '${Inputs.Machine}' input`,
      );
    }
    const targets = o.targets ?? fileTargets;
    if (targets.length === 0 && fieldErrors === 0) {
      this.error(
        buildEntry?.keyNode,
        'build.targets',
        'nothing to build',
        `build.image, build.targets or the '${Inputs.Target}' input`,
      );
    }
    if (layers.length === 0 && fieldErrors === 0) {
      this.error(
        layersEntry?.keyNode ?? top,
        'layers',
        'no layers',
        'at least one layer under layers, or base: { provider: poky, version: … }',
      );
    }

    if (this.problems.length > 0) return undefined;
    return {
      file: abs,
      dir: this.dir,
      name: name!,
      description,
      yoctoSeries,
      machine: machine!,
      distro: o.distro ?? buildDistro ?? baseDistro,
      targets,
      layers,
      localConf: [...localConf, ...o.localConf],
      bitbakeArgs: [...(bitbakeArgs ?? []), ...o.bitbakeArgs],
      parallelMake,
      bbNumberThreads,
      directories: { downloads: directories.downloads!, sstate: directories.sstate!, layers: directories.layers! },
      container: {
        engine: o.engine ?? engine ?? 'docker',
        image: o.image ?? fileImage ?? DEFAULT_CONTAINER_IMAGE,
        memory,
        cpuCount,
      },
    };
  }

  /** Error messages in line order (a stable sort keeps same-line ones in the order found). */
  get errors(): string[] {
    return [...this.problems].sort((a, b) => a.line - b.line).map((p) => p.text);
  }

  private attempt<T>(f: () => T, line: number): T | undefined {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.problems.push({ line, text: e.message });
      return undefined;
    }
  }

  private bitbakeName(e: Entry | undefined, what: 'MACHINE' | 'DISTRO', example: string): string | undefined {
    return this.matching(e, (s) => BITBAKE_NAME.test(s), `a valid ${what} name`, `${NAME_CHARS}, e.g. ${example}`);
  }

  private target(e: Entry | undefined): string | undefined {
    return this.matching(
      e,
      (s) => BITBAKE_TARGET.test(s),
      'a valid target',
      `a recipe or image name (${NAME_CHARS}), optionally with :do_<task>, e.g. core-image-minimal`,
    );
  }

  private strings(e: Entry | undefined, expected: string): string[] | undefined {
    if (!e) return undefined;
    const out: string[] = [];
    for (const item of this.list(e, expected) ?? []) {
      const s = this.string(item.node, e.keyNode, item.field, 'a string');
      if (s === undefined) continue;
      if (/[\x00-\x1f\x7f]/.test(s))
        this.error(
          item.node,
          item.field,
          `${JSON.stringify(s)} contains a line break or control character`,
          'a single-line argument',
        );
      else out.push(s);
    }
    return out;
  }

  /** `~`, `~/x`, absolute, or relative to the config file's directory. */
  private directory(e: Entry | undefined, fallback: string): string | undefined {
    const expected = 'an absolute path, ~/… or a path relative to the config file';
    const raw = e ? this.noControl(e, this.str(e, expected), expected) : fallback;
    if (raw === undefined) return undefined;
    if (raw.trim() === '') return this.error(e!.value, e!.field, 'is blank', expected);
    if (raw.startsWith('$'))
      return this.error(e!.value, e!.field, `${JSON.stringify(raw)}: environment variables are not expanded`, expected);
    if (raw.startsWith('~') && raw !== '~' && !raw.startsWith('~/'))
      return this.error(
        e!.value,
        e!.field,
        `${JSON.stringify(raw)}: only ~ (your home) is expanded, not ~user`,
        expected,
      );
    if (raw === '~' || raw.startsWith('~/')) return path.join(this.home, raw.slice(1));
    return path.resolve(this.dir, raw);
  }

  private parallelMake(e: Entry | undefined): string | undefined {
    if (!e) return undefined;
    const expected = 'a job count: -j8, "-j 8" or 8';
    const v = this.scalar(e.value);
    let n: number | undefined;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string') {
      const m = /^(?:-j\s*)?([0-9]+)$/.exec(v.trim());
      if (m) n = Number(m[1]);
      else return this.error(e.value, e.field, `${JSON.stringify(v)} is not a job count`, expected);
    } else return this.error(e.value ?? e.keyNode, e.field, this.describe(e.value), expected);
    if (!Number.isInteger(n) || n < 1)
      return this.error(e.value, e.field, `${this.source(e.value!)} is not a positive whole number`, expected);
    return `-j ${n}`;
  }

  private positiveInteger(e: Entry | undefined, expected: string): number | undefined {
    if (!e) return undefined;
    const v = this.scalar(e.value);
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[0-9]+\s*$/.test(v) ? Number(v) : undefined;
    if (n === undefined)
      return this.error(
        e.value ?? e.keyNode,
        e.field,
        typeof v === 'string' ? `${JSON.stringify(v)} is not a number` : this.describe(e.value),
        expected,
      );
    if (!Number.isInteger(n) || n < 1)
      return this.error(e.value, e.field, `${this.source(e.value!)} is not a positive whole number`, expected);
    return n;
  }

  private memory(e: Entry | undefined): string | undefined {
    if (!e) return undefined;
    const expected = 'a memory limit: a number of bytes, or a number with b, k, m or g, e.g. 8g';
    const v = this.scalar(e.value);
    const s = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
    if (s === undefined) return this.error(e.value ?? e.keyNode, e.field, this.describe(e.value), expected);
    if (!MEMORY.test(s)) return this.error(e.value, e.field, `${JSON.stringify(s)} is not a memory size`, expected);
    if (/^0+[bkmg]?$/i.test(s)) return this.error(e.value, e.field, `${JSON.stringify(s)} is zero`, expected);
    return s;
  }

  private cpuCount(e: Entry | undefined): number | undefined {
    if (!e) return undefined;
    const expected = 'a positive number of CPUs, e.g. 4 or 1.5';
    const v = this.scalar(e.value);
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(v) ? Number(v) : undefined;
    if (n === undefined)
      return this.error(
        e.value ?? e.keyNode,
        e.field,
        typeof v === 'string' ? `${JSON.stringify(v)} is not a number` : this.describe(e.value),
        expected,
      );
    if (!Number.isFinite(n) || n <= 0)
      return this.error(e.value, e.field, `${this.source(e.value!)} is not a positive number`, expected);
    return n;
  }

  private layer(node: Node | null, field: string, listKey: Node): LayerConfig | undefined {
    const shape =
      'a mapping with name and git or path, e.g. { name: meta-oe, git: https://git.openembedded.org/meta-openembedded, branch: kirkstone }';
    if (!isMap(node)) return this.error(node ?? listKey, field, this.describe(node), shape);
    const line = this.lineOf(node);
    const entries = this.mapping(node, field, 'layer', shape)!;
    const before = this.problems.length;

    const nameEntry = entries.get('name');
    const name = nameEntry
      ? this.matching(
          nameEntry,
          (s) => LAYER_NAME.test(s),
          'a valid layer name',
          "letters, digits and . _ - (starting with a letter or digit); it names the layer's directory",
        )
      : this.error(node, `${field}.name`, 'is missing', 'a layer name, e.g. name: meta-oe');

    const gitEntry = entries.get('git');
    const pathEntry = entries.get('path');
    const branchEntry = entries.get('branch');
    const tagEntry = entries.get('tag');
    const commitEntry = entries.get('commit');
    const refExpected = 'a git branch or tag name (letters, digits and . _ / + -, no "..")';
    const branch = this.matching(branchEntry, isValidRefName, 'a valid branch name', refExpected);
    const tag = this.matching(tagEntry, isValidRefName, 'a valid tag name', refExpected);
    const commit = this.matching(
      commitEntry,
      (s) => COMMIT.test(s),
      'a commit id',
      '7 to 40 lowercase hex digits (git rev-parse HEAD)',
    );
    const sublayers = this.sublayers(entries.get('sublayers'));

    let source: LayerSource | undefined;
    if (gitEntry && pathEntry) {
      this.error(
        pathEntry.keyNode,
        `${field}.path`,
        'a layer has both git and path',
        'exactly one of them: git for a repository to fetch, path for the checked-out repository',
      );
    } else if (!gitEntry && !pathEntry) {
      this.error(
        node,
        field,
        'the layer has neither git nor path',
        'git: <repository URL> for a repository to fetch, or path: <dir> for the checked-out repository (e.g. path: .)',
      );
    } else if (pathEntry) {
      for (const e of [branchEntry, tagEntry, commitEntry]) {
        if (e)
          this.error(
            e.keyNode,
            e.field,
            `a path layer takes no ${e.key} (it is built at the commit that is checked out)`,
            'path alone, or git with branch, tag or commit',
          );
      }
      const p = this.layerPath(pathEntry);
      if (p !== undefined) source = { kind: 'path', path: p };
    } else {
      if (tagEntry && (branchEntry || commitEntry)) {
        this.error(
          tagEntry.keyNode,
          tagEntry.field,
          `tag cannot be combined with ${branchEntry ? 'branch' : 'commit'}`,
          'either tag alone, or branch and/or commit',
        );
      }
      const url = this.gitUrl(gitEntry!);
      if (url !== undefined)
        source = {
          kind: 'git',
          url,
          ...(branch !== undefined && { branch }),
          ...(tag !== undefined && { tag }),
          ...(commit !== undefined && { commit }),
        };
    }
    if (this.problems.length > before || name === undefined || source === undefined) return undefined;
    return { name, source, ...(sublayers !== undefined && { sublayers }), line };
  }

  private gitUrl(e: Entry): string | undefined {
    const expected = 'a repository URL git accepts (https://, ssh://, git://, file://, user@host:path) or a local path';
    const url = this.str(e, expected);
    if (url === undefined) return undefined;
    const problem = gitUrlProblem(url);
    if (problem) return this.error(e.value, e.field, `${JSON.stringify(url)} ${problem}`, expected);
    if (url.startsWith('./') || url.startsWith('../') || url === '.' || url === '..')
      return path.resolve(this.dir, url);
    if (url === '~' || url.startsWith('~/')) return path.join(this.home, url.slice(1));
    return url;
  }

  /** A path layer: relative to the config file's directory, and inside it. */
  private layerPath(e: Entry): string | undefined {
    const expected = 'a directory relative to the config file, inside its directory, e.g. . or meta-mylayer';
    const raw = this.str(e, expected);
    if (raw === undefined) return undefined;
    if (raw.startsWith('/') || path.isAbsolute(raw))
      return this.error(e.value, e.field, `${JSON.stringify(raw)} is absolute`, expected);
    const norm = path.posix.normalize(raw).replace(/\/+$/, '') || '.';
    if (norm === '..' || norm.startsWith('../'))
      return this.error(e.value, e.field, `${JSON.stringify(raw)} leaves the config file's directory`, expected);
    if (!isRepoSubdir(norm))
      return this.error(
        e.value,
        e.field,
        `${JSON.stringify(raw)} is not a plain relative directory`,
        `${expected} (letters, digits and . _ + - /)`,
      );
    return norm;
  }

  private sublayers(e: Entry | undefined): string[] | undefined {
    if (!e) return undefined;
    const expected =
      'directories inside the repository holding conf/layer.conf, e.g. [meta, meta-poky, meta-yocto-bsp] (. is the repository root)';
    const items = this.list(e, expected);
    if (items === undefined) return undefined;
    if (items.length === 0)
      return this.error(
        e.value ?? e.keyNode,
        e.field,
        'is an empty list',
        `${expected}, or no sublayers key to use every directory holding conf/layer.conf`,
      );
    const out: string[] = [];
    for (const item of items) {
      const raw = this.string(item.node, e.keyNode, item.field, expected);
      if (raw === undefined) continue;
      const norm = raw === '.' || raw === './' ? '.' : path.posix.normalize(raw).replace(/\/+$/, '');
      if (raw.startsWith('/')) this.error(item.node, item.field, `${JSON.stringify(raw)} is absolute`, expected);
      else if (norm === '..' || norm.startsWith('../') || raw.split('/').includes('..'))
        this.error(item.node, item.field, `${JSON.stringify(raw)} contains ..`, expected);
      else if (!isRepoSubdir(norm))
        this.error(
          item.node,
          item.field,
          `${JSON.stringify(raw)} is not a plain relative directory`,
          `${expected}; letters, digits and . _ + - /`,
        );
      else if (out.includes(norm))
        this.error(item.node, item.field, `${JSON.stringify(raw)} is listed twice`, 'each sublayer once');
      else out.push(norm);
    }
    return out;
  }

  private overrides(o: ConfigOverrides): {
    targets?: string[];
    machine?: string;
    machineBroken: boolean;
    distro?: string;
    bitbakeArgs: string[];
    localConf: ConfAssignment[];
    image?: string;
    engine?: ContainerEngine;
  } {
    const name = (input: Inputs, value: string | undefined, what: string, example: string): string | undefined => {
      if (value === undefined) return undefined;
      if (!BITBAKE_NAME.test(value))
        return this.inputError(
          input,
          `${JSON.stringify(value)} is not a valid ${what} name`,
          `${NAME_CHARS}, e.g. ${example}`,
        );
      return value;
    };
    const before = this.problems.length;
    const machine = name(Inputs.Machine, o.machine, 'MACHINE', 'qemux86-64');
    const machineBroken = this.problems.length > before;
    const distro = name(Inputs.Distro, o.distro, 'DISTRO', 'poky');

    let targets: string[] | undefined;
    if (o.targets && o.targets.length > 0) {
      targets = [];
      for (const t of o.targets) {
        if (!BITBAKE_TARGET.test(t))
          this.inputError(
            Inputs.Target,
            `${JSON.stringify(t)} is not a valid target`,
            `recipe or image names (${NAME_CHARS}), optionally with :do_<task>, e.g. core-image-minimal`,
          );
        else if (!targets.includes(t)) targets.push(t);
      }
    }
    const bitbakeArgs: string[] = [];
    for (const a of o.bitbakeArgs ?? []) {
      if (/[\x00-\x1f\x7f]/.test(a))
        this.inputError(
          Inputs.BitbakeArgs,
          `${JSON.stringify(a)} contains a line break or control character`,
          'single-line arguments, e.g. -k',
        );
      else bitbakeArgs.push(a);
    }
    const localConf: ConfAssignment[] = [];
    for (const line of o.localConf ?? []) {
      const a = this.attempt(() => parseConfAssignment(line, `input '${Inputs.LocalConf}'`), Infinity);
      if (a) localConf.push(a);
    }
    let image: string | undefined;
    if (o.containerImage !== undefined) {
      if (CONTAINER_IMAGE.test(o.containerImage)) image = o.containerImage;
      else
        this.inputError(
          Inputs.ContainerImage,
          `${JSON.stringify(o.containerImage)} is not an image reference`,
          'an image name such as crops/poky:ubuntu-22.04',
        );
    }
    let engine: ContainerEngine | undefined;
    if (o.containerEngine !== undefined) {
      if ((CONTAINER_ENGINES as readonly string[]).includes(o.containerEngine))
        engine = o.containerEngine as ContainerEngine;
      else
        this.inputError(
          Inputs.ContainerEngine,
          `${JSON.stringify(o.containerEngine)} is not a container engine`,
          CONTAINER_ENGINES.join(', '),
        );
    }
    return { targets, machine, machineBroken, distro, bitbakeArgs, localConf, image, engine };
  }
}
