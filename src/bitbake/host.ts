/**
 * Where BitBake runs and with what: in the builder container (image present, directories owned by
 * the build user, mounts and environment from the layout), or directly on the runner with the
 * runner's environment minus what must not reach BitBake.
 */
import * as exec from '@actions/exec';

import type { BuildConfig, BuildtoolsConfig } from '../config/config.js';
import { installBuildtools } from '../host/buildtools.js';
import { stringEnv } from '../util/env.js';
import { ConfigError } from '../util/errors.js';
import { log } from '../util/log.js';
import {
  BUILD_LABEL,
  builderUser,
  type ContainerSpec,
  engineAvailable,
  ensureImage,
  userNamespaceOptions,
} from './container.js';
import type { BuildTools } from './layers.js';
import { type BitbakeLayout, bitbakeLayout, type HostDirs } from './layout.js';
import type { BitbakeHost } from './run.js';

/** What a host is made from: the container settings, the build's directories and its tools. */
export interface HostRequest {
  container: BuildConfig['container'];
  dirs: HostDirs;
  tools: BuildTools;
  /** The build's id, labelled on its container. */
  buildId: string;
  /** Set when BitBake runs in a container. */
  containerName?: string;
  /** The container shares the runner's network (the remote cache's endpoint listens on its 127.0.0.1). */
  hostNetwork?: boolean;
  /** kas `env`: variables BitBake sees, each with its default (null: none). */
  passEnv?: BuildConfig['passEnv'];
  /** Yocto's buildtools, installed (or found in the tool cache) and sourced when BitBake runs on the runner. */
  buildtools?: BuildtoolsConfig;
}

export async function bitbakeHost(r: HostRequest, argv: string[], uid = process.getuid?.()): Promise<BitbakeHost> {
  if (r.containerName) return containerHost(r, r.containerName, argv, uid);
  refuseRoot(uid);
  const buildtools = r.buildtools && (await log.group('Buildtools', () => installBuildtools(r.buildtools!)));
  return directHost(r, process.env, uid, buildtools?.envFile);
}

async function containerHost(r: HostRequest, name: string, argv: string[], uid?: number): Promise<BitbakeHost> {
  const engine = r.container.engine as ContainerSpec['engine'];
  const missing = await engineAvailable(engine);
  if (missing) throw new Error(missing);
  await ensureImage(engine, r.container.image);
  const user = builderUser();
  if (uid === 0)
    await ownBuildDirs(
      [r.dirs.buildDir, ...Object.values(r.dirs.caches), ...(r.dirs.tmpRoot ? [r.dirs.tmpRoot] : [])],
      user,
    );
  const userns = userNamespaceOptions();
  if (userns.warning) log.warning(userns.warning);
  const spec = containerSpec(r, name, argv, user, userns.options);
  return { kind: 'container', spec };
}

/** The container BitBake runs in: layers read-only, build and caches read-write, at the layout's paths. */
export function containerSpec(
  r: HostRequest,
  name: string,
  argv: string[],
  user: { uid: number; gid: number },
  securityOptions: string[],
): ContainerSpec {
  const layout = bitbakeLayout(r.dirs, true);
  const passed = passedEnv(r.passEnv, process.env);
  return {
    engine: r.container.engine as ContainerSpec['engine'],
    image: r.container.image,
    name,
    user,
    mounts: layout.binds.map((b) => ({ source: b.host, target: b.seen, readonly: b.readonly })),
    env: { ...bitbakeEnv(layout, r.tools), HOME: layout.home, USER: 'builder', LOGNAME: 'builder', ...passed.defaults },
    passEnv: passed.fromEnvironment,
    workdir: layout.build,
    memory: r.container.memory,
    cpus: r.container.cpuCount,
    securityOptions,
    network: r.hostNetwork ? 'host' : undefined,
    labels: { [BUILD_LABEL]: r.buildId },
    command: ['/bin/bash', layout.script, ...argv],
  };
}

/**
 * A root runner builds as a regular user: the directories it writes must be that user's. Only
 * what is not already: a shared sstate directory of a self-hosted host is mostly the build
 * user's, and changing every file's owner (and ctime) on every build is needless work. Other
 * builds may remove their temporary files meanwhile, so find's complaints about those are no
 * failure; a file really left unwritable shows as BitBake's own permission error.
 */
