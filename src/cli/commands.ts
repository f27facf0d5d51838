/**
 * The CLI's commands: `build` (the action's pipeline from a terminal, with the config's
 * directories as persistent caches), `check` (validate and print, no network or Docker) and
 * `init` (a starter smidr.yaml).
 */
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_CONFIG_FILE } from '../action/constants.js';
import { copyDeployDir } from '../bitbake/deploy.js';
import { layersJson } from '../bitbake/layers.js';
import { localDirs } from '../bitbake/workspace.js';
import { checkReport, formatOf, KAS, loadAnyConfig } from '../check.js';
import { type BuildConfig, logConfigWarnings } from '../config/config.js';
import { prepareBuild, type PreparedBuild, runPreparedBuild } from '../pipeline.js';
import { selectArtifacts } from '../report/artifacts.js';
import { ConfigError } from '../util/errors.js';
import { formatDuration } from '../util/format.js';
import { log, type Logger, setLogger, terminalLogger } from '../util/log.js';
import { kasCheckText } from './check-kas.js';
import { BUILD_OPTIONS, CHECK_OPTIONS, FLAG_NAMING, overridesFromFlags } from './flags.js';

export async function build(args: string[], configFile: string | undefined): Promise<number> {
  const { values } = parseArgs({ args, options: BUILD_OPTIONS, strict: true });
  const file = path.resolve(values.config ?? configFile ?? DEFAULT_CONFIG_FILE);
  const config = loadAnyConfig(file, overridesFromFlags(values), { naming: FLAG_NAMING });
  logConfigWarnings(config);
  const dirs = localDirs(config.directories, values['workspace-dir']);
  const prepared = await prepareBuild(config, dirs);
  if (values['fetch-only']) return fetchOnly(prepared);
  if (values['clean-image']) {
    // Upstream runs `-c clean` in its reused build directory. Here every build has a fresh TMPDIR,
    // so there is nothing of the image to clean but its sstate: without it the image is made
    // again from its packages, which still come from sstate.
    const clean = await runPreparedBuild(withBitbakeArgs(prepared, ['-c', 'cleansstate']));
    if (clean.result !== 'success') log.warning(`bitbake -c cleansstate ${config.targets.join(' ')}: ${clean.result}`);
  }
  return report(prepared, config);
}

/** The same build with other BitBake options (the config's own bitbake_args are replaced). */
function withBitbakeArgs(b: PreparedBuild, bitbakeArgs: string[]): PreparedBuild {
  return { ...b, config: { ...b.config, bitbakeArgs } };
}

/**
 * --fetch-only: layers checked out, then `bitbake --runall=fetch`: every source the targets need
 * lands in DL_DIR, nothing is built (upstream stops after the layers; fetching the sources too is
 * what prepares an offline build).
 */
async function fetchOnly(b: PreparedBuild): Promise<number> {
  const outcome = await runPreparedBuild(withBitbakeArgs(b, ['--runall=fetch']));
  const { config } = b;
  console.log(
    `\n${outcome.result === 'success' ? 'fetched' : outcome.result}: ${config.targets.join(' ')} (--runall=fetch; nothing built)`,
  );
  console.log(`  build dir:    ${b.workspace.buildDir}`);
  console.log(`  downloads:    ${b.workspace.caches.downloads}`);
  console.log(`  layers:       ${JSON.stringify(layersJson(b.layers))}`);
  if (outcome.failureMessage) log.error(outcome.failureMessage);
  return outcome.result === 'success' ? 0 : 1;
}

