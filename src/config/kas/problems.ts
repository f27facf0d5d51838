/**
 * Problems found in a merged kas project, each pointing at the file and line whose value won the
 * merge: errors stop the build (all reported at once), warnings are said once each.
 */
import { isDict, type KasFile, whereSet } from './files.js';

/** Keys kas knows that the action does not act on, and why; any other unknown key is named as such. */
const UNSUPPORTED: Record<string, string> = {
  artifacts: 'the action reports the images in the deploy directory (the images output) instead',
  signers: 'repository signatures are not verified: commits are checked out unverified',
  signed: 'repository signatures are not verified: this commit is checked out unverified',
  allowed_signers: 'repository signatures are not verified',
  menu_configuration: 'kas menu (Kconfig) settings have no meaning here',
  proxy_config: 'obsolete in kas; set proxies in the runner environment',
  _source_dir: 'written by kas menu for kas-container; not used',
  _source_dir_host: 'written by kas menu for kas-container; not used',
};

export class KasProblems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  private readonly warned = new Set<string>();

  constructor(private readonly files: KasFile[]) {}

  get errorCount(): number {
    return this.errors.length;
  }

  where(keys: readonly string[]): string {
    return whereSet(this.files, keys);
  }

  error(keys: readonly string[], what: string, expected: string): undefined {
    this.errors.push(`${this.where(keys)}: ${keys.join('.')}: ${what}; expected ${expected}`);
    return undefined;
  }

  warn(keys: readonly string[], what: string): void {
    const text = `${this.where(keys)}: ${keys.join('.')}: ${what}`;
    if (!this.warned.has(text)) this.warnings.push(text);
    this.warned.add(text);
  }

  /** A key the action does not act on: one warning naming it, never a silent drop. */
  unsupported(keys: readonly string[]): void {
    const key = keys.at(-1)!;
    const why = UNSUPPORTED[key] ?? 'not a kas key this action knows (a newer kas format, or a typo?)';
    this.warn(keys, `ignored: ${why}`);
  }

  /** A string value; `nullable` takes null as "not set" (kas's way to remove a default). */
  string(keys: readonly string[], value: unknown, nullable = false): string | undefined {
    if (value === undefined || (nullable && value === null)) return undefined;
    if (typeof value === 'string') {
      if (/[\x00-\x1f\x7f]/.test(value))
        return this.error(
          keys,
          `${JSON.stringify(value)} contains a line break or control character`,
          'a single-line value',
        );
      return value;
    }
    if (value === null) return this.error(keys, 'is empty', 'a string');
    if (isDict(value) || Array.isArray(value))
      return this.error(keys, `is a ${Array.isArray(value) ? 'list' : 'mapping'}`, 'a string');
    return this.error(keys, `is read as a ${typeof value}, not a string`, 'a string: write the value in quotes');
  }
}
