// What `ps` shows of a background tunnel, followed through the events of its run: up on its current
// session, down between the end of a session and the next attempt, reconnecting. Pure.
import type { TunnelEvent } from '../tunnel/events.js';
import type { HeldTunnel } from './protocol.js';

export interface HeldBy {
  config: string;
  pid: number;
  now: () => Date;
}

/** The tunnel after an event of its run; undefined until it has first been ready. */
export function nextHeld(t: HeldTunnel | undefined, e: TunnelEvent, by: HeldBy): HeldTunnel | undefined {
  switch (e.type) {
    case 'ready':
      return {
        env: e.tunnel.env,
        db: e.tunnel.db,
        host: e.tunnel.address ?? '127.0.0.1',
        port: e.tunnel.localPort,
        sessionId: e.tunnel.sessionId,
        config: by.config,
        // Its age is the tunnel's, not its current session's.
        startedAt: t?.startedAt ?? by.now().toISOString(),
        state: 'up',
        pid: by.pid,
      };
    case 'ended':
      return t && { ...t, state: 'down', attempt: undefined };
    case 'reconnecting':
      return t && { ...t, state: 'reconnecting', attempt: e.attempt };
    default:
      return t;
  }
}
