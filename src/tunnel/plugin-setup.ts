// Finding session-manager-plugin and judging its version, before anything else of a run: no AWS SDK
// here, so that the check (a `--version` process) runs while the SDK loads (tunnel/deps.ts).
import { TunnelError } from '../errors.js';
import type { SessionClientChoice } from '../model.js';
import { findPlugin, pluginVersion } from '../plugin/locate.js';
import { judgePluginVersion } from '../plugin/version.js';
import type { PluginSetup } from './run.js';

/**
 * Where the plugin is and whether its version will do. Asked at every run: remembering the answer
 * between runs measured 0 ms on the way to ready, as it runs beside the SDK's load (bench/patches.ts).
 */
export async function preparePlugin(
  env: NodeJS.ProcessEnv,
  legacyPlugin: boolean,
  debug: (m: string) => void,
  choice: SessionClientChoice = 'plugin',
): Promise<PluginSetup> {
  const native = (why: string, fallback: boolean): PluginSetup => ({
    file: '',
    verdict: { form: 'env', warning: undefined },
    native: { why, fallback },
  });
  if (choice === 'native') return native('asked for', false);
  let file: string;
  try {
    file = await findPlugin(env);
  } catch (e) {
    // auto: without the plugin, dbtunnel's own client carries the tunnel (and says so, once).
    if (choice === 'auto' && e instanceof TunnelError && e.kind === 'pluginMissing') {
      return native('session-manager-plugin is not installed', true);
    }
    throw e;
  }
  const version = await pluginVersion(file);
  debug(`plugin: ${file} ${version}`);
  return { file, verdict: judgePluginVersion(version, legacyPlugin) };
}
