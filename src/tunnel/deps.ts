// The real edges of a run: AWS through the SDK (src/aws), session-manager-plugin as a process
// (src/plugin). Imported when a tunnel starts, once its config has been found valid: the AWS SDK
// loads only then. What the run needs from the person at the terminal (an MFA code) and what it
// tells them come in as RunUi.
import { findBastion } from '../aws/bastion.js';
import { createAwsContext, refuseMfa } from '../aws/context.js';
import { decodeAuthorizationMessage } from '../aws/decode.js';
import { resumeSession, startSession, terminateSession } from '../aws/session.js';
import type { EnvironmentPlan } from '../model.js';
import type { PluginSetup, RunDeps } from './run.js';

export interface RunUi {
  /** Asked for an MFA code; undefined: this run cannot ask (a background one), and says how to give one. */
  mfaCode: ((serial: string) => Promise<string>) | undefined;
  warn(message: string): void;
  debug(message: string): void;
}

/**
 * `plugin`: the plugin check (tunnel/plugin-setup.ts), started before this module was imported, so
 * that its `--version` process runs while the AWS SDK loads.
 */
export function realDeps(plan: EnvironmentPlan, plugin: Promise<PluginSetup>, ui: RunUi): RunDeps {
  plugin.catch(() => {}); // reported by the run, in its turn
  // Each session client's code loads only for the tunnels it carries (the plugin's brings execa),
  // from the moment the plugin check says which: while the AWS SDK loads, not after StartSession.
  // (A failed import is reported when the run asks for the module.)
  plugin
    .then((p): Promise<unknown> => (p.native ? import('../native/session.js') : import('../plugin/process.js')))
    .catch(() => {});
  return {
    preparePlugin: () => plugin,
    connectAws: () =>
      createAwsContext({
        profile: plan.profile,
        region: plan.region,
        mfaCode: ui.mfaCode ?? refuseMfa('up -d'),
        debug: ui.debug,
        warn: ui.warn,
      }),
    findBastion: (aws) => findBastion(aws, plan.bastion, ui.warn),
    startSession,
    terminateSession,
    pluginClient: async () => (await import('../plugin/process.js')).spawnPlugin,
    decodeMessage: (aws, encoded) => decodeAuthorizationMessage(aws, encoded, ui.debug),
    resumeSession,
    nativeClient: async () => (await import('../native/session.js')).startNativeSession,
    // Loaded when a database first fails to answer: the RDS client and the evaluator cost a tunnel nothing.
    diagnosePath: async (aws, instanceId, database, signal) =>
      (await import('./network-check.js')).diagnosePath(aws, instanceId, database, { signal }),
  };
}
