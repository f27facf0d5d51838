/**
 * `smidr check` on a kas project: the repositories are checked out (kas resolves every branch and
 * tag to a commit the same way), then the merged project is printed the way `kas dump
 * --resolve-refs` prints it, with the conf text the build would write, for a side-by-side
 * comparison with kas.
 */
import { renderKasLocalConf } from '../bitbake/conf.js';
import { checkoutLayers } from '../bitbake/layers.js';
import { bblayersDirs } from '../bitbake/layout.js';
import { bblayersConf as renderBblayers } from '../bitbake/setup.js';
import type { BuildConfig } from '../config/config.js';
import { kasDump } from '../config/kas/dump.js';
import { finishKas } from '../pipeline.js';

export async function kasCheckText(loaded: BuildConfig, layerStore: string): Promise<string> {
  const config = await finishKas(loaded, layerStore);
  const layers = await checkoutLayers(config.layers, layerStore, config.dir);
  const bblayersConf = renderBblayers(
    bblayersDirs(layers, (l) => l.dir),
    layers,
    config.confText,
  );
  const localConf = renderKasLocalConf(config.confText?.localConf ?? '');
  return kasDump(config, layers, { localConf, bblayersConf });
}
