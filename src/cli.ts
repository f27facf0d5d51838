/**
 * `smidr`: the action's pipeline from a terminal, with the config's `directories:` as persistent
 * caches, so a CI build can be reproduced (and warmed) on a laptop. Upstream Smidr's spellings
 * work too: `smidr --config FILE build`, `smidr init [name]`, `--fetch-only`, `--clean-image`.
 */
import { DEFAULT_CONFIG_FILE } from './action/constants.js';
import { CLEAN_REMOTE_USAGE, cleanRemote } from './cli/clean-remote.js';
import { build, checkCommand, init } from './cli/commands.js';
import { ConfigError, errorMessage, errorStack } from './util/errors.js';
import { log, setLogger, terminalLogger } from './util/log.js';

const USAGE = `usage: smidr [-c FILE] <command> [options]
commands:
  build                      build the config's targets (BitBake in the builder container)
  check                      validate the config and print the settings, layers and conf/auto.conf
                             lines a build would use; no network, Docker or BitBake (exit 0 or 2)
  init [name]                write a starter smidr.yaml
  clean-remote               remove objects of a remote cache unused for N days (see below)
options (build and check):
  -c, --config FILE          config to read (default: ${DEFAULT_CONFIG_FILE}); also before the command
  -m, --machine NAME         MACHINE, overriding the config
  -t, --target NAME          target to build (repeatable), overriding the config
  -d, --distro NAME          DISTRO, overriding the config
  -l, --local-conf LINE      extra conf assignment, e.g. 'INHERIT += "rm_work"' (repeatable)
  -a, --bitbake-arg ARG      extra BitBake argument (repeatable)
      --container-image IMG  builder image, overriding the config
      --container-engine E   docker, podman or none
      --buildtools V         with container engine none: Yocto's buildtools release V (e.g. 5.0.8)
      --buildtools-sha256 S  the buildtools installer's SHA-256
options (build):
      --workspace-dir DIR    where build directories go (default: directories.build, else beside sstate)
      --fetch-only           check out the layers and write the conf, then stop before BitBake
      --clean-image          run bitbake -c clean on the targets first (regenerates the image only)

${CLEAN_REMOTE_USAGE}`;

/** `smidr --config FILE build …` and `smidr build --config FILE …` alike. */
function splitGlobal(argv: string[]): { configFile?: string; command?: string; rest: string[] } {
  let configFile: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '-c' || a === '--config') && i + 1 < argv.length) configFile = argv[++i];
    else if (a.startsWith('--config=')) configFile = a.slice('--config='.length);
    else break;
  }
  return { configFile, command: argv[i], rest: argv.slice(i + 1) };
}

async function main(argv: string[]): Promise<number> {
  const { configFile, command, rest } = splitGlobal(argv);
  if (command === 'build') return build(rest, configFile);
  if (command === 'check') return checkCommand(rest, configFile);
  if (command === 'init') return init(rest, configFile);
  if (command === 'clean-remote') return cleanRemote(rest);
  process.stderr.write(USAGE);
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
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
