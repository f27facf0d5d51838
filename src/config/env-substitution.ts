/**
 * `${VAR}`, `${VAR:-default}` and `${VAR:+alternative}` from the environment, as upstream Smidr
 * substitutes them (apps/daemon/internal/config/config.go): nested forms are expanded innermost
 * first, an unset or empty variable is empty, and spaces around the name and the word are trimmed.
 *
 * Departures, all documented in docs/config.md:
 * - It works on YAML values, not on the raw text, so a substituted value cannot change the
 *   document's structure and errors keep pointing at the line written. A plain (unquoted) value
 *   is then read as YAML would read it (`8` a number, `false` a boolean, nothing: no value).
 * - `${TOPDIR}` is BitBake's build directory, not an environment variable: unless the environment
 *   sets TOPDIR it stays as written (upstream turns it into an empty string, so
 *   `${TOPDIR}/../downloads` became `/../downloads`).
 * - `${…}` around something that is not a variable name (`${@…}`, BitBake's inline Python) stays
 *   as written, for the field's own check to refuse.
 */
import { isMap, isScalar, isSeq, type Node, parse as parseYaml, Scalar } from 'yaml';

export type Environment = Record<string, string | undefined>;

/** Variables that name BitBake's directories and stay literal unless the environment sets them. */
const BITBAKE_VARIABLES = new Set(['TOPDIR']);

/** Substitutes every `${…}` in `text`; text without `${` comes back unchanged. */
export function substituteEnv(text: string, env: Environment): string {
  let pos = 0;
  const expand = (stopAtBrace: boolean): string => {
    let out = '';
    while (pos < text.length) {
      if (text.startsWith('${', pos)) {
        out += reference();
      } else if (stopAtBrace && text[pos] === '}') {
        return out;
      } else {
        out += text[pos++];
      }
    }
    return out;
  };
  const reference = (): string => {
    const start = pos;
    pos += 2;
    const inner = expand(true);
    if (text[pos] !== '}') return text.slice(start); // unterminated: kept as written
    pos++;
    return evaluate(inner, text.slice(start, pos), env);
  };
  return expand(false);
}

function evaluate(inner: string, written: string, env: Environment): string {
  const op = /:[-+]/.exec(inner);
  const name = (op ? inner.slice(0, op.index) : inner).trim();
  // Not a variable name: BitBake's inline Python (`${@…}`) or a typo, kept as written to be judged.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return written;
  const value = env[name] ?? '';
  if (value === '' && BITBAKE_VARIABLES.has(name) && !op) return written;
  if (!op) return value;
  const word = inner.slice(op.index + 2).trim();
  if (op[0] === ':-') return value !== '' ? value : word;
  return value !== '' ? word : '';
}

/**
 * Substitutes in every scalar of a parsed document, except under the keys `skip` names (dotted
 * paths such as `build.local_conf`, where `${…}` is BitBake's own expansion).
 */
export function substituteInDocument(top: Node | null, env: Environment, skip: readonly string[]): void {
  const walk = (node: unknown, at: string): void => {
    if (skip.includes(at)) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        walk(pair.value, at ? `${at}.${key}` : key);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item, at);
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const value = substituteEnv(node.value, env);
      node.value = node.type === Scalar.PLAIN ? asPlainYaml(value) : value;
    }
  };
  walk(top, '');
}

/** What a plain YAML value reads as: a number, a boolean, no value, or the string itself. */
function asPlainYaml(text: string): unknown {
  try {
    const v: unknown = parseYaml(text);
    return v === null || typeof v === 'number' || typeof v === 'boolean' ? v : text;
  } catch {
    return text;
  }
}
