/**
 * Typed access to a YAML document for a config file, and its error reporting. Every problem is
 * collected, not thrown, so a user sees them all at once, each as
 * `<file>:<line>: <field>: <what is wrong>; expected <what>`, in line order. Knows nothing of
 * smidr.yaml's keys: the caller says which keys a mapping has.
 */
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

import { ConfigError } from '../util/errors.js';
import { type Environment, substituteInDocument } from './env-substitution.js';

export type Scalarish = string | number | boolean | null;

/** One key of a mapping, with its value node (aliases resolved). */
export interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
  /** Dotted field path for messages: `layers[0].commit`. */
  field: string;
}

/** The keys a mapping may hold, for checking a mapping and suggesting the key that was meant. */
export interface KnownKeys {
  keys: readonly string[];
  /** How the mapping is called in a message: `build`, `a layer`, `the top level`. */
  label: string;
  /** Where else a key that is not here belongs (`under directories:`), if anywhere. */
  elsewhere?: (key: string) => string | undefined;
}

/**
 * A number-like value (a YAML number or a numeric string) checked one way: which text forms are
 * accepted, how the text becomes a value, and which values are refused.
 */
export interface QuantityRule<T> {
  expected: string;
  /** The forms accepted, tested on the trimmed text (a YAML number is taken as its text). */
  form: RegExp;
  /** What a value of another form is not: `a number`, `a memory size`. */
  noun: string;
  parse(text: string): T;
  /** Why a value of the right form is refused (`is not a positive whole number`), else undefined. */
  refuse(value: T): string | undefined;
}

/** More errors than this in one file are summarised: the first ones are what needs fixing. */
const MAX_ERRORS = 25;
const CONTROL = /[\x00-\x1f\x7f]/;

/** Levenshtein distance, for "did you mean". */
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

