/**
 * The test world of an end-to-end test: layer remotes made from fixtures, a job workspace
 * repository holding smidr.yaml and the layer under test, and helpers to read what the BitBake
 * stand-in recorded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { GitRemote, makeWorkspaceRepo } from './git-remotes.js';
import { REPO_ROOT } from './run-action.js';

export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
export const BUILDER_IMAGE = process.env.SMIDR_BUILDER_IMAGE ?? 'smidr-builder:bookworm';

/** A scratch directory under /var/tmp: bind-mountable, and not the host TMPDIR the tests guard. */
export function scratch(name: string): string {
  mkdirSync('/var/tmp/smidr-tests', { recursive: true });
  return mkdtempSync(path.join('/var/tmp/smidr-tests', `${name}-`));
}

export function pokyRemote(root: string, name = 'poky'): GitRemote {
  return GitRemote.create(path.join(root, 'remotes'), name, path.join(FIXTURES, 'poky-standin'));
}

/** smidr.yaml for poky-standin plus the layer under test, as a path layer. */
export function smidrYaml(
  pokyUrl: string,
  extra: { pokyPin?: string; localConf?: string[]; image?: string; memory?: string } = {},
): string {
  const lines = [
    'name: e2e',
    'yocto_series: scarthgap',
    'layers:',
    '  - name: poky',
    `    git: ${pokyUrl}`,
    extra.pokyPin ?? '    branch: main',
    '  - name: meta-smidr-test',
    '    path: meta-smidr-test',
    'build:',
    `  image: ${extra.image ?? 'smidr-image'}`,
    '  machine: qemux86-64',
    '  bb_number_threads: 2',
    '  local_conf:',
    ...['STANDIN_PROBE_WRITE = "1"', ...(extra.localConf ?? [])].map((l) => `    - '${l}'`),
    'container:',
    `  base_image: ${BUILDER_IMAGE}`,
    `  memory: ${extra.memory ?? '2g'}`,
    '  cpu_count: 2',
  ];
  return `${lines.join('\n')}\n`;
}

/** A job workspace: a git repository with smidr.yaml and meta-smidr-test. */
export function jobWorkspace(root: string, name: string, yaml: string): string {
  const dir = path.join(root, name);
  makeWorkspaceRepo(dir, { 'smidr.yaml': yaml }, { 'meta-smidr-test': path.join(FIXTURES, 'meta-smidr-test') });
  return dir;
}

export interface StandinReport {
  /** BitBake's options and targets, as passed. */
  argv: string[];
  uid: number;
  version: string;
  env: Record<string, string | null>;
  conf_files: string[];
  variables: Record<string, string | null>;
  user_conf_values: Record<string, string>;
  hashserv_db: string | null;
  layer_write_probe: Record<string, { writable: boolean; errno?: string; error?: string }>;
  tasks_run: string[];
  setscene_tasks_run: string[];
  equivalences: unknown[];
  cgroup: { memory_bytes: number | null; cpus: number | null };
}

export function standinReport(buildDir: string): StandinReport {
  return JSON.parse(readFileSync(path.join(buildDir, 'standin-report.json'), 'utf8')) as StandinReport;
}

/** The recipes that ran any task in the build, sorted: what was not taken from sstate. */
export function recipesRun(report: StandinReport): string[] {
  return [...new Set(report.tasks_run.map((t) => t.split(':')[0]!))].sort();
}

/**
 * Names of containers, running or not, that the action labelled as its own; with step results,
 * only those of these builds (other builds may run on the same Docker engine).
 */
export function smidrContainers(...of: { outputs: Record<string, string> }[]): string[] {
  const out = execFileSync('docker', ['ps', '-a', '--filter', 'label=org.smidr.build', '--format', '{{.Names}}'], {
    encoding: 'utf8',
  });
  const names = out.split('\n').filter(Boolean);
  if (of.length === 0) return names;
  const mine = new Set(of.map((r) => `smidr-build-${path.basename(r.outputs['build-dir'] ?? '')}`));
  return names.filter((n) => mine.has(n));
}

export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', BUILDER_IMAGE], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function exists(p: string): boolean {
  return existsSync(p);
}
