// One run, in-process, through its RunDeps seam: AWS and the plugin are stand-ins that record what
// they were asked and do what each test says. What the end-to-end tests check with processes and
// signals, here for every path: reconnecting, a default port taken meanwhile, and closing what was
// opened — every session terminated, every plugin stopped — however the run ends.
import { describe, expect, it } from 'vitest';
import type { Bastion } from '../../src/aws/bastion.js';
import type { AwsContext } from '../../src/aws/context.js';
import { TunnelError } from '../../src/errors.js';
import type { EnvironmentPlan, StartSessionRequest } from '../../src/model.js';
import type { PluginEvent } from '../../src/plugin/output.js';
import type { RunningSession, SessionExit } from '../../src/session-client.js';
import type { TunnelEvent } from '../../src/tunnel/events.js';
import type { PathReport } from '../../src/tunnel/network-check.js';
import { type RunDeps, type RunOptions, runTunnels, type StopReason } from '../../src/tunnel/run.js';

const aws = {
  region: 'ap-northeast-1',
  profile: 'stg',
  partition: 'aws',
  pluginNeedsCredentials: false,
  ssmEndpoint: 'http://127.0.0.1:1',
  forgetCachedCredentials: async () => false,
  credentials: async () => ({ accessKeyId: 'A', secretAccessKey: 's' }),
} as unknown as AwsContext;

const bastion = (id: string): Bastion => ({
  instanceId: id,
  tags: { Name: 'b' },
  why: 'the only running instance tagged Name=b',
});

function plan(dbs: { db: string; localPort?: number }[]): EnvironmentPlan {
  return {
    env: 'stg',
    profile: 'stg',
    region: 'ap-northeast-1',
    bastion: { kind: 'name', name: 'b' },
    tunnels: dbs.map((d) => ({
      env: 'stg',
      db: d.db,
      host: `${d.db}.internal`,
      port: 3306,
      localPort: d.localPort ?? 0,
    })),
    confirm: false,
    reconnect: undefined,
  };
}

/** A stand-in plugin: it says its port is open (or what the test scripts), and stops when asked. */
interface FakePlugin extends RunningSession {
  request: StartSessionRequest;
  stoppedByRun: boolean;
  /** AWS ends the session: the plugin's last words, then it exits 0. */
  endedByAws(text: string): void;
}

function world(
  script: {
    onSpawn?: (p: FakePlugin, emit: (e: PluginEvent) => void) => void;
    startFails?: (n: number) => Error | undefined;
  } = {},
) {
  const started: StartSessionRequest[] = [];
  const sessions: string[] = [];
  const terminated: string[] = [];
  const plugins: FakePlugin[] = [];
  const bastionLookups: string[] = [];
  let nextBastion = bastion('i-0000000000000000a');
  const deps: RunDeps = {
    preparePlugin: async () => ({ file: '/fake/session-manager-plugin', verdict: { form: 'env', warning: undefined } }),
    connectAws: async () => aws,
    findBastion: async () => {
      bastionLookups.push(nextBastion.instanceId);
      return nextBastion;
    },
    startSession: async (_aws, request) => {
      started.push(request);
      const failure = script.startFails?.(started.length);
      if (failure) throw failure;
      sessions.push(`dev-${started.length}`);
      return { SessionId: `dev-${started.length}`, TokenValue: 'token-123456789', StreamUrl: 'wss://x' };
    },
    terminateSession: async (_aws, sessionId) => {
      terminated.push(sessionId);
    },
    pluginClient: async () => (_file, invocation, _env, onEvent) => {
      let exit!: (e: SessionExit) => void;
      const exited = new Promise<SessionExit>((r) => {
        exit = r;
      });
      const request = JSON.parse(invocation.argv[4]!) as StartSessionRequest;
      const p: FakePlugin = {
        pid: 1000 + plugins.length,
        exited,
        request,
        stoppedByRun: false,
        lastOutput: () => '',
        stop: async () => {
          p.stoppedByRun = true;
          exit({ code: 0, signal: undefined });
          return { code: 0, signal: undefined, forced: false };
        },
        endedByAws: (text) => {
          onEvent({ type: 'ended', cause: 'aws', text });
          exit({ code: 0, signal: undefined });
        },
      };
      plugins.push(p);
      const port = Number(request.Parameters.localPortNumber![0]);
      queueMicrotask(() =>
        script.onSpawn ? script.onSpawn(p, onEvent) : onEvent({ type: 'ready', port: port || 40000 + plugins.length }),
      );
      return p;
    },
  };
  return {
    deps,
    started,
    sessions,
    terminated,
    plugins,
    bastionLookups,
    setBastion: (b: Bastion) => {
      nextBastion = b;
    },
  };
}

