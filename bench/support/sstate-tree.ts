/**
 * A synthetic SSTATE_DIR shaped like a real one, for the cache round trip benchmark: OE-core's
 * object names and `<h0h1>/<h2h3>/` fan-out (native objects under `universal/`), a `.siginfo`
 * beside every archive, incompressible content (sstate archives are zstd already) and a
 * lognormal size distribution, many small objects and a few of a few hundred MB, scaled to a
 * total. A share of the objects are older builds of the same recipe, architecture and task
 * (different unihash, older mtime): what the action's pruning drops when this build did not use
 * them.
 *
 * Deterministic for a seed: the same parameters give the same names, sizes and bytes. Generated
 * once into a directory named after the parameters and reused by later runs.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface TreeParams {
  /** Total bytes of the archives. */
  totalBytes: number;
  /** Number of archives (each has a .siginfo as well). */
  objects: number;
  /** Share of objects that are superseded older builds. */
  staleShare: number;
  seed: number;
}

export interface TreeObject {
  /** Relative to the sstate dir. */
  path: string;
  bytes: number;
  stale: boolean;
}

export interface Tree {
  dir: string;
  sstate: string;
  params: TreeParams;
  objects: TreeObject[];
  /** mtime of the objects a build used; stale ones are 10 days older. */
  currentMtimeMs: number;
  staleMtimeMs: number;
  /** Archives plus siginfo files. */
  totalBytes: number;
  staleBytes: number;
  files: number;
}

const MIN_BYTES = 1024;
const MAX_BYTES = 400 * 1024 * 1024;
const SIGINFO_BYTES = [600, 6000];
const DAY = 86_400_000;

/** splitmix32: small, fast, good enough to draw names and sizes from a seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

const STEMS = [
  'gcc',
  'glibc',
  'binutils',
  'linux-yocto',
  'python3',
  'perl',
  'openssl',
  'zlib',
  'busybox',
  'systemd',
  'util-linux',
  'ncurses',
  'bash',
  'coreutils',
  'qemu',
  'llvm',
  'rust',
  'cmake',
  'ninja',
  'meson',
  'glib-2.0',
  'dbus',
  'openssh',
  'curl',
  'libxml2',
  'sqlite3',
  'xz',
  'zstd',
  'bzip2',
  'e2fsprogs',
  'kmod',
  'shadow',
  'base-files',
  'init-ifupdown',
  'opkg',
  'rpm',
];
const TARGET_TASKS = [
  'populate_sysroot',
  'package',
  'packagedata',
  'package_write_ipk',
  'package_qa',
  'populate_lic',
  'deploy',
];
const NATIVE_TASKS = ['populate_sysroot', 'populate_lic'];

function hex(r: () => number, n: number): string {
  let s = '';
  while (s.length < n)
    s += Math.floor(r() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n);
}

/** The object list (names, sizes, which are stale) for the parameters; no I/O. */
export function planTree(p: TreeParams): TreeObject[] {
  const r = rng(p.seed);
  const current = Math.round(p.objects * (1 - p.staleShare));
  const objects: { name: string; dir: string; group: string; task: string }[] = [];
  for (let i = 0; objects.length < current; i++) {
    const pn = `${STEMS[i % STEMS.length]}${i < STEMS.length ? '' : `-${Math.floor(i / STEMS.length)}`}`;
    const kind = r();
    const native = kind < 0.25;
    const pv = `${1 + Math.floor(r() * 9)}.${Math.floor(r() * 40)}`;
    const pr = `r${Math.floor(r() * 3)}`;
    const [arch, pkgarch, prefix] = native
      ? ['x86_64-linux', 'x86_64', 'universal/']
      : kind < 0.35
        ? ['all-poky-linux', 'allarch', '']
        : ['core2-64-poky-linux', 'core2-64', ''];
    for (const task of native ? NATIVE_TASKS : TARGET_TASKS) {
      if (objects.length >= current) break;
      const name = native ? `${pn}-native` : pn;
      objects.push({ name, dir: prefix, group: `${prefix}${name}:${arch}:${pv}:${pr}:${pkgarch}`, task });
    }
  }
  const named = (o: (typeof objects)[number]) => {
    const unihash = hex(r, 64);
    const [prefix, rest] = [o.dir, o.group.slice(o.dir.length)];
    const [pn, arch, pv, pr, pkgarch] = rest.split(':') as [string, string, string, string, string];
    // do_populate_lic objects use SSTATE_SWSPEC: no architecture fields.
    const fields = o.task === 'populate_lic' ? [pn, '', pv, pr, ''] : [pn, arch, pv, pr, pkgarch];
    return `${prefix}${unihash.slice(0, 2)}/${unihash.slice(2, 4)}/sstate:${fields.join(':')}:14:${unihash}_${o.task}.tar.zst`;
  };
  const plan: { path: string; stale: boolean }[] = objects.map((o) => ({ path: named(o), stale: false }));
  // Stale objects: an older build of an existing group (populate_lic is never superseded, skip it).
  const supersedable = objects.filter((o) => o.task !== 'populate_lic');
  for (let i = 0; plan.length < p.objects; i++)
    plan.push({ path: named(supersedable[Math.floor(r() * supersedable.length)]!), stale: true });

  const raw = plan.map(() => Math.exp(normal(r) * 2.5));
  const scale = p.totalBytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((x) => Math.min(MAX_BYTES, Math.max(MIN_BYTES, Math.round(x * scale))));
  return plan.map((o, i) => ({ ...o, bytes: sizes[i]! }));
}

