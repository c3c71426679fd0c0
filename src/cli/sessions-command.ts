// `dbtunnel sessions [env] [--terminate]`: your own active Session Manager sessions (a plugin that
// was killed can leave one open until the idle timeout), and ending them.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DescribeSessionsCommand, type Session } from '@aws-sdk/client-ssm';
import { createAwsContext, refuseMfa } from '../aws/context.js';
import { describeAwsError } from '../aws/errors.js';
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
  const where = { profile: aws.profile, region: aws.region };
  let owner: string;
  let sessions: Session[] = [];
  try {
    owner = (await new STSClient(aws.clientConfig('sts')).send(new GetCallerIdentityCommand({}))).Arn!;
    let NextToken: string | undefined;
    do {
      const page = await aws.ssm.send(
        new DescribeSessionsCommand({ State: 'Active', Filters: [{ key: 'Owner', value: owner }], NextToken }),
      );
      sessions = [...sessions, ...(page.Sessions ?? [])];
      NextToken = page.NextToken;
    } while (NextToken);
  } catch (e) {
    throw describeAwsError(e, { action: 'list your sessions (ssm:DescribeSessions)', ...where });
  }
  // Sessions that tunnels up in the background here hold: shown as theirs, and not ended by
  // --terminate (the tunnel would only reconnect; `dbtunnel down` closes it properly).
  const { backgroundTunnelsNow } = await import('./background.js');
  const holders = new Map((await backgroundTunnelsNow()).map((t) => [t.sessionId, t]));
  const heldBy = (s: Session) => holders.get(s.SessionId ?? '');
  if (args.json && !args.terminate) {
    const list = sessions.map((s) => {
      const t = heldBy(s);
      return {
        sessionId: s.SessionId,
        target: s.Target,
        startDate: s.StartDate,
        documentName: s.DocumentName ?? null,
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
  const holder = (s: Session) => {
    const t = heldBy(s);
    return t ? `${t.env} ${t.db} (up -d, pid ${t.pid})` : '';
  };
  if (!args.terminate) {
    // HELD BY only when a tunnel up in the background holds one of them.
    const held = sessions.some(heldBy);
    const rows = [
      ['SESSION', 'TARGET', 'AGE', 'DOCUMENT', ...(held ? ['HELD BY'] : [])],
      ...sessions.map((s) => [
        s.SessionId ?? '?',
        s.Target ?? '?',
        formatAge(s.StartDate),
        s.DocumentName ?? '',
        ...(held ? [holder(s)] : []),
      ]),
    ];
    for (const line of formatTable(rows)) term.result(line.trimEnd());
    term.info(
      `dbtunnel sessions${args.env ? ` ${args.env}` : ''} --terminate ends them${holders.size > 0 ? ' (not those held by tunnels up in the background: dbtunnel down closes those)' : ''}.`,
    );
    return EXIT.ok;
  }
  let exit: number = EXIT.ok;
  for (const s of sessions) {
    const t = heldBy(s);
    if (t) {
      term.info(
        `left ${s.SessionId}: the tunnel ${t.env} ${t.db} up in the background holds it (dbtunnel down ${t.env} ${t.db} closes it)`,
      );
      continue;
    }
    try {
      await terminateSession(aws, s.SessionId!);
      term.success(`terminated ${s.SessionId} (${s.Target})`, 'stdout');
    } catch (e) {
      exit = term.error(e);
    }
  }
  return exit;
}
