/** smidr.yaml's `buildtools:` section, with kas's keys, for builds without a container. */
import type { BuildtoolsConfig } from './config.js';
import { sectionKeys } from './keys.js';
import type { Entry, YamlReader } from './yaml-reader.js';

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
  const version = bt.has('version')
    ? r.matching(
        bt.get('version'),
        (s) => BUILDTOOLS_VERSION.test(s),
        'a Yocto release number',
        'a release such as 5.0.8',
      )
    : r.error(entry.value, 'buildtools.version', 'is missing', 'the Yocto release whose buildtools to use, e.g. 5.0.8');
  const sha256sum = r.matching(
    bt.get('sha256sum'),
    (s) => SHA256.test(s),
    'a SHA-256 sum',
    '64 hexadecimal digits (sha256sum of the installer)',
  );
  const baseUrl = r.matching(
    bt.get('base_url'),
    (s) => /^https?:\/\/[^\s"'$`\\]+$/.test(s),
    'an http(s) URL',
    'a URL such as https://downloads.yoctoproject.org',
  );
  const filename = r.matching(
    bt.get('filename'),
    (s) => INSTALLER_FILE.test(s),
    'an installer file name',
    'a file name such as buildtools-extended-x86_64-nativesdk-standalone-5.0.8.sh',
  );
  return version === undefined ? undefined : { version, sha256sum: sha256sum?.toLowerCase(), baseUrl, filename };
}

const BUILDTOOLS_VERSION = /^\d+\.\d+(\.\d+)?$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const INSTALLER_FILE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