/** Incompressible, deterministic bytes: an AES-CTR keystream keyed by seed and file name. */
async function writeRandomFile(file: string, bytes: number, seed: number): Promise<void> {
  const key = createHash('sha256').update(`${seed}\0${file}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(bytes, 4 * 1024 * 1024));
  const fh = await fs.open(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= zeros.length) {
      await fh.write(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
    }
  } finally {
    await fh.close();
  }
}

/** The tree for `p` under `root`, generated on first use (a few minutes for 3 GB). */
export async function ensureTree(root: string, p: TreeParams, log: (m: string) => void = () => {}): Promise<Tree> {
  const id = createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 12);
  const dir = path.join(root, `sstate-tree-${id}`);
  const manifest = path.join(dir, 'manifest.json');
  if (existsSync(manifest)) return { dir, ...JSON.parse(await fs.readFile(manifest, 'utf8')) } as Tree;

  await fs.rm(dir, { recursive: true, force: true });
  const sstate = path.join(dir, 'sstate-cache');
  const objects = planTree(p);
  log(
    `generating a synthetic sstate tree: ${objects.length} objects, ${(p.totalBytes / 2 ** 30).toFixed(2)} GiB, in ${dir}`,
  );
  const currentMtimeMs = Math.floor(Date.now() / 1000) * 1000 - DAY;
  const staleMtimeMs = currentMtimeMs - 10 * DAY;
  const r = rng(p.seed ^ 0x5eed);
  let totalBytes = 0;
  let staleBytes = 0;
  for (const o of objects) {
    const file = path.join(sstate, o.path);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const siginfo = Math.round(SIGINFO_BYTES[0]! + r() * (SIGINFO_BYTES[1]! - SIGINFO_BYTES[0]!));
    await writeRandomFile(file, o.bytes, p.seed);
    await writeRandomFile(`${file}.siginfo`, siginfo, p.seed);
    const t = new Date(o.stale ? staleMtimeMs : currentMtimeMs);
    await fs.utimes(file, t, t);
    await fs.utimes(`${file}.siginfo`, t, t);
    totalBytes += o.bytes + siginfo;
    if (o.stale) staleBytes += o.bytes + siginfo;
  }
  const tree = {
    sstate,
    params: p,
    objects,
    currentMtimeMs,
    staleMtimeMs,
    totalBytes,
    staleBytes,
    files: objects.length * 2,
  };
  await fs.writeFile(manifest, JSON.stringify(tree));
  return { dir, ...tree };
}

/** File count and bytes below dir: to check that a restore brought back what was saved. */
export async function census(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  async function walk(d: string): Promise<void> {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        files++;
        bytes += (await fs.lstat(p)).size;
      }
    }
  }
  await walk(dir);
  return { files, bytes };
}
