// The ready line's ready-made client command, guessed from the database's well-known port. Pure.

const BY_PORT: Record<number, (host: string, port: number) => string> = {
  3306: (h, p) => `mysql -h ${h} -P ${p}`,
  5432: (h, p) => `psql -h ${h} -p ${p}`,
  6379: (h, p) => `redis-cli -h ${h} -p ${p}`,
  27017: (h, p) => `mongosh --host ${h} --port ${p}`,
  1433: (h, p) => `sqlcmd -S ${h},${p}`,
  1521: (h, p) => `sqlplus user@//${h}:${p}/SERVICE`,
};

/** `host` is the loopback address the plugin bound: 127.0.0.1 or ::1. */
export function clientCommand(remotePort: number, host: string, localPort: number): string | undefined {
  const make = BY_PORT[remotePort];
  return make?.(host.includes(':') ? `${host}` : host, localPort);
}
