// `dbtunnel doctor <env> [db…]`: one line per check, the fix under each problem.
import { createAwsContext, refuseMfa, resolveRegion } from '../aws/context.js';
import { displayPath } from '../config/load.js';
import { EXIT } from '../errors.js';
import { findPlugin, pluginVersion } from '../plugin/locate.js';
import { runDoctor, type CheckStatus } from '../tunnel/doctor.js';
import { loadPlan, type TargetArgs } from './plan.js';
import { confirmCost } from './confirm.js';
import { hopLine } from './path-text.js';
import type { Terminal } from './terminal.js';

export interface DoctorArgs extends TargetArgs {
  reachability: boolean;
  yes: boolean;
}

export async function doctorCommand(args: DoctorArgs, term: Terminal, signal: AbortSignal): Promise<number> {
  // doctor checks every database unless some are named.
  const { plan, loaded } = await loadPlan(
    args.config,
    {
      env: args.env,
      dbs: args.dbs,
      all: args.dbs.length === 0,
      profile: args.profile,
      region: args.region,
      instance: args.instance,
    },
    term,
  );
  if (args.reachability && !args.yes) {
    await confirmCost(
      `Reachability Analyzer: AWS charges for each analysis (US$0.10 when this was written); this runs ` +
        `${plan.tunnels.length} (one per database).`,
      'Run them?',
      '--reachability with --yes',
      term,
    );
  }
  const mark: Record<CheckStatus, string> = {
    pass: term.paint('green', '✔'),
    warn: term.paint('yellow', '⚠'),
    fail: term.paint('red', '✖'),
    skip: term.paint('dim', '–'),
  };
  let exit: number = EXIT.ok;
  for await (const r of runDoctor(plan, displayPath(loaded.file), {
    findPlugin: () => findPlugin(process.env),
    pluginVersion,
    resolveRegion: () => resolveRegion({ profile: plan.profile, region: plan.region }),
    regionFlag: args.region !== undefined,
    connectAws: () =>
      createAwsContext({
        profile: plan.profile,
        region: plan.region,
        mfaCode: refuseMfa('doctor'),
        debug: (m) => term.debug(m),
        warn: (m) => term.warn(m),
      }),
    diagnosePath: async (aws, instanceId, database) =>
      (await import('../tunnel/network-check.js')).diagnosePath(aws, instanceId, database),
    reachability: args.reachability
      ? async (aws, report) =>
          (await import('../aws/reachability.js')).analyzeReachability(
            aws,
            { networkInterfaceId: report.bastion.networkInterfaceId! },
            {
              networkInterfaceId: report.database.networkInterfaceId,
              ip: report.database.ip,
              port: report.database.port,
            },
            signal,
            (m) => term.warn(m),
          )
      : undefined,
  })) {
    term.result(`${mark[r.status]} ${r.check.padEnd(16)} ${r.status === 'skip' ? `skipped: ${r.detail}` : r.detail}`);
    for (const h of r.path?.hops ?? []) term.result(`  ${''.padEnd(16)} ${hopLine(h, (st, t) => term.paint(st, t))}`);
    for (const l of r.path?.limits ?? []) term.result(`  ${''.padEnd(16)} ${term.paint('dim', `Not checked: ${l}`)}`);
    if (r.fix && r.status !== 'pass') {
      const [first, ...rest] = r.fix.split('\n');
      term.result(`  ${''.padEnd(16)} ${term.paint('cyan', '→')} ${first}`);
      for (const l of rest) term.result(`  ${''.padEnd(16)}   ${l}`);
    }
    if (r.status === 'fail' && exit === EXIT.ok) exit = r.kind ? EXIT[r.kind] : EXIT.internal;
  }
  return exit;
}