async function report(b: PreparedBuild, config: BuildConfig): Promise<number> {
  const budgetMinutes = config.buildTimeoutMinutes;
  const outcome = await runPreparedBuild(b, {
    budget: budgetMinutes ? { deadlineMs: Date.now() + budgetMinutes * 60_000, minutes: budgetMinutes } : undefined,
  });
  const s = outcome.run.summary;
  console.log(
    `\n${outcome.result}: ${config.targets.join(' ')} for ${config.machine} in ${formatDuration(outcome.run.durationMs)}`,
  );
  console.log(`  build dir:    ${b.workspace.buildDir}`);
  console.log(`  tasks run:    ${outcome.tasksRun ?? '-'}, reused from sstate: ${outcome.tasksReused ?? '-'}`);
  if (s.sstate)
    console.log(
      `  sstate match: ${s.sstate.matchPercent}% (wanted ${s.sstate.wanted}, local ${s.sstate.local}, mirrors ${s.sstate.mirrors}, missed ${s.sstate.missed})`,
    );
  for (const image of outcome.images) console.log(`  image:        ${image}`);
  for (const file of selectArtifacts(outcome.deployDir, config.artifacts ?? [])) console.log(`  artifact:     ${file}`);
  console.log(`  layers:       ${JSON.stringify(layersJson(b.layers))}`);
  if (outcome.result === 'success' && config.directories.deploy) {
    const copy = await copyDeployDir(outcome.deployDir, config.directories.deploy, b.workspace.id);
    console.log(`  deploy copy:  ${copy} (directories.deploy)`);
  }
  if (outcome.failureMessage) log.error(outcome.failureMessage);
  return outcome.result === 'success' ? 0 : 1;
}

/** Validates and prints; a ConfigError propagates (exit 2). */
export function check(args: string[], configFile: string | undefined): number {
  const { values } = parseArgs({ args, options: CHECK_OPTIONS, strict: true });
  const file = path.resolve(values.config ?? configFile ?? DEFAULT_CONFIG_FILE);
  const config = loadAnyConfig(file, overridesFromFlags(values), { naming: FLAG_NAMING });
  logConfigWarnings(config);
  process.stdout.write(checkReport(config, formatOf(file).name));
  return 0;
}

/**
 * `smidr check`: check for smidr.yaml; a kas project is checked out and printed the way
 * `kas dump --resolve-refs` prints it (resolving refs needs the network, as it does for kas).
 */
export async function checkCommand(args: string[], configFile: string | undefined): Promise<number> {
  const { values } = parseArgs({ args, options: CHECK_OPTIONS, strict: true });
  const file = path.resolve(values.config ?? configFile ?? DEFAULT_CONFIG_FILE);
  if (formatOf(file) !== KAS) return check(args, configFile);
  // The dump is YAML on stdout: warnings and the checkout's progress go to stderr.
  setLogger(STDERR_LOGGER);
  const config = KAS.load(file, overridesFromFlags(values), { naming: FLAG_NAMING });
  process.stdout.write(await kasCheckText(config, localDirs(config.directories).layerStore));
  return 0;
}

const STDERR_LOGGER: Logger = {
  ...terminalLogger,
  info: (m) => process.stderr.write(`${m}\n`),
  async group(title, body) {
    process.stderr.write(`\n=== ${title}\n`);
    return body();
  },
};

export function init(args: string[], configFile: string | undefined): number {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const name = positionals[0] ?? path.basename(process.cwd());
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new ConfigError(
      `smidr init: ${JSON.stringify(name)} is not a project name; expected letters, digits and . _ -`,
    );
  const file = path.resolve(configFile ?? DEFAULT_CONFIG_FILE);
  if (existsSync(file))
    throw new ConfigError(`${file}: already exists; expected a new file (remove it, or pass --config)`);
  writeFileSync(file, starter(name));
  console.log(`wrote ${file}: edit it, then run smidr check`);
  return 0;
}

function starter(name: string): string {
  return `# Smidr build configuration: see docs/config.md (schema: schema/smidr.schema.json)
name: ${name}
description: Custom Yocto build
yocto_series: scarthgap
base: { provider: poky, machine: qemux86-64, distro: poky }
layers: []                # poky comes from base.provider; add meta-openembedded, your BSP, path: . …
build:
  image: core-image-minimal
  machine: qemux86-64
directories:              # persistent caches for local runs and self-hosted runners
  downloads: \${SMIDR_DL_DIR:-~/.smidr/downloads}
  sstate: \${SMIDR_SSTATE_DIR:-~/.smidr/sstate-cache}
  layers: ~/.smidr/layers
container: { base_image: crops/poky:ubuntu-22.04, memory: 8g, cpu_count: 4 }
`;
}
