// Local ports: free or not, and which loopback address the plugin bound — all found by binding,
// never by connecting (a connection through the tunnel would reach the database).
import net from 'node:net';
import { TunnelError } from '../errors.js';

export type BindResult = 'free' | 'in-use' | 'no-such-address';

export const LOOPBACKS = ['127.0.0.1', '::1'] as const;
export type Loopback = (typeof LOOPBACKS)[number];

export function tryBind(host: string, port: number): Promise<BindResult> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') resolve('in-use');
      // A host without IPv6 cannot have anything on ::1.
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT') resolve('no-such-address');
      else reject(e);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/** The loopback addresses on which `port` is taken; empty when it is free on both. */
export async function portHolders(port: number): Promise<Loopback[]> {
  const results = await Promise.all(LOOPBACKS.map((h) => tryBind(h, port)));
  return LOOPBACKS.filter((_, i) => results[i] === 'in-use');
}

/** A port the system says is free on 127.0.0.1, and also free on ::1. */
export async function systemPickedPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const p = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(p));
      });
    });
    if ((await portHolders(port)).length === 0) return port;
  }
  throw new TunnelError('portInUse', 'Could not find a free local port.', {
    hint: 'Set localPort for the database in the config.',
  });
}

export interface LocalPortChoice {
  port: number;
  why: 'config' | 'database-port' | 'system';
}

/**
 * The local port for a tunnel: the configured one (it must be free), else the database's own port
 * if free, else one the system picks. `reserved` holds ports already given to other tunnels of this
 * run, so two databases never race for one port.
 */
export async function chooseLocalPort(
  want: { localPort: number | undefined; port: number; db: string },
  reserved: Set<number>,
): Promise<LocalPortChoice> {
  if (want.localPort !== undefined && want.localPort !== 0) {
    const holders = await portHolders(want.localPort);
    if (holders.length > 0) throw portInUseError(want.localPort, holders, want.db);
    return { port: want.localPort, why: 'config' };
  }
  if (want.localPort === undefined && !reserved.has(want.port) && (await portHolders(want.port)).length === 0) {
    return { port: want.port, why: 'database-port' };
  }
  let port = await systemPickedPort();
  while (reserved.has(port)) port = await systemPickedPort();
  return { port, why: 'system' };
}

export function portInUseError(port: number, holders: readonly string[], db: string): TunnelError {
  const where = holders.map((h) => (h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`)).join(' and ');
  return new TunnelError(
    'portInUse',
    `Local port ${port} for ${db} is already in use (${where}). Nothing was started.`,
    {
      hint:
        `See what holds it: dbtunnel ps (tunnels up in the background), or lsof -nP -iTCP:${port} -sTCP:LISTEN.\n` +
        `Or give ${db} another localPort in the config (dbtunnel.local.yaml for just you).`,
    },
  );
}

/** Which loopback address the plugin is listening on, found by binding. */
export async function boundAddress(port: number): Promise<Loopback | undefined> {
  for (const host of LOOPBACKS) if ((await tryBind(host, port)) === 'in-use') return host;
  return undefined;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
