// The ready line's client command and URL: from the database's `engine`, else guessed from its
// well-known port. Pure.
import type { Engine } from '../model.js';

const BY_ENGINE: Record<Engine, { command: (h: string, p: number) => string; url: (h: string, p: number) => string }> =
  {
    mysql: { command: (h, p) => `mysql -h ${h} -P ${p}`, url: (h, p) => `mysql://${h}:${p}` },
    postgres: { command: (h, p) => `psql -h ${h} -p ${p}`, url: (h, p) => `postgresql://${h}:${p}` },
    redis: { command: (h, p) => `redis-cli -h ${h} -p ${p}`, url: (h, p) => `redis://${h}:${p}` },
    mongodb: { command: (h, p) => `mongosh --host ${h} --port ${p}`, url: (h, p) => `mongodb://${h}:${p}` },
    mssql: { command: (h, p) => `sqlcmd -S ${h},${p}`, url: (h, p) => `sqlserver://${h}:${p}` },
    oracle: {
      command: (h, p) => `sqlplus user@//${h}:${p}/SERVICE`,
      url: (h, p) => `jdbc:oracle:thin:@//${h}:${p}/SERVICE`,
    },
  };

const BY_PORT: Record<number, Engine> = {
  3306: 'mysql',
  5432: 'postgres',
  6379: 'redis',
  27017: 'mongodb',
  1433: 'mssql',
  1521: 'oracle',
};

export interface ClientHint {
  command: string;
  url: string;
}

/** The engine a well-known port suggests, if any. Pure. */
export function engineForPort(port: number): Engine | undefined {
  return BY_PORT[port];
}

/** `host` is the loopback address the plugin bound: 127.0.0.1 or ::1 (bracketed in URLs). */
export function clientHint(
  engine: Engine | undefined,
  remotePort: number,
  host: string,
  localPort: number,
): ClientHint | undefined {
  const e = engine ?? BY_PORT[remotePort];
  if (!e) return undefined;
  const { command, url } = BY_ENGINE[e];
  return { command: command(host, localPort), url: url(host.includes(':') ? `[${host}]` : host, localPort) };
}