async function ownBuildDirs(dirs: string[], user: { uid: number; gid: number }): Promise<void> {
  const notOwned = ['(', '!', '-uid', String(user.uid), '-o', '!', '-gid', String(user.gid), ')'];
  for (const dir of dirs) {
    await exec.exec('find', [dir, ...notOwned, '-exec', 'chown', '-h', `${user.uid}:${user.gid}`, '{}', '+'], {
      silent: true,
      ignoreReturnCode: true,
    });
  }
}

/** OE refuses root, so a root runner is told to use a container, before anything is downloaded for it. */
function refuseRoot(uid: number | undefined): void {
  if (uid === 0) {
    throw new ConfigError(
      'container-engine none runs BitBake on the runner, and BitBake refuses to run as root; use a container engine or a non-root runner',
    );
  }
}

/**
 * BitBake on the runner itself, with the runner's environment minus what must not reach it; the
 * buildtools environment script (a path in the tool cache) is sourced by run-bitbake.sh.
 */
export function directHost(r: HostRequest, env: NodeJS.ProcessEnv, uid?: number, buildtoolsEnv?: string): BitbakeHost {
  refuseRoot(uid);
  const layout = bitbakeLayout(r.dirs, false);
  const passed = passedEnv(r.passEnv, env);
  const fromEnvironment = Object.fromEntries(passed.fromEnvironment.map((k) => [k, env[k]!]));
  return {
    kind: 'direct',
    script: layout.script,
    env: {
      ...runnerEnvForBitbake(env),
      ...fromEnvironment,
      ...passed.defaults,
      ...bitbakeEnv(layout, r.tools),
      ...(buildtoolsEnv && { SMIDR_BUILDTOOLS_ENV: buildtoolsEnv }),
    },
    cwd: layout.build,
  };
}

/**
 * The runner's environment as BitBake gets it: no host TMPDIR, no server address, none of the
 * action's own variables, no runner secrets (the remote cache's AWS credentials stay with the action, which fetches for BitBake).
 */
export function runnerEnvForBitbake(env: NodeJS.ProcessEnv): Record<string, string> {
  const out = stringEnv(env);
  for (const k of Object.keys(out)) {
    if (
      k === 'TMPDIR' ||
      k === 'BBSERVER' ||
      // run-bitbake.sh's own variables (SMIDR_BUILDTOOLS_ENV is sourced): only the action sets them.
      k.startsWith('SMIDR_') ||
      k.startsWith('ACTIONS_') ||
      k.startsWith('INPUT_') ||
      k.startsWith('GITHUB_TOKEN') ||
      k.startsWith('AWS_')
    )
      delete out[k];
  }
  return out;
}

/** What run-bitbake.sh reads: where the build directory, oe-init-build-env and BitBake are. */
export function bitbakeEnv(layout: BitbakeLayout, tools: BuildTools): Record<string, string> {
  return {
    LANG: 'en_US.UTF-8',
    LC_ALL: 'en_US.UTF-8',
    SMIDR_BUILD_DIR: layout.build,
    SMIDR_INIT_ENV: `${layout.layer(tools.initEnv.layer)}/${tools.initEnv.file}`,
    SMIDR_BITBAKE_DIR: bitbakeDirFor(tools, layout.layer(tools.bitbake.layer)),
  };
}

/** oe-init-build-env finds poky's bitbake/ itself; the split layout must name the directory. */
function bitbakeDirFor(tools: BuildTools, layerRoot: string): string {
  if (tools.bitbake.layer === tools.initEnv.layer && tools.bitbake.dir === 'bitbake') return '';
  return tools.bitbake.dir === '.' ? layerRoot : `${layerRoot}/${tools.bitbake.dir}`;
}

/**
 * kas `env`: each variable BitBake should see, through BB_ENV_PASSTHROUGH_ADDITIONS (which
 * oe-init-build-env extends). A variable set in the environment passes by name, so its value
 * never appears on a command line or in the log; an unset one takes the project's default, or is
 * left out when it has none.
 */
export function passedEnv(
  passEnv: BuildConfig['passEnv'],
  env: NodeJS.ProcessEnv,
): { defaults: Record<string, string>; fromEnvironment: string[] } {
  const defaults: Record<string, string> = {};
  const fromEnvironment: string[] = [];
  for (const [name, fallback] of Object.entries(passEnv ?? {})) {
    if (env[name] !== undefined) fromEnvironment.push(name);
    else if (fallback !== null) defaults[name] = fallback;
  }
  const names = [...fromEnvironment, ...Object.keys(defaults)];
  if (names.length > 0) defaults.BB_ENV_PASSTHROUGH_ADDITIONS = names.join(' ');
  return { defaults, fromEnvironment };
}
