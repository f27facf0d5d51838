/**
 * `smidr build`: the action's pipeline from a terminal, with the config's `directories:` as
 * persistent caches, so a CI build can be reproduced (and warmed) on a laptop.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_CONFIG_FILE } from './action/constants.js';
import { confLines, splitList } from './action/inputs.js';
import { layersJson } from './bitbake/layers.js';
import { localDirs } from './bitbake/workspace.js';
import { type ConfigOverrides, loadConfig } from './config/config.js';
import { type BuildOutcome, prepareBuild, type PreparedBuild, runPreparedBuild } from './pipeline.js';
import { ConfigError, errorMessage, errorStack } from './util/errors.js';
import { formatDuration } from './util/format.js';
import { log, setLogger, terminalLogger } from './util/log.js';

const USAGE = `usage: smidr build [options]
  -c, --config FILE          smidr.yaml to build (default: ${DEFAULT_CONFIG_FILE})
  -m, --machine NAME         MACHINE, overriding the config
  -t, --target NAME          target to build (repeatable), overriding the config
  -d, --distro NAME          DISTRO, overriding the config
  -l, --local-conf LINE      extra conf assignment, e.g. 'INHERIT += "rm_work"' (repeatable)
  -a, --bitbake-arg ARG      extra BitBake argument (repeatable)
      --container-image IMG  builder image, overriding the config
      --container-engine E   docker, podman or none
      --workspace-dir DIR    where build directories go (default: beside the sstate directory)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'build') {
    process.stderr.write(USAGE);
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  const { configFile, overrides, workspaceDir } = parseBuildArgs(rest);
  const config = loadConfig(configFile, overrides);
  const build = await prepareBuild(config, localDirs(config.directories, workspaceDir));
  const outcome = await runPreparedBuild(build);
  printOutcome(build, outcome);
  return outcome.result === 'success' ? 0 : 1;
}

function parseBuildArgs(args: string[]): { configFile: string; overrides: ConfigOverrides; workspaceDir?: string } {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c', default: DEFAULT_CONFIG_FILE },
      machine: { type: 'string', short: 'm' },
      target: { type: 'string', short: 't', multiple: true },
      distro: { type: 'string', short: 'd' },
      'local-conf': { type: 'string', short: 'l', multiple: true },
      'bitbake-arg': { type: 'string', short: 'a', multiple: true },
      'container-image': { type: 'string' },
      'container-engine': { type: 'string' },
      'workspace-dir': { type: 'string' },
    },
    strict: true,
  });
  return {
    configFile: path.resolve(values.config),
    overrides: {
      machine: values.machine,
      targets: values.target?.flatMap(splitList),
      distro: values.distro,
      localConf: values['local-conf']?.flatMap(confLines),
      bitbakeArgs: values['bitbake-arg'],
      containerImage: values['container-image'],
      containerEngine: values['container-engine'],
    },
    workspaceDir: values['workspace-dir'],
  };
}

function printOutcome(build: PreparedBuild, outcome: BuildOutcome): void {
  const { config } = build;
  const s = outcome.run.summary;
  log.info(
    `\n${outcome.result}: ${config.targets.join(' ')} for ${config.machine} in ${formatDuration(outcome.run.durationMs)}`,
  );
  log.info(`  build dir:    ${build.workspace.buildDir}`);
  log.info(`  tasks run:    ${outcome.tasksRun ?? '-'}, reused from sstate: ${outcome.tasksReused ?? '-'}`);
  if (s.sstate)
    log.info(
      `  sstate match: ${s.sstate.matchPercent}% (wanted ${s.sstate.wanted}, local ${s.sstate.local}, mirrors ${s.sstate.mirrors}, missed ${s.sstate.missed})`,
    );
  for (const image of outcome.images) log.info(`  image:        ${image}`);
  log.info(`  layers:       ${JSON.stringify(layersJson(build.layers))}`);
  if (outcome.failureMessage) log.error(outcome.failureMessage);
}

setLogger(terminalLogger);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (!(e instanceof ConfigError)) log.debug(errorStack(e));
    log.error(errorMessage(e));
    process.exit(e instanceof ConfigError ? 2 : 1);
  },
);
