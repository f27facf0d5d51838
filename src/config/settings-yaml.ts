/**
 * The sections of upstream Smidr's format that become BitBake settings: `packages`, `features`,
 * `advanced`, `artifacts`, and build's extra_* keys. Each key becomes the conf line its name
 * promises (rendered through bitbake/conf-line.ts), validated with upstream's whitelists
 * (apps/daemon/internal/config/config.go) and reported in our style.
 */
import type { ConfAssignment } from '../bitbake/conf-line.js';
import type { HashEquivalence } from './config.js';
import { sectionKeys } from './keys.js';
import { BITBAKE_NAME, NAME_CHARS } from './names.js';
import type { Entry, QuantityRule, YamlReader } from './yaml-reader.js';

export const PACKAGE_CLASSES = ['package_rpm', 'package_deb', 'package_ipk'] as const;
/** Upstream's list, with the features that replaced debug-tweaks in newer releases. */
export const IMAGE_FEATURES = [
  'debug-tweaks',
  'package-management',
  'tools-sdk',
  'tools-debug',
  'tools-profile',
  'tools-testapps',
  'dbg-pkgs',
  'src-pkgs',
  'dev-pkgs',
  'ptest-pkgs',
  'eclipse-debug',
  'allow-empty-password',
  'allow-root-login',
  'empty-root-password',
  'post-install-logging',
  'serial-autologin-root',
] as const;
export const USER_CLASSES = ['buildstats', 'image-mklibs', 'image-prelink'] as const;
export const INHERIT_CLASSES = [
  'rm_work',
  'toradex-mirrors',
  'toradex-sanity',
  'buildstats',
  'image-mklibs',
  'image-prelink',
  'testimage',
  'testsdk',
] as const;
export const SIGNATURE_HANDLERS = ['OEEquivHash', 'OEBasicHash'] as const;
/** `host:port` of a shared hash-equivalence server, as upstream checks it. */
export const HASHSERVE_ADDRESS = /^[A-Za-z0-9.-]+:[0-9]+$/;
/** An artifacts glob: a file name pattern in the deploy directory (`*` and `?` wildcards). */
export const ARTIFACT_GLOB = /^[A-Za-z0-9._*?+@%=,~[\]/-]+$/;

/** Disk monitoring as upstream's generator wrote it: stop tasks below 1G, halt below 100M. */
const DISKMON_DIRS = [
  'STOPTASKS,${TMPDIR},1G,100K',
  'STOPTASKS,${DL_DIR},1G,100K',
  'STOPTASKS,${SSTATE_DIR},1G,100K',
  'STOPTASKS,/tmp,100M,100K',
  'HALT,${TMPDIR},100M,1K',
  'HALT,${DL_DIR},100M,1K',
  'HALT,${SSTATE_DIR},100M,1K',
  'HALT,/tmp,10M,1K',
].join(' ');

const MINUTES: QuantityRule<number> = {
  expected: 'a whole number of minutes, e.g. 240',
  form: /^-?[0-9]+(\.[0-9]+)?$/,
  noun: 'a number',
  parse: Number,
  refuse: (n) => (Number.isInteger(n) && n >= 1 ? undefined : 'is not a positive whole number'),
};

const CONF_VERSION: QuantityRule<string> = {
  expected: 'digits, e.g. "2"',
  form: /^[0-9]+$/,
  noun: 'a conf version',
  parse: (s) => s,
  refuse: () => undefined,
};

export interface Settings {
  conf: ConfAssignment[];
  hashEquivalence?: HashEquivalence;
  signatureHandler?: (typeof SIGNATURE_HANDLERS)[number];
  buildTimeoutMinutes?: number;
  artifacts: string[];
}

const set = (variable: string, value: string, operator: ConfAssignment['operator'] = '='): ConfAssignment => ({
  variable,
  operator,
  value,
});

