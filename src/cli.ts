/**
 * `smidr build`: the action's pipeline from a terminal, with the config's `directories:` as
 * persistent caches, so a CI build can be reproduced (and warmed) on a laptop.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_CONFIG_FILE } from './action/constants.js';
import { layersJson } from './bitbake/layers.js';
import { localDirs } from './bitbake/workspace.js';
import { BUILD_OPTIONS, FLAG_NAMING, overridesFromFlags } from './cli/flags.js';
import { loadConfig } from './config/config.js';
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
  const { values } = parseArgs({ args: rest, options: BUILD_OPTIONS, strict: true });
  const config = loadConfig(path.resolve(values.config), overridesFromFlags(values), { naming: FLAG_NAMING });
  const build = await prepareBuild(config, localDirs(config.directories, values['workspace-dir']));
  const outcome = await runPreparedBuild(build);
  printOutcome(build, outcome);
  return outcome.result === 'success' ? 0 : 1;
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
