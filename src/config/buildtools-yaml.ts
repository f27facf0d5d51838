/**
 * Yocto's buildtools for builds without a container: smidr.yaml's `buildtools:` section and a
 * kas project's `buildtools:` key (the same keys), the `buildtools` / `buildtools-sha256` inputs
 * laid over them, and whether the build's container engine uses them at all.
 */
import type { ContainerEngine } from '../action/constants.js';
import type { BuildtoolsConfig } from './config.js';
import { sectionKeys } from './keys.js';
import type { OverrideNaming } from './overrides.js';
import type { Entry, YamlReader } from './yaml-reader.js';

/** One key's rule: what a valid value looks like and how an error says so. */
interface KeyRule {
  test: (s: string) => boolean;
  noun: string;
  expected: string;
}

/** kas's `buildtools:` keys, the rule written once for smidr.yaml, kas files and the inputs. */
export const BUILDTOOLS_RULES = {
  version: {
    test: (s) => /^\d+\.\d+(\.\d+)?$/.test(s),
    noun: 'a Yocto release number',
    expected: 'a release such as 5.0.8',
  },
  sha256sum: {
    test: (s) => /^[0-9a-fA-F]{64}$/.test(s),
    noun: 'a SHA-256 sum',
    expected: '64 hexadecimal digits (sha256sum of the installer)',
  },
  base_url: {
    test: (s) => /^https?:\/\/[^\s"'$`\\]+$/.test(s),
    noun: 'an http(s) URL',
    expected: 'a URL such as https://downloads.yoctoproject.org',
  },
  filename: {
    test: (s) => /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(s),
    noun: 'an installer file name',
    expected: 'a file name such as buildtools-extended-x86_64-nativesdk-standalone-5.0.8.sh',
  },
} satisfies Record<string, KeyRule>;

export type BuildtoolsKey = keyof typeof BUILDTOOLS_RULES;

/** kas's `buildtools:` keys: the installer is fetched from `<base_url>/releases/yocto/yocto-<version>/buildtools/<filename>`. */
export function readBuildtools(r: YamlReader, entry: Entry | undefined): BuildtoolsConfig | undefined {
  if (!entry) return undefined;
  const bt = r.mapping(
    entry.value,
    'buildtools',
    sectionKeys('buildtools'),
    'a mapping: { version, sha256sum, base_url, filename }',
  );
  if (!bt) return undefined;
  const read = (key: BuildtoolsKey) => {
    const rule = BUILDTOOLS_RULES[key];
    return r.matching(bt.get(key), rule.test, rule.noun, rule.expected);
  };
  const version = bt.has('version')
    ? read('version')
    : r.error(entry.value, 'buildtools.version', 'is missing', 'the Yocto release whose buildtools to use, e.g. 5.0.8');
  const sha256sum = read('sha256sum');
  const baseUrl = read('base_url');
  const filename = read('filename');
  return version === undefined ? undefined : { version, sha256sum: sha256sum?.toLowerCase(), baseUrl, filename };
}

/** The `buildtools` and `buildtools-sha256` inputs (or flags), checked. */
export interface BuildtoolsInput {
  version?: string;
  sha256sum?: string;
}

/** A problem with the buildtools a build was given: about the file's section or about the input. */
export interface BuildtoolsProblem {
  about: 'file' | 'input';
  what: string;
  expected: string;
}

export interface BuildtoolsChoice {
  buildtools?: BuildtoolsConfig;
  error?: BuildtoolsProblem;
  /** The file's section is not used (BitBake runs in a container): said once, not an error. */
  warning?: string;
}

/**
 * The buildtools a build uses. The input's version wins over the file's; the file's sum and file
 * name go with the file's version only (an installer of another release has another sum), its
 * base_url (a mirror) with any version. Buildtools replace the host tools of the runner, so they
 * apply to container-engine none only: named by an input next to a container engine, that is a
 * contradiction in the workflow (an error); named in a file that may also serve container builds,
 * it is a warning. A version without a SHA-256 is an error: the download is checked, always.
 */
export function chooseBuildtools(
  fromFile: BuildtoolsConfig | undefined,
  input: BuildtoolsInput | undefined,
  engine: ContainerEngine,
  naming: OverrideNaming,
): BuildtoolsChoice {
  const names = { input: naming.mention('buildtools'), sumInput: naming.mention('buildtoolsSha256') };
  const version = input?.version;
  const sameRelease = fromFile !== undefined && (version === undefined || fromFile.version === version);
  if (!version && input?.sha256sum && !fromFile)
    return {
      error: {
        about: 'input',
        what: `${names.sumInput} is set, but no buildtools version is named`,
        expected: `${names.input} too (a release such as 5.0.8), or a buildtools section in the config`,
      },
    };
  const chosen: BuildtoolsConfig | undefined = input
    ? {
        version: version ?? fromFile!.version,
        sha256sum: input.sha256sum ?? (sameRelease ? fromFile.sha256sum : undefined),
        baseUrl: fromFile?.baseUrl,
        filename: sameRelease ? fromFile.filename : undefined,
      }
    : fromFile;
  if (!chosen) return {};
  if (engine !== 'none') {
    if (input)
      return {
        error: {
          about: 'input',
          what: `buildtools ${chosen.version} replace the runner's host tools, but BitBake runs in a ${engine} container here, whose image brings its own`,
          expected: `container-engine: none with buildtools, or drop ${names.input}`,
        },
      };
    return {
      warning: `not used: BitBake runs in a ${engine} container, whose image brings the host tools; buildtools apply with container-engine: none`,
    };
  }
  if (!chosen.sha256sum) {
    return {
      error: input
        ? {
            about: 'input',
            what: `buildtools ${chosen.version} need the installer's SHA-256, and ${fromFile && !sameRelease ? `the config's buildtools section is for ${fromFile.version}` : 'none is given'}`,
            expected: `${names.sumInput} set to the sha256sum of the installer`,
          }
        : {
            about: 'file',
            what: `buildtools.sha256sum is missing: the installer of buildtools ${chosen.version} is checked against it`,
            expected: `buildtools.sha256sum: the installer's SHA-256 (64 hexadecimal digits), or ${names.sumInput}`,
          },
    };
  }
  return { buildtools: chosen };
}