/** Reads packages, features, advanced, artifacts and build's extra keys into settings. */
export function readSettings(r: YamlReader, root: Map<string, Entry>, build: Map<string, Entry> | undefined): Settings {
  const conf: ConfAssignment[] = [];
  const packages = section(r, root.get('packages'), 'packages', '{ classes }');
  const features = section(
    r,
    root.get('features'),
    'features',
    '{ extra_image_features, user_classes, inherit_classes }',
  );
  const packageClass =
    oneOf(r, packages?.get('classes'), PACKAGE_CLASSES, 'a package class') ??
    oneOf(r, build?.get('package_classes'), PACKAGE_CLASSES, 'a package class');
  if (packageClass) conf.push(set('PACKAGE_CLASSES', packageClass));
  const imageFeatures = [
    ...(words(r, build?.get('extra_image_features'), IMAGE_FEATURES, 'an image feature') ?? []),
    ...(listOf(r, features?.get('extra_image_features'), IMAGE_FEATURES, 'an image feature') ?? []),
  ];
  if (imageFeatures.length > 0) conf.push(set('EXTRA_IMAGE_FEATURES', unique(imageFeatures).join(' ')));
  const userClasses = listOf(r, features?.get('user_classes'), USER_CLASSES, 'a user class') ?? [];
  if (userClasses.length > 0) conf.push(set('USER_CLASSES', userClasses.join(' '), '+='));
  const inherit = [
    ...(listOf(r, build?.get('inherit_classes'), INHERIT_CLASSES, 'a class to inherit') ?? []),
    ...(listOf(r, features?.get('inherit_classes'), INHERIT_CLASSES, 'a class to inherit') ?? []),
  ];
  if (inherit.length > 0) conf.push(set('INHERIT', unique(inherit).join(' '), '+='));
  const packagesToInstall = readPackages(r, build?.get('extra_packages'));
  if (packagesToInstall.length > 0) conf.push(set('IMAGE_INSTALL:append', ` ${packagesToInstall.join(' ')}`));
  const advanced = readAdvanced(r, root.get('advanced'));
  conf.push(...advanced.conf);
  return { ...advanced, conf, artifacts: readArtifacts(r, root.get('artifacts')) };
}

