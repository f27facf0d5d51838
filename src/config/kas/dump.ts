/**
 * `smidr check` on a kas project: the merged project the way `kas dump --resolve-refs` prints it
 * (includes removed, every repository with url at its resolved commit, overrides dropped as
 * redundant), then the conf text the build writes, as YAML comments, so the output stays YAML
 * and can be compared with kas's own.
 */
import { stringify } from 'yaml';

import type { BuildConfig } from '../config.js';
import { isDict, type KasDict } from './files.js';

export function kasDump(
  config: BuildConfig,
  resolved: { name: string; commit: string }[],
  conf: { autoConf?: string; localConf: string; bblayersConf: string },
): string {
  const kas = config.kas;
  if (!kas) throw new Error('not a kas project');
  const out = structuredClone(kas.read.merged);
  const header = out.header as KasDict;
  delete header.includes;
  const repos = isDict(out.repos) ? out.repos : {};
  for (const repo of kas.repos) {
    const commit = resolved.find((r) => r.name === repo.name)?.commit;
    if (repo.url === undefined || commit === undefined) continue;
    const entry = isDict(repos[repo.id]) ? (repos[repo.id] as KasDict) : {};
    entry.commit = commit;
    // The url the build used (an override may have replaced the one in repos).
    entry.url = repo.url;
    repos[repo.id] = entry;
  }
  delete out.overrides;
  // What the build uses after the inputs: the values kas would print had they been in the files.
  out.machine = config.machine;
  out.distro = config.distro;
  out.target = config.targets.length === 1 ? config.targets[0] : config.targets;
  const comment = (title: string, text: string) =>
    `\n# ---- ${title} ----\n${text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `# ${l}`.trimEnd())
      .join('\n')}\n`;
  return (
    stringify(out, { lineWidth: 0 }) +
    comment('conf/local.conf', conf.localConf) +
    comment('conf/bblayers.conf', conf.bblayersConf) +
    (conf.autoConf ? comment('conf/auto.conf (the action)', conf.autoConf) : '')
  );
}
