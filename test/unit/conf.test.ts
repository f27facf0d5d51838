import { describe, expect, it } from 'vitest';

import { type AutoConfSettings, renderAutoConf, renderBblayersConf } from '../../src/bitbake/conf.js';
import { quote } from '../../src/bitbake/conf-line.js';

const base: AutoConfSettings = {
  machine: 'qemux86-64',
  distro: 'poky',
  paths: {
    topdir: '/smidr/build',
    tmpdir: '/smidr/build/tmp',
    downloads: '/smidr/downloads',
    sstate: '/smidr/sstate',
    hashserv: '/smidr/hashserv',
    layers: [],
  },
  hashservDbDirSupported: true,
  localConf: [],
};

describe('quote', () => {
  it('writes values verbatim: BitBake has no escapes inside quotes', () => {
    expect(quote('a "b" \\c')).toBe('"a "b" \\c"');
  });
  it('switches to single quotes for a value with one double quote', () => {
    expect(quote('say "hi')).toBe(`'say "hi'`);
    expect(() => quote(`it's "x`)).toThrow(/one double and one single quote/);
  });
  it('keeps ${VAR} references, which BitBake expands', () => {
    expect(quote('${TOPDIR}/x')).toBe('"${TOPDIR}/x"');
  });
  it('refuses inline Python and line breaks, which cannot be escaped', () => {
    expect(() => quote('${@os.system("id")}')).toThrow(/inline Python/);
    expect(() => quote('a\nMACHINE = "x"')).toThrow(/line break/);
  });
});

describe('renderAutoConf', () => {
  it('sets machine, distro, shared caches, per-build TMPDIR and hash equivalence', () => {
    const text = renderAutoConf(base);
    expect(text).toContain('MACHINE = "qemux86-64"');
    expect(text).toContain('DISTRO = "poky"');
    expect(text).toContain('TMPDIR = "/smidr/build/tmp"');
    expect(text).toContain('DL_DIR = "/smidr/downloads"');
    expect(text).toContain('SSTATE_DIR = "/smidr/sstate"');
    expect(text).toContain('BB_HASHSERVE = "auto"');
    expect(text).toContain('BB_SIGNATURE_HANDLER = "OEEquivHash"');
    expect(text).toContain('BB_HASHSERVE_DB_DIR = "/smidr/hashserv"');
    expect(text).not.toContain('PERSISTENT_DIR');
  });
  it('points PERSISTENT_DIR at the shared DB dir on BitBake without BB_HASHSERVE_DB_DIR', () => {
    const text = renderAutoConf({ ...base, hashservDbDirSupported: false });
    expect(text).toContain('PERSISTENT_DIR = "/smidr/hashserv"');
    expect(text).not.toContain('BB_HASHSERVE_DB_DIR');
  });
  it('writes parallelism and the user lines last, escaped', () => {
    const text = renderAutoConf({
      ...base,
      bbNumberThreads: 8,
      parallelMake: '-j 8',
      localConf: [
        { variable: 'INHERIT', operator: '+=', value: 'rm_work' },
        { variable: 'X', operator: '=', value: 'say "hi"' },
      ],
    });
    expect(text).toContain('BB_NUMBER_THREADS = "8"');
    expect(text).toContain('PARALLEL_MAKE = "-j 8"');
    const lines = text.trim().split('\n');
    expect(lines.slice(-2)).toEqual(['INHERIT += "rm_work"', 'X = "say "hi""']);
  });
  it('sets the disk monitor as a default the user overrides, without the host /tmp', () => {
    const text = renderAutoConf(base);
    const line = text.split('\n').find((l) => l.startsWith('BB_DISKMON_DIRS'));
    expect(line).toBe(
      'BB_DISKMON_DIRS ?= "STOPTASKS,${TMPDIR},1G,100K HALT,${TMPDIR},100M,1K STOPTASKS,${DL_DIR},1G,100K ' +
        'HALT,${DL_DIR},100M,1K STOPTASKS,${SSTATE_DIR},1G,100K HALT,${SSTATE_DIR},100M,1K"',
    );
    // The user's own value comes later in the file (local_conf) or in local.conf: either wins over ?=.
    const user = renderAutoConf({ ...base, localConf: [{ variable: 'BB_DISKMON_DIRS', operator: '=', value: '' }] });
    expect(user.indexOf('BB_DISKMON_DIRS ?=')).toBeLessThan(user.indexOf('BB_DISKMON_DIRS = ""'));
  });
  it('inherits rm_work with its exclusions, and memory pressure regulation when given', () => {
    const text = renderAutoConf({ ...base, pressureMaxMemory: 10000, rmWork: { exclude: ['gtk+3', 'busybox'] } });
    expect(text).toContain('BB_PRESSURE_MAX_MEMORY = "10000"');
    expect(text).toContain('INHERIT += "rm_work"\nRM_WORK_EXCLUDE += "gtk+3 busybox"');
    expect(renderAutoConf({ ...base, rmWork: { exclude: [] } })).not.toContain('RM_WORK_EXCLUDE');
    expect(renderAutoConf(base)).not.toMatch(/rm_work|PRESSURE/);
    expect(() => renderAutoConf({ ...base, rmWork: { exclude: ['a" b'] } })).toThrow(/recipe name/);
  });
  it('refuses a machine that is not a BitBake name', () => {
    expect(() => renderAutoConf({ ...base, machine: 'x"\nINHERIT += "evil' })).toThrow(/MACHINE/);
  });
  it('refuses a variable name that is not one', () => {
    expect(() =>
      renderAutoConf({ ...base, localConf: [{ variable: 'A = "b"\nC', operator: '=', value: '' }] }),
    ).toThrow(/variable/);
  });
});

describe('renderBblayersConf', () => {
  it('lists the layers and the poky version when meta-poky is used', () => {
    const text = renderBblayersConf(['/smidr/layers/poky/meta', '/smidr/layers/poky/meta-poky'], '2');
    expect(text).toContain('POKY_BBLAYERS_CONF_VERSION = "2"');
    expect(text).toContain('BBPATH = "${TOPDIR}"');
    expect(text).toMatch(
      /BBLAYERS \?= " \\\n {4}\/smidr\/layers\/poky\/meta \\\n {4}\/smidr\/layers\/poky\/meta-poky \\\n"/,
    );
  });
});
