/**
 * A buildtools-like installer made by the test: a bash script with a tar payload appended that,
 * like Yocto's `buildtools-extended-*-nativesdk-standalone-*.sh`, takes `-y -d <dir>`, unpacks
 * there and relocates its environment-setup script to the directory it was installed in. Its
 * sysroot holds a `buildtools-probe` command, so a test can see the environment was sourced.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const HEADER = `#!/bin/bash
# Test fixture shaped like Yocto's buildtools installer.
set -e
target=""
while getopts "yd:" opt; do
  case "$opt" in
    d) target="$OPTARG" ;;
    y) ;;
    *) exit 2 ;;
  esac
done
[ -n "$target" ] || { echo "usage: $0 -y -d DIR" >&2; exit 2; }
mkdir -p "$target"
sed '1,/^__PAYLOAD__$/d' "$0" | tar -xz -C "$target"
sed -i "s|@SDKPATH@|$target|g" "$target"/environment-setup-*
exit 0
__PAYLOAD__
`;

/** Writes the installer and returns its path. */
export function makeBuildtoolsInstaller(dir: string, arch = 'x86_64'): string {
  const tree = mkdtempSync(path.join(tmpdir(), 'smidr-buildtools-tree-'));
  const bin = path.join(tree, 'sysroots', `${arch}-pokysdk-linux`, 'usr', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'buildtools-probe'), '#!/bin/sh\necho "buildtools-probe from $0"\n');
  chmodSync(path.join(bin, 'buildtools-probe'), 0o755);
  writeFileSync(
    path.join(tree, `environment-setup-${arch}-pokysdk-linux`),
    `export PATH="@SDKPATH@/sysroots/${arch}-pokysdk-linux/usr/bin:$PATH"\nexport OECORE_NATIVE_SYSROOT="@SDKPATH@/sysroots/${arch}-pokysdk-linux"\n`,
  );
  const payload = execFileSync('tar', ['-cz', '-C', tree, '.']);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `buildtools-extended-${arch}-nativesdk-standalone-9.9.9.sh`);
  writeFileSync(file, Buffer.concat([Buffer.from(HEADER), payload]));
  chmodSync(file, 0o755);
  return file;
}

export function fileBytes(file: string): Buffer {
  return readFileSync(file);
}
