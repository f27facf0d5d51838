/**
 * The builder container: who BitBake runs as, what it sees (read-only layers, read-write build
 * and cache directories at fixed paths), the limits it runs under, and its removal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import * as exec from '@actions/exec';

export type Engine = 'docker' | 'podman';

/** The label naming the build directory a container builds in: housekeeping asks the engine for it. */
export const BUILD_LABEL = 'org.smidr.build';

/** `smidr-build-<build id>`, as Smidr names its build containers (`docker ps --filter name=smidr-build-`). */
export function containerName(buildId: string): string {
  return `smidr-build-${buildId}`;
}

export interface Mount {
  source: string;
  target: string;
  readonly: boolean;
}

export interface ContainerSpec {
  engine: Engine;
  image: string;
  name: string;
  user: { uid: number; gid: number };
  mounts: Mount[];
  env: Record<string, string>;
  workdir: string;
  memory?: string;
  cpus?: number;
  securityOptions: string[];
  /** `host`: the container shares the runner's network, to reach the action's endpoint on 127.0.0.1. */
  network?: 'host';
  labels: Record<string, string>;
  /** The program and its arguments, run with the image's entrypoint replaced. */
  command: string[];
}

/** The uid BitBake runs as: the runner's own, or a regular user's when the runner is root. */
export function builderUser(): { uid: number; gid: number } {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  return uid === 0 ? { uid: 1000, gid: 1000 } : { uid, gid };
}

/**
 * The build user's ~/.gitconfig. Git refuses to read a repository another user owns ("dubious
 * ownership"), and a root runner's layer checkouts belong to root while BitBake runs as uid 1000:
 * BitBake's build configuration showed every layer as `<unknown>:<unknown>`, and a git source
 * inside a layer (`protocol=file`) failed to fetch. Nothing in the container is more trusted than
 * the layers' recipes, which run as this user anyway, so every repository is trusted.
 */
export const BUILD_USER_GITCONFIG =
  '# Written by smidr/build-action: the layer checkouts may belong to another user.\n[safe]\n\tdirectory = *\n';

/** `--mount` takes CSV fields: a path with a comma or quote must be quoted CSV-style. */
function mountArg(m: Mount): string {
  const field = (f: string) => (/[",]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
  return [
    `type=bind`,
    field(`source=${m.source}`),
    field(`target=${m.target}`),
    ...(m.readonly ? ['readonly'] : []),
  ].join(',');
}

export function runArgs(spec: ContainerSpec): string[] {
  const args = [
    'run',
    '--name',
    spec.name,
    '--init',
    '--user',
    `${spec.user.uid}:${spec.user.gid}`,
    '--workdir',
    spec.workdir,
    '--entrypoint',
    spec.command[0]!,
  ];
  for (const [k, v] of Object.entries(spec.labels)) args.push('--label', `${k}=${v}`);
  // podman maps the caller's uid into the container only when asked; docker needs no mapping.
  if (spec.engine === 'podman' && spec.user.uid !== 0 && process.getuid?.() !== 0) args.push('--userns=keep-id');
  if (spec.memory) args.push('--memory', spec.memory, '--memory-swap', spec.memory);
  if (spec.cpus !== undefined) args.push('--cpus', String(spec.cpus));
  for (const o of spec.securityOptions) args.push('--security-opt', o);
  if (spec.network) args.push('--network', spec.network);
  for (const m of spec.mounts) args.push('--mount', mountArg(m));
  for (const [k, v] of Object.entries(spec.env)) args.push('--env', `${k}=${v}`);
  args.push(spec.image, ...spec.command.slice(1));
  return args;
}

/**
 * BitBake's sanity check needs working user namespaces. Ubuntu 24.04 forbids them to unconfined
 * processes through AppArmor; its `rootlesskit` profile allows them (the same choice as
 * kas-container). Without such a profile the build would fail later with a worse message.
 */
export function userNamespaceOptions(
  restrictFile = '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
  profileFile = '/etc/apparmor.d/rootlesskit',
): { options: string[]; warning?: string } {
  if (!existsSync(restrictFile) || readFileSync(restrictFile, 'utf8').trim() !== '1') return { options: [] };
  if (existsSync(profileFile)) return { options: ['apparmor=rootlesskit'] };
  return {
    options: [],
    warning:
      'AppArmor restricts unprivileged user namespaces and no rootlesskit profile is installed; ' +
      'BitBake may fail with "User namespaces are not usable". Fix: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
  };
}

export async function engineAvailable(engine: Engine): Promise<string | undefined> {
  const out = await exec
    .getExecOutput(engine, ['version', '--format', '{{.Server.Version}}'], { silent: true, ignoreReturnCode: true })
    .catch(() => undefined);
  if (!out)
    return `${engine} is not installed; install it (e.g. apt-get install docker.io) or set container-engine: none`;
  if (out.exitCode !== 0)
    return `${engine} is installed but its daemon does not answer (${out.stderr.trim().split('\n').pop()}); start it (sudo systemctl start ${engine}) and make sure the runner user may use it`;
  return undefined;
}

export async function ensureImage(engine: Engine, image: string): Promise<void> {
  const present = await exec.exec(engine, ['image', 'inspect', image], { silent: true, ignoreReturnCode: true });
  if (present === 0) return;
  const pulled = await exec.getExecOutput(engine, ['pull', image], { ignoreReturnCode: true });
  if (pulled.exitCode !== 0) {
    throw new Error(
      `container image ${image} is not present and could not be pulled (${pulled.stderr.trim().split('\n').pop()}); check container.base_image / the container-image input, or load the image on the runner`,
    );
  }
}

export async function wasOomKilled(engine: Engine, name: string): Promise<boolean> {
  const out = await exec.getExecOutput(engine, ['inspect', '--format', '{{.State.OOMKilled}}', name], {
    silent: true,
    ignoreReturnCode: true,
  });
  return out.stdout.trim() === 'true';
}

/** Synchronous, so it also completes from a signal handler just before the process exits. */
export function removeContainer(engine: Engine, name: string): void {
  spawnSync(engine, ['rm', '--force', '--volumes', name], { stdio: 'ignore', timeout: 60_000 });
}

export function signalContainer(engine: Engine, name: string, signal: 'SIGINT' | 'SIGTERM'): void {
  spawnSync(engine, ['kill', '--signal', signal, name], { stdio: 'ignore', timeout: 30_000 });
}