/** The candidate a word is a near miss of (two edits away at most, one for short words), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return candidates
    .map((k) => ({ k, d: editDistance(word.toLowerCase(), k) }))
    .filter((x) => x.d <= (Math.min(word.length, x.k.length) <= 4 ? 1 : 2))
    .sort((x, y) => x.d - y.d)[0]?.k;
}

export class YamlReader {
  /** Problems found, with the line they are on (overrides sort last); reported in line order. */
  private readonly problems: Array<{ line: number; text: string }> = [];
  readonly warnings: string[] = [];
  private readonly lc = new LineCounter();
  private doc: Document.Parsed | undefined;

  constructor(
    private readonly text: string,
    readonly file: string,
  ) {}

  /**
   * The document's top node, or undefined (reported) when the YAML does not parse. With `env`,
   * `${VAR}` references in values are substituted first, except under the `literal` keys.
   */
  parse(env?: Environment, literal: readonly string[] = []): Node | null | undefined {
    this.doc = parseDocument(this.text, { lineCounter: this.lc, uniqueKeys: true });
    if (this.doc.errors.length === 0) {
      const top = this.resolve(this.doc.contents as Node | null);
      if (env) substituteInDocument(top, env, literal);
      return top;
    }
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

  // ---- reporting -----------------------------------------------------------------------------

  lineOf(node: Node | null | undefined): number | undefined {
    const range = node?.range;
    return range ? this.lc.linePos(range[0]).line : undefined;
  }

  /** Records a problem at a node (or a line number). Returns undefined, for `return r.error(…)`. */
  error(at: Node | null | undefined | number, field: string, what: string, expected: string): undefined {
    const line = typeof at === 'number' ? at : this.lineOf(at);
    this.report(line ?? 0, `${this.where(line)}${field ? `${field}: ` : ''}${what}; expected ${expected}`);
    return undefined;
  }

  /** Records a problem found outside the file (an input or a flag): it sorts after the file's. */
  report(line: number, text: string): undefined {
    this.problems.push({ line, text });
    return undefined;
  }

  warn(at: Node | null | undefined, field: string, what: string): void {
    this.warnings.push(`${this.where(this.lineOf(at))}${field ? `${field}: ` : ''}${what}`);
  }

  private where(line: number | undefined): string {
    return `${this.file}${line ? `:${line}` : ''}: `;
  }

  /** How many problems so far: compare before and after reading a field to know whether it failed. */
  get problemCount(): number {
    return this.problems.length;
  }

  /** Runs `f`, recording a ConfigError it throws as a problem on `line`. */
  attempt<T>(f: () => T, line: number): T | undefined {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return this.report(line, e.message);
    }
  }

  /** Throws one ConfigError holding every problem, in line order, when there is any. */
  throwProblems(): void {
    if (this.problems.length === 0) return;
    // A stable sort keeps same-line problems in the order found.
    const all = [...this.problems].sort((a, b) => a.line - b.line).map((p) => p.text);
    const shown = all.slice(0, MAX_ERRORS);
    if (all.length > MAX_ERRORS) shown.push(`… and ${all.length - MAX_ERRORS} more errors`);
    throw new ConfigError(shown.join('\n'));
  }

  // ---- nodes ---------------------------------------------------------------------------------

  resolve(node: Node | null): Node | null {
    return node && isAlias(node) ? ((node.resolve(this.doc!) as Node | undefined) ?? null) : node;
  }

  isEmpty(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }

  /** How a value that has the wrong type reads in a message. */
  describe(node: Node | null): string {
    if (this.isEmpty(node)) return 'is empty';
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

  /** The text of a node as written in the file. */
  source(node: Node): string {
    const r = node.range;
    return r ? this.text.slice(r[0], r[1]).trim() : String((node as { value?: unknown }).value);
  }

  scalar(node: Node | null): Scalarish | undefined {
    return isScalar(node) ? (node.value as Scalarish) : undefined;
  }

  // ---- typed access --------------------------------------------------------------------------

  /**
   * The entries of a mapping. An unknown key is a warning, and the value is ignored, unless it is
   * a near miss of a known key (`machnie`): that is an error with "did you mean". Null (an empty
   * `key:`) is no entries.
   */
  mapping(node: Node | null, field: string, known: KnownKeys, expected: string): Map<string, Entry> | undefined {
    node = this.resolve(node);
    if (this.isEmpty(node)) return new Map();
    if (!isMap(node)) return this.error(node, field, this.describe(node), expected);
    const entries = new Map<string, Entry>();
    for (const pair of (node as YAMLMap<Node, Node | null>).items) {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? String(keyNode.value) : this.source(keyNode);
      const sub = field ? `${field}.${key}` : key;
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string' || !known.keys.includes(key)) {
        this.unknownKey(keyNode, sub, key, known);
        continue;
      }
      entries.set(key, { key, keyNode, value: this.resolve(pair.value ?? null), field: sub });
    }
    return entries;
  }

  private unknownKey(keyNode: Node, field: string, key: string, known: KnownKeys): void {
    const expected = `one of the keys of ${known.label}: ${known.keys.join(', ')}`;
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      this.error(keyNode, field, 'unknown key', expected);
      return;
    }
    const near = closest(key, known.keys);
    if (near) {
      this.error(keyNode, field, `unknown key (did you mean ${near}?)`, expected);
      return;
    }
    const elsewhere = known.elsewhere?.(key);
    this.warn(keyNode, field, `unknown key, ignored${elsewhere ? ` (${key} belongs ${elsewhere})` : ''}`);
  }

  list(e: Entry, expected: string): Array<{ node: Node | null; field: string }> | undefined {
    const n = e.value;
    if (this.isEmpty(n)) return [];
    if (!isSeq(n)) return this.error(n, e.field, this.describe(n), expected);
    return n.items.map((item, i) => ({ node: this.resolve(item as Node | null), field: `${e.field}[${i}]` }));
  }

  /** A string value; numbers and booleans are refused with a hint to quote them. */
  string(node: Node | null, at: Node, field: string, expected: string): string | undefined {
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

  str(e: Entry | undefined, expected: string): string | undefined {
    return e ? this.string(e.value, e.keyNode, e.field, expected) : undefined;
  }

  /** A string that passes a test; `noun` is what it must be (`a valid MACHINE name`). */
  matching(e: Entry | undefined, test: (s: string) => boolean, noun: string, expected: string): string | undefined {
    const s = this.str(e, expected);
    if (s === undefined || !e) return undefined;
    if (!test(s)) return this.error(e.value, e.field, `${JSON.stringify(s)} is not ${noun}`, expected);
    return s;
  }

  /** A string on one line: no line break or control character. */
  singleLine(e: Entry, s: string | undefined, expected: string): string | undefined {
    if (s !== undefined && CONTROL.test(s))
      return this.error(e.value, e.field, `${JSON.stringify(s)} contains a line break or control character`, expected);
    return s;
  }

  /** A list of single-line strings. */
  strings(e: Entry | undefined, expected: string): string[] | undefined {
    if (!e) return undefined;
    const out: string[] = [];
    for (const item of this.list(e, expected) ?? []) {
      const s = this.string(item.node, e.keyNode, item.field, 'a string');
      if (s === undefined) continue;
      if (CONTROL.test(s))
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

  /** A number-like value checked by one rule: counts, CPU shares and memory sizes alike. */
  quantity<T>(e: Entry | undefined, rule: QuantityRule<T>): T | undefined {
    if (!e) return undefined;
    const v = this.scalar(e.value);
    if (typeof v !== 'number' && typeof v !== 'string')
      return this.error(e.value ?? e.keyNode, e.field, this.describe(e.value), rule.expected);
    // A YAML number is shown as written; a string in quotes.
    const shown = typeof v === 'number' ? this.source(e.value!) : JSON.stringify(v.trim());
    const text = typeof v === 'number' ? String(v) : v.trim();
    if (!rule.form.test(text)) return this.error(e.value, e.field, `${shown} is not ${rule.noun}`, rule.expected);
    const value = rule.parse(text);
    const refused = rule.refuse(value);
    return refused ? this.error(e.value, e.field, `${shown} ${refused}`, rule.expected) : value;
  }
}