function section(r: YamlReader, e: Entry | undefined, name: 'packages' | 'features' | 'advanced', shape: string) {
  return e ? r.mapping(e.value, name, sectionKeys(name), `a mapping: ${shape}`) : undefined;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** A string that is one of a list; no value (`key:`) is unset. */
function oneOf(r: YamlReader, e: Entry | undefined, allowed: readonly string[], noun: string): string | undefined {
  if (!e || r.isEmpty(e.value)) return undefined;
  const expected = `one of ${allowed.join(', ')}`;
  return r.matching(e, (s) => allowed.includes(s), noun, expected);
}

/** A list whose items are each one of a list. */
function listOf(r: YamlReader, e: Entry | undefined, allowed: readonly string[], noun: string): string[] | undefined {
  if (!e) return undefined;
  const expected = `one of ${allowed.join(', ')}`;
  const out: string[] = [];
  for (const item of r.list(e, `a list, each ${expected}`) ?? []) {
    const s = r.string(item.node, e.keyNode, item.field, expected);
    if (s === undefined) continue;
    if (!allowed.includes(s)) r.error(item.node, item.field, `${JSON.stringify(s)} is not ${noun}`, expected);
    else out.push(s);
  }
  return out;
}

/** Upstream's build.extra_image_features is one string of space-separated features. */
function words(r: YamlReader, e: Entry | undefined, allowed: readonly string[], noun: string): string[] | undefined {
  if (!e || r.isEmpty(e.value)) return undefined;
  const expected = `features separated by spaces, each one of ${allowed.join(', ')}`;
  const text = r.str(e, expected);
  if (text === undefined) return undefined;
  const list = text.split(/\s+/).filter(Boolean);
  const bad = list.find((w) => !allowed.includes(w));
  if (bad) return r.error(e.value, e.field, `${JSON.stringify(bad)} is not ${noun}`, expected);
  return list;
}

function readPackages(r: YamlReader, e: Entry | undefined): string[] {
  const expected = `package names (${NAME_CHARS}), e.g. [python3, vim]`;
  const out: string[] = [];
  if (!e) return out;
  for (const item of r.list(e, expected) ?? []) {
    const s = r.string(item.node, e.keyNode, item.field, expected);
    if (s === undefined) continue;
    if (!BITBAKE_NAME.test(s)) r.error(item.node, item.field, `${JSON.stringify(s)} is not a package name`, expected);
    else if (!out.includes(s)) out.push(s);
  }
  return out;
}

function readAdvanced(r: YamlReader, e: Entry | undefined): Omit<Settings, 'artifacts'> {
  const a = section(
    r,
    e,
    'advanced',
    '{ bb_hashserve, bb_signature_handler, license_flags, conf_version, build_timeout, sstate_mirrors, … }',
  );
  const conf: ConfAssignment[] = [];
  const text = (key: string, variable: string) => {
    const entry = a?.get(key);
    if (!entry || r.isEmpty(entry.value)) return;
    const value = r.singleLine(entry, r.str(entry, `a value for ${variable}`), `a single-line value for ${variable}`);
    if (value !== undefined && value.trim() !== '') conf.push(set(variable, value.trim()));
  };
  const flag = (key: string, variable: string) => {
    if (bool(r, a?.get(key))) conf.push(set(variable, '1'));
  };
  text('sstate_mirrors', 'SSTATE_MIRRORS');
  text('premirrors', 'PREMIRRORS');
  flag('bb_no_network', 'BB_NO_NETWORK');
  flag('bb_fetch_premirroronly', 'BB_FETCH_PREMIRRORONLY');
  text('license_flags', 'LICENSE_FLAGS_ACCEPTED');
  flag('accept_fsl_eula', 'ACCEPT_FSL_EULA');
  const confVersion = r.quantity(a?.get('conf_version'), CONF_VERSION);
  if (confVersion !== undefined) conf.push(set('CONF_VERSION', confVersion));
  if (bool(r, a?.get('disk_monitoring'))) conf.push(set('BB_DISKMON_DIRS', DISKMON_DIRS));
  if (bool(r, a?.get('qemu_sdl'))) conf.push(set('PACKAGECONFIG:append:pn-qemu-system-native', ' sdl'));
  if (bool(r, a?.get('qemu_gtk'))) conf.push(set('PACKAGECONFIG:append:pn-qemu-system-native', ' gtk+'));
  const signatureHandler = oneOf(r, a?.get('bb_signature_handler'), SIGNATURE_HANDLERS, 'a signature handler') as
    Settings['signatureHandler'] | undefined;
  const hashEquivalence = readHashserve(r, a?.get('bb_hashserve'), signatureHandler);
  const buildTimeout = a?.get('build_timeout');
  const buildTimeoutMinutes =
    buildTimeout && !r.isEmpty(buildTimeout.value) ? r.quantity(buildTimeout, MINUTES) : undefined;
  return { conf, hashEquivalence, signatureHandler, buildTimeoutMinutes };
}

/** A YAML boolean (or the strings true/false, as a substituted value may be); unset is false. */
function bool(r: YamlReader, e: Entry | undefined): boolean {
  if (!e || r.isEmpty(e.value)) return false;
  const v = r.scalar(e.value);
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  r.error(e.value, e.field, r.describe(e.value), 'true or false');
  return false;
}

function readHashserve(
  r: YamlReader,
  e: Entry | undefined,
  handler: Settings['signatureHandler'],
): HashEquivalence | undefined {
  const expected = 'auto (a private server per build), none (no hash equivalence) or host:port of a shared server';
  let mode: HashEquivalence | undefined;
  if (e && !r.isEmpty(e.value)) {
    const v = r.matching(
      e,
      (s) => s === 'auto' || s === 'none' || HASHSERVE_ADDRESS.test(s),
      'a hash server',
      expected,
    );
    if (v === undefined) return undefined;
    mode = v === 'auto' || v === 'none' ? { mode: v } : { mode: 'server', address: v };
  }
  if (handler === 'OEBasicHash') {
    if (mode && mode.mode !== 'none')
      r.error(
        e!.value,
        e!.field,
        `${mode.mode === 'auto' ? 'auto' : mode.address} needs bb_signature_handler: OEEquivHash (OEBasicHash has no hash equivalence)`,
        'bb_hashserve: none with OEBasicHash, or OEEquivHash',
      );
    return { mode: 'none' };
  }
  return mode;
}

function readArtifacts(r: YamlReader, e: Entry | undefined): string[] {
  const expected = 'file name patterns in the deploy directory, e.g. ["*.wic", "*.manifest"]';
  const out: string[] = [];
  if (!e) return out;
  for (const item of r.list(e, expected) ?? []) {
    const s = r.string(item.node, e.keyNode, item.field, expected);
    if (s === undefined) continue;
    if (!ARTIFACT_GLOB.test(s) || s.split('/').includes('..'))
      r.error(item.node, item.field, `${JSON.stringify(s)} is not a file name pattern`, expected);
    else if (!out.includes(s)) out.push(s);
  }
  return out;
}