function run(w: ReturnType<typeof world>, p: EnvironmentPlan, extra: Partial<RunOptions> = {}) {
  const events: TunnelEvent[] = [];
  const stop = new AbortController();
  const outcome = runTunnels(
    { plan: p, startTimeoutMs: 5000, env: {}, signal: stop.signal, onEvent: (e) => events.push(e), ...extra },
    w.deps,
  );
  const until = async (check: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`not in time; events: ${events.map((e) => e.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { events, outcome, stop: (reason: StopReason) => stop.abort(reason), until };
}

/** Nothing left: every session AWS started was terminated, every plugin stopped or gone. */
function nothingLeft(w: ReturnType<typeof world>) {
  expect([...w.terminated].sort()).toEqual([...w.sessions].sort());
}

describe('a run, through its seam', () => {
  it('a database that does not answer: one look at its path per run, beside the tunnel; none reported once closed', async () => {
    const emitters: ((e: PluginEvent) => void)[] = [];
    const w = world({
      onSpawn: (_p, emit) => {
        emitters.push(emit);
        emit({ type: 'ready', port: 40000 + emitters.length });
      },
    });
    const looks: { host: string; instanceId: string; signal: AbortSignal; answer: (r: PathReport) => void }[] = [];
    w.deps.diagnosePath = (_aws, instanceId, database, signal) =>
      new Promise((answer) => looks.push({ host: database.host, instanceId, signal, answer }));
    const r = run(w, plan([{ db: 'a' }, { db: 'b' }]));
    await r.until(() => r.events.some((e) => e.type === 'all-ready'));
    const [a, b] = emitters;
    a!({ type: 'destination-failed' });
    a!({ type: 'destination-failed' });
    const failed = r.events.flatMap((e) => (e.type === 'destination-failed' ? [[e.tunnel.db, e.diagnosing]] : []));
    expect(failed).toEqual([
      ['a', true],
      ['a', false],
    ]);
    expect(looks.map((l) => [l.host, l.instanceId])).toEqual([['a.internal', 'i-0000000000000000a']]);
    const report = { hops: [], blocking: undefined, limits: [], rounds: [] } as unknown as PathReport;
    looks[0]!.answer(report);
    await r.until(() => r.events.some((e) => e.type === 'path'));
    expect(r.events.find((e) => e.type === 'path')).toMatchObject({ tunnel: { db: 'a' }, report });

    b!({ type: 'destination-failed' });
    expect(looks).toHaveLength(2);
    r.stop('SIGINT');
    await r.outcome;
    expect(looks[1]!.signal.aborted).toBe(true);
    looks[1]!.answer(report);
    await new Promise((done) => setTimeout(done, 20));
    expect(r.events.filter((e) => e.type === 'path')).toHaveLength(1);
    nothingLeft(w);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP', 'crash'] as const)(
    'stopped (%s) once ready: every plugin stopped, every session terminated',
    async (reason) => {
      const w = world();
      const r = run(w, plan([{ db: 'a' }, { db: 'b' }]));
      await r.until(() => r.events.some((e) => e.type === 'all-ready'));
      r.stop(reason);
      expect(await r.outcome).toEqual({ kind: 'stopped', reason });
      expect(w.plugins.every((p) => p.stoppedByRun)).toBe(true);
      nothingLeft(w);
    },
  );

  it('a -- command: its exit code is the outcome, and everything is closed after it', async () => {
    const w = world();
    const r = run(w, plan([{ db: 'a' }]), { whileOpen: async (tunnels) => (tunnels.length === 1 ? 7 : 0) });
    expect(await r.outcome).toEqual({ kind: 'done', result: 7 });
    nothingLeft(w);
  });

  it('AWS ends a session: the same local port again, a new session; closed at the end', async () => {
    const w = world();
    const r = run(w, plan([{ db: 'a', localPort: 40123 }]), { reconnect: { mode: 'always', maxAttempts: 3 } });
    await r.until(() => w.plugins.length === 1 && r.events.some((e) => e.type === 'all-ready'));
    w.plugins[0]!.endedByAws('Your session timed out due to inactivity and has been terminated.');
    await r.until(() => r.events.filter((e) => e.type === 'ready').length === 2, 5000);
    expect(w.started.map((s) => s.Parameters.localPortNumber)).toEqual([['40123'], ['40123']]);
    expect(r.events.find((e) => e.type === 'ended')).toMatchObject({
      cause: 'aws',
      text: 'Your session timed out due to inactivity and has been terminated.',
    });
    expect(w.terminated).toEqual(['dev-1']); // the first, at once
    r.stop('SIGINT');
    await r.outcome;
    nothingLeft(w);
  });

  it('on-failure does not reconnect after AWS ends the session: the run ends', async () => {
    const w = world();
    const r = run(w, plan([{ db: 'a' }]), { reconnect: { mode: 'on-failure', maxAttempts: 3 } });
    await r.until(() => r.events.some((e) => e.type === 'all-ready'));
    w.plugins[0]!.endedByAws('Exiting session with sessionId: dev-1.');
    expect((await r.outcome).kind).toBe('ended');
    nothingLeft(w);
  });

  it('a reconnect that finds the bastion gone looks it up again for its own tunnel only', async () => {
    const w = world({
      startFails: (n) =>
        n === 3 ? new TunnelError('targetNotConnected', 'The bastion is not connected to Session Manager.') : undefined,
    });
    const r = run(w, plan([{ db: 'a' }, { db: 'b' }]), { reconnect: { mode: 'always', maxAttempts: 5 } });
    await r.until(() => r.events.some((e) => e.type === 'all-ready'));
    expect(w.bastionLookups).toEqual(['i-0000000000000000a']);
    w.setBastion(bastion('i-0000000000000000b'));
    const a = w.plugins.find((p) => p.request.Parameters.host![0] === 'a.internal')!;
    a.endedByAws('Exiting session with sessionId: dev-1.'); // its reconnect (session 3) fails: a new lookup
    await r.until(() => w.started.length === 4, 8000);
    expect(w.started[3]!.Target).toBe('i-0000000000000000b');
    // b's next session still goes to the bastion it was opened on.
    const b = w.plugins.find((p) => p.request.Parameters.host![0] === 'b.internal')!;
    b.endedByAws('Exiting session with sessionId: dev-2.');
    await r.until(() => w.started.length === 5, 8000);
    expect(w.started[4]).toMatchObject({ Target: 'i-0000000000000000a', Parameters: { host: ['b.internal'] } });
    r.stop('SIGINT');
    await r.outcome;
    nothingLeft(w);
  }, 20_000);

  it('a default local port taken meanwhile: that session is closed, and the tunnel opens on a port the system picks', async () => {
    // The database's port is free when checked, and taken by the time the plugin binds it.
    const racedFor = 40555;
    const w = world({
      onSpawn: (p, emit) => {
        const port = Number(p.request.Parameters.localPortNumber![0]);
        if (port === racedFor)
          emit({ type: 'failed', message: `listen tcp 127.0.0.1:${port}: bind: address already in use` });
        else emit({ type: 'ready', port });
      },
    });
    const p = plan([{ db: 'a' }]);
    p.tunnels[0]!.localPort = undefined; // the database's port if free, else any
    p.tunnels[0]!.port = racedFor;
    const r = run(w, p);
    await r.until(() => r.events.some((e) => e.type === 'all-ready'));
    expect(w.started.map((s) => s.Parameters.localPortNumber![0])).toEqual([
      String(racedFor),
      expect.not.stringMatching(`^${racedFor}$`),
    ]);
    expect(w.terminated).toEqual(['dev-1']);
    r.stop('SIGINT');
    await r.outcome;
    nothingLeft(w);
  });

  it('a configured local port taken: an error naming it, the session closed', async () => {
    const w = world({
      onSpawn: (_p, emit) =>
        emit({ type: 'failed', message: 'listen tcp 127.0.0.1:40999: bind: address already in use' }),
    });
    const r = run(w, plan([{ db: 'a', localPort: 40999 }]));
    await expect(r.outcome).rejects.toMatchObject({ kind: 'portInUse' });
    nothingLeft(w);
  });

  it('a plugin that dies before it is ready: the error, the session closed; the other tunnel stays open', async () => {
    const w = world({
      onSpawn: (p, emit) => {
        if (p.request.Parameters.host![0] === 'a.internal') void p.stop();
        else emit({ type: 'ready', port: 40777 });
      },
    });
    const r = run(w, plan([{ db: 'a' }, { db: 'b' }]));
    await r.until(() => r.events.some((e) => e.type === 'all-ready'));
    expect(r.events.find((e) => e.type === 'failed')).toMatchObject({
      spec: { db: 'a' },
      error: { kind: 'startFailed' },
    });
    r.stop('SIGTERM');
    await r.outcome;
    nothingLeft(w);
  });

  it('stopped while a plugin is starting: what was started is closed', async () => {
    const w = world({ onSpawn: () => {} }); // never says its port is open
    const r = run(w, plan([{ db: 'a' }]));
    await r.until(() => w.plugins.length === 1);
    r.stop('SIGINT');
    expect(await r.outcome).toEqual({ kind: 'stopped', reason: 'SIGINT' });
    expect(w.plugins[0]!.stoppedByRun).toBe(true);
    nothingLeft(w);
  });
});
