/**
 * Validation of the values laid over smidr.yaml: the action's inputs or the CLI's flags. The entry
 * point says how its values are named (OverrideNaming), so an error names what the user typed:
 * `input 'machine': …` in a workflow, `--machine: …` in a terminal.
 */
import { CONTAINER_ENGINES, type ContainerEngine } from '../action/constants.js';
import { type ConfAssignment, parseConfAssignment } from '../bitbake/conf-line.js';
import { BUILDTOOLS_RULES, type BuildtoolsInput } from './buildtools-yaml.js';
import type { ConfigOverrides } from './config.js';
import { BITBAKE_NAME, BITBAKE_TARGET, CONTAINER_IMAGE, NAME_CHARS } from './names.js';
import type { YamlReader } from './yaml-reader.js';

/** What an override is about: one of ConfigOverrides' fields, or the config file's location. */
export type OverrideField = keyof ConfigOverrides | 'config';

/** How an entry point names its overrides in messages. */
export interface OverrideNaming {
  /** Starts a message about the value: `input 'machine'`, `--machine`. */
  label(field: OverrideField): string;
  /** Names it in a sentence: `the 'machine' input`, `--machine`. */
  mention(field: OverrideField): string;
}

/** The overrides, validated; a field that failed is undefined (and reported). */
export interface CheckedOverrides {
  targets?: string[];
  machine?: string;
  /** The machine override was given and refused: no second error saying that MACHINE is missing. */
  machineFailed: boolean;
  distro?: string;
  bitbakeArgs: string[];
  localConf: ConfAssignment[];
  image?: string;
  engine?: ContainerEngine;
  buildtools?: BuildtoolsInput;
}

/** Overrides sort after every line of the file. */
const AFTER_FILE = Infinity;

/** A value laid over the file is wrong: reported after every problem of the file, in the entry point's words. */
export function reportOverride(
  r: YamlReader,
  naming: OverrideNaming,
  field: OverrideField,
  what: string,
  expected: string,
): undefined {
  return r.report(AFTER_FILE, `${naming.label(field)}: ${what}; expected ${expected}`);
}

export function checkOverrides(o: ConfigOverrides, naming: OverrideNaming, r: YamlReader): CheckedOverrides {
  const fail = (field: OverrideField, what: string, expected: string): undefined =>
    reportOverride(r, naming, field, what, expected);
  const name = (field: 'machine' | 'distro', what: string, example: string): string | undefined => {
    const value = o[field];
    if (value === undefined || BITBAKE_NAME.test(value)) return value;
    return fail(field, `${JSON.stringify(value)} is not a valid ${what} name`, `${NAME_CHARS}, e.g. ${example}`);
  };
  const machine = name('machine', 'MACHINE', 'qemux86-64');
  const distro = name('distro', 'DISTRO', 'poky');

  let targets: string[] | undefined;
  if (o.targets && o.targets.length > 0) {
    targets = [];
    for (const t of o.targets) {
      if (!BITBAKE_TARGET.test(t))
        fail(
          'targets',
          `${JSON.stringify(t)} is not a valid target`,
          `recipe or image names (${NAME_CHARS}), optionally with :do_<task>, e.g. core-image-minimal`,
        );
      else if (!targets.includes(t)) targets.push(t);
    }
  }
  const bitbakeArgs: string[] = [];
  for (const a of o.bitbakeArgs ?? []) {
    if (/[\x00-\x1f\x7f]/.test(a))
      fail(
        'bitbakeArgs',
        `${JSON.stringify(a)} contains a line break or control character`,
        'single-line arguments, e.g. -k',
      );
    else bitbakeArgs.push(a);
  }
  const localConf: ConfAssignment[] = [];
  for (const line of o.localConf ?? []) {
    const a = r.attempt(() => parseConfAssignment(line, naming.label('localConf')), AFTER_FILE);
    if (a) localConf.push(a);
  }
  let image: string | undefined;
  if (o.containerImage !== undefined) {
    if (CONTAINER_IMAGE.test(o.containerImage)) image = o.containerImage;
    else
      fail(
        'containerImage',
        `${JSON.stringify(o.containerImage)} is not an image reference`,
        'an image name such as crops/poky:ubuntu-22.04',
      );
  }
  let engine: ContainerEngine | undefined;
  if (o.containerEngine !== undefined) {
    if ((CONTAINER_ENGINES as readonly string[]).includes(o.containerEngine))
      engine = o.containerEngine as ContainerEngine;
    else
      fail(
        'containerEngine',
        `${JSON.stringify(o.containerEngine)} is not a container engine`,
        CONTAINER_ENGINES.join(', '),
      );
  }
  const buildtools = (['buildtools', 'buildtoolsSha256'] as const).map((field) => {
    const value = o[field];
    const rule = BUILDTOOLS_RULES[field === 'buildtools' ? 'version' : 'sha256sum'];
    if (value === undefined || rule.test(value)) return value;
    return fail(field, `${JSON.stringify(value)} is not ${rule.noun}`, rule.expected);
  });
  const [version, sum] = buildtools;
  // A refused value is reported once; the other of the two alone would only add a second error.
  const buildtoolsRefused = (o.buildtools !== undefined && !version) || (o.buildtoolsSha256 !== undefined && !sum);
  const machineFailed = o.machine !== undefined && machine === undefined;
  return {
    targets,
    machine,
    machineFailed,
    distro,
    bitbakeArgs,
    localConf,
    image,
    engine,
    ...(!buildtoolsRefused &&
      (version ?? sum) !== undefined && { buildtools: { version, sha256sum: sum?.toLowerCase() } }),
  };
}
