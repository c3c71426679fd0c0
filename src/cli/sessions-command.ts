// `dbtunnel sessions [env] [--terminate]`: your own active Session Manager sessions (a plugin that
// was killed can leave one open until the idle timeout), and ending them.
import { createAwsContext, refuseMfa } from '../aws/context.js';
import { whoAmI } from '../aws/identity.js';
import { type ActiveSession, activeSessionsOf } from '../aws/sessions.js';
import { terminateSession } from '../aws/session.js';
import { EXIT } from '../errors.js';
import { loadPlan } from './plan.js';
import { formatAge, formatTable } from './table.js';
import type { Terminal } from './terminal.js';

export interface SessionsArgs {
  env: string | undefined;
  config: string | undefined;
  profile: string | undefined;
  region: string | undefined;
  terminate: boolean;
  json: boolean;
}

export async function sessionsCommand(args: SessionsArgs, term: Terminal): Promise<number> {
  // With an environment, its profile and region; without, the AWS SDK's defaults and the flags.
  const plan = args.env
    ? (
        await loadPlan(
          args.config,
          { env: args.env, dbs: [], all: true, profile: args.profile, region: args.region },
          term,
        )
      ).plan
    : undefined;
  const aws = await createAwsContext({
    profile: plan?.profile ?? args.profile,
    region: plan?.region ?? args.region,
    mfaCode: refuseMfa('sessions'),
    withoutEnvironment: plan ? undefined : 'sessions',
    debug: (m) => term.debug(m),
    warn: (m) => term.warn(m),
  });
  const owner = (await whoAmI(aws)).arn;
  const sessions = await activeSessionsOf(aws, owner);
  // Sessions that tunnels up in the background here hold: shown as theirs, and not ended by
  // --terminate (the tunnel would only reconnect; `dbtunnel down` closes it properly).
  const { backgroundTunnels } = await import('./background.js');
  const holders = new Map((await backgroundTunnels(term)).map((t) => [t.sessionId, t]));
  const heldBy = (s: ActiveSession) => holders.get(s.sessionId);
  if (args.json && !args.terminate) {
    const list = sessions.map((s) => {
      const t = heldBy(s);
      return {
        sessionId: s.sessionId,
        target: s.target,
        startDate: s.startDate,
        documentName: s.documentName ?? null,
        heldBy: t ? { env: t.env, db: t.db, pid: t.pid } : null,
      };
    });
    term.json(list);
    return EXIT.ok;
  }
  if (sessions.length === 0) {
    term.info(`No active sessions of ${owner} in ${aws.region}.`);
    return EXIT.ok;
  }
  const holder = (s: ActiveSession) => {
    const t = heldBy(s);
    return t ? `${t.env} ${t.db} (up -d, pid ${t.pid})` : '';
  };
  if (!args.terminate) {
    // HELD BY only when a tunnel up in the background holds one of them.
    const held = sessions.some(heldBy);
    const rows = [
      ['SESSION', 'TARGET', 'AGE', 'DOCUMENT', ...(held ? ['HELD BY'] : [])],
      ...sessions.map((s) => [
        s.sessionId,
        s.target ?? '?',
        formatAge(s.startDate),
        s.documentName ?? '',
        ...(held ? [holder(s)] : []),
      ]),
    ];
    for (const line of formatTable(rows)) term.result(line.trimEnd());
    const except =
      holders.size > 0 ? ' (not those held by tunnels up in the background: dbtunnel down closes those)' : '';
    term.info(`dbtunnel sessions${args.env ? ` ${args.env}` : ''} --terminate ends them${except}.`);
    return EXIT.ok;
  }
  let exit: number = EXIT.ok;
  for (const s of sessions) {
    const t = heldBy(s);
    if (t) {
      term.info(
        `left ${s.sessionId}: the tunnel ${t.env} ${t.db} up in the ` +
          `background holds it (dbtunnel down ${t.env} ${t.db} closes it)`,
      );
      continue;
    }
    try {
      await terminateSession(aws, s.sessionId);
      term.success(`terminated ${s.sessionId} (${s.target})`, 'stdout');
    } catch (e) {
      exit = term.error(e);
    }
  }
  return exit;
}
