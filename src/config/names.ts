/** What BitBake and git accept as names, in one place so config and conf rendering agree. */

/** MACHINE, DISTRO and recipe/target names: BitBake uses them in file names and overrides. */
export const BITBAKE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** A target may name a task: `core-image-minimal:do_populate_sdk`, or multiconfig `mc:x:y`. */
export const BITBAKE_TARGET = /^[A-Za-z0-9][A-Za-z0-9._+-]*(:[A-Za-z0-9_][A-Za-z0-9._+-]*)*$/;

/** A layer name becomes a directory under the layer store and a container mount point. */
export const LAYER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A commit pin: an abbreviated or full hexadecimal object name. */
export const COMMIT = /^[0-9a-f]{7,40}$/;
export const FULL_COMMIT = /^[0-9a-f]{40}$/;

/** Branch and tag names: git's check-ref-format rules, minus anything a shell or URL would read. */
export function isValidRefName(ref: string): boolean {
  if (!/^[A-Za-z0-9._/+-]+$/.test(ref)) return false;
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) return false;
  if (ref.includes('..') || ref.includes('//') || ref.endsWith('.lock') || ref.includes('/.')) return false;
  return !ref.startsWith('.');
}

/** A conf variable name as it may appear on the left of an assignment, overrides included. */
export const CONF_VARIABLE = /^[A-Za-z_][A-Za-z0-9_.+-]*(:[A-Za-z0-9_${}.+-]+)*(\[[A-Za-z0-9_.-]+\])?$/;

/** A Yocto release series: a codename (kirkstone, scarthgap, wrynose, master); also a branch name. */
export const YOCTO_SERIES = /^[a-z0-9][a-z0-9._-]*$/;

/** A poky release version, as in its tags `yocto-<version>`: 4.0.20, 5.0. */
export const POKY_VERSION = /^[0-9]+(\.[0-9]+){1,3}$/;

/**
 * A directory inside a repository (a sublayer, or a path layer): relative, `/`-separated, no
 * `..`, and only characters that are safe unquoted in BBLAYERS (which is split on spaces).
 * `.` is the repository root.
 */
export const REPO_SUBDIR = /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/;

export function isRepoSubdir(dir: string): boolean {
  if (dir === '.') return true;
  return REPO_SUBDIR.test(dir) && dir.split('/').every((s) => s !== '..' && s !== '.');
}

/** A builder image reference (`registry:port/name:tag@sha256:…`); never an option (`-…`). */
export const CONTAINER_IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

/** A memory limit as docker and podman take it: bytes, or a number with b, k, m or g. */
export const MEMORY = /^[0-9]+[bkmgBKMG]?$/;

/**
 * Why git must not be given this repository location, or undefined when it is fine. Anything
 * git accepts as a remote is allowed (https, ssh, git, file:// URLs, scp-like `host:path`, local
 * paths), except what would make git run a command or read an option.
 */
export function gitUrlProblem(url: string): string | undefined {
  if (url === '') return 'is empty';
  if (/[\s\x00-\x1f\x7f]/.test(url)) return 'contains whitespace or a control character';
  if (url.startsWith('-')) return 'starts with "-", which git would read as an option';
  const helper = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper) {
    return helper[1]!.toLowerCase() === 'ext'
      ? 'uses the ext:: transport, which makes git run a command'
      : `uses the remote helper transport ${helper[1]}::, which runs a helper program`;
  }
  return undefined;
}

/** How BITBAKE_NAME reads in a message. */
export const NAME_CHARS = 'letters, digits and . _ + - (starting with a letter or digit)';
