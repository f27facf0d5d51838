/**
 * BitBake's conf-line syntax, the one owner of it: reading a `VAR op "value"` line (local_conf in
 * smidr.yaml, the local-conf input or flag) and writing one (auto.conf, bblayers.conf).
 *
 * BitBake takes a value verbatim between its first and its last quote: there are no escapes, and
 * a value holding exactly one quote of the delimiting kind is a ParseError. So a line read here
 * keeps its value as written, and a line written here picks the quote that keeps the value intact.
 * What no quoting can carry is refused both ways: a line break (it would start a new line of
 * conf) and inline Python (`${@…}`, which BitBake runs; `$` cannot be escaped).
 */
import { CONF_VARIABLE } from '../config/names.js';
import { ConfigError } from '../util/errors.js';

/** One `VAR op "value"` assignment. */
export interface ConfAssignment {
  variable: string;
  operator: '=' | '?=' | '??=' | ':=' | '+=' | '=+' | '.=' | '=.';
  value: string;
}

export const ASSIGNMENT_FORM =
  'one assignment VAR op "value", e.g. INHERIT += "rm_work" (op is one of = ?= ??= := += =+ .= =.)';

const QUOTES = ['"', "'"] as const;

/** The rule: a value survives between quotes of this kind unless it holds exactly one of them. */
function fitsBetween(value: string, quoteChar: string): boolean {
  return value.split(quoteChar).length !== 2;
}

function holdsInlinePython(text: string): boolean {
  return text.includes('${@');
}

/** `value` between the quotes that keep it intact; an Error when none can. */
export function quote(value: string): string {
  if (/[\n\r\0]/.test(value)) throw new Error(`conf value contains a line break: ${JSON.stringify(value)}`);
  if (holdsInlinePython(value)) throw new Error(`conf value contains inline Python: ${JSON.stringify(value)}`);
  const q = QUOTES.find((c) => fitsBetween(value, c));
  if (q === undefined) {
    throw new Error(
      `conf value has one double and one single quote, which BitBake cannot read in either quoting: ${JSON.stringify(value)}`,
    );
  }
  return `${q}${value}${q}`;
}

/** One conf line `VAR op "value"`; an Error when the variable is not a conf variable name. */
export function confLine(variable: string, operator: string, value: string): string {
  if (!CONF_VARIABLE.test(variable)) throw new Error(`not a conf variable name: ${JSON.stringify(variable)}`);
  return `${variable} ${operator} ${quote(value)}`;
}

export function renderAssignment(a: ConfAssignment): string {
  return confLine(a.variable, a.operator, a.value);
}

const ASSIGNMENT =
  /^([A-Za-z_][A-Za-z0-9_.+-]*?(?::[A-Za-z0-9_${}.+-]+?)*(?:\[[A-Za-z0-9_.-]+\])?)\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*(.*)$/;
const DIRECTIVE =
  /^(include|require|include_all|inherit|inherit_defer|export|unset|addtask|deltask|addhandler|addpylib|addfragments|python|def|fakeroot|EXPORT_FUNCTIONS)(\s+(.*))?$/;

/**
 * Reads one `VAR op "value"` line. `where` starts the error message: `smidr.yaml:12:
 * build.local_conf[0]`, `input 'local-conf'` or `--local-conf`. The value is the text between the
 * quotes, so the line BitBake reads is the line the user wrote (single quotes may become double).
 */
export function parseConfAssignment(line: string, where: string): ConfAssignment {
  const fail = (what: string, expected: string = ASSIGNMENT_FORM): never => {
    throw new ConfigError(`${where}: ${what}; expected ${expected}`);
  };
  const shown = JSON.stringify(line);
  if (/[\r\n]/.test(line)) fail(`${shown} contains a line break`, `a single line: ${ASSIGNMENT_FORM}`);
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) fail(`${shown} contains a control character`);
  const text = line.trim();
  if (holdsInlinePython(text)) {
    fail(
      `${shown} contains inline Python (\${@…}), which is refused: these lines come from the config and workflow inputs, and BitBake would run the code`,
      'a plain value; put Python in a .bbappend or a conf file in one of your layers',
    );
  }
  const m = ASSIGNMENT.exec(text);
  if (!m) return fail(...notAnAssignment(text, shown));
  const [, variable, operator, rest] = m as unknown as [string, string, ConfAssignment['operator'], string];
  if (!CONF_VARIABLE.test(variable))
    fail(
      `${JSON.stringify(variable)} is not a variable name`,
      `VAR, VAR:override or VAR[flag] on the left of ${operator}`,
    );
  const q = rest[0] ?? '';
  if (q !== '"' && q !== "'") fail(`${shown}: the value is not in quotes`, `${variable} ${operator} "${rest}"`);
  if (rest.length < 2 || !rest.endsWith(q)) {
    fail(`${shown}: the value must end with its closing ${q} (BitBake takes no comment after a value)`);
  }
  const value = rest.slice(1, -1);
  if (!fitsBetween(value, q)) {
    fail(
      `${shown}: the value holds exactly one ${q}, a line BitBake cannot parse`,
      `no ${q} or at least two inside the value, or the other kind of quotes around it`,
    );
  }
  return { variable, operator, value };
}

/** Why a line that is not an assignment was refused, and what to write: directives get their own advice. */
function notAnAssignment(text: string, shown: string): [what: string, expected?: string] {
  const directive = DIRECTIVE.exec(text);
  const kind = directive?.[1];
  if (kind === 'inherit' || kind === 'inherit_defer') {
    return [
      `${shown} is an inherit directive, which is not an assignment`,
      `INHERIT += "${directive![3]?.trim() ?? 'class'}" instead`,
    ];
  }
  if (kind === 'include' || kind === 'require' || kind === 'include_all') {
    return [
      `${shown} is ${kind === 'require' ? 'a' : 'an'} ${kind} directive, which is not an assignment`,
      `assignments only (VAR op "value"); keep includes in a conf file in one of your layers`,
    ];
  }
  if (kind) return [`${shown} is a BitBake "${kind}" statement, not an assignment`];
  if (text === '') return ['the line is empty'];
  return [`${shown} is not an assignment`];
}
