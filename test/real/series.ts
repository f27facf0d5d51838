/**
 * The Yocto series the real tier runs, each from a BitBake checkout and an OE-core checkout named
 * by environment variables. The test serves them as git remotes, so any clone with the branch
 * works (a worktree, `git clone --shared`, ...).
 */
import { execFileSync } from 'node:child_process';

export interface RealSeries {
  id: string;
  /** yocto_series in smidr.yaml. */
  series: string;
  bitbakeVar: string;
  oecoreVar: string;
  bitbakeBranch: string;
  oecoreBranch: string;
  /** local_conf lines this series needs on top of the common ones. */
  localConf: string[];
}

export const SERIES: RealSeries[] = [
  {
    id: 'master',
    series: 'master',
    bitbakeVar: 'SMIDR_REAL_BITBAKE',
    oecoreVar: 'SMIDR_REAL_OECORE',
    bitbakeBranch: 'master',
    oecoreBranch: 'master',
    localConf: [],
  },
  {
    id: 'scarthgap',
    series: 'scarthgap',
    bitbakeVar: 'SMIDR_REAL_BITBAKE_2_8',
    oecoreVar: 'SMIDR_REAL_OECORE_SCARTHGAP',
    bitbakeBranch: '2.8',
    oecoreBranch: 'scarthgap',
    // Scarthgap appends "-glibc" to TMPDIR unless told not to (master rejects the variable).
    localConf: ['TCLIBCAPPEND = ""'],
  },
];

/** Why a series cannot run here, or undefined when it can. */
export function seriesSkipReason(s: RealSeries, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const unset = [s.bitbakeVar, s.oecoreVar].filter((v) => !env[v]);
  if (unset.length > 0)
    return `set ${unset.join(' and ')} to a BitBake ${s.bitbakeBranch} and an OE-core ${s.oecoreBranch} checkout`;
  for (const [v, branch] of [
    [s.bitbakeVar, s.bitbakeBranch],
    [s.oecoreVar, s.oecoreBranch],
  ] as const) {
    try {
      execFileSync('git', ['-C', env[v]!, 'rev-parse', '--verify', '-q', `refs/heads/${branch}`], { stdio: 'ignore' });
    } catch {
      return `${v}=${env[v]} has no branch ${branch}`;
    }
  }
  return undefined;
}
