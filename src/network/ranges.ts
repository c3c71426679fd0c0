// IPv4 addresses and port numbers as closed integer ranges, and the cells a set of rules cuts a range
// into. A database whose address is not known exactly (only its subnet) is a range of addresses; the
// reply's ephemeral ports are a range of ports. Each rule either covers a whole cell or none of it, so
// deciding every cell decides the whole range exactly. Pure.

/** A closed range of integers: [low, high]. */
export type Range = readonly [number, number];

export const ALL_PORTS: Range = [0, 65535];

/** Dotted-quad IPv4 to an integer, or undefined if it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** An IPv4 CIDR as a range of addresses (host bits ignored, as AWS does), or undefined. */
export function cidrRange(cidr: string): Range | undefined {
  const [ip, bits, extra] = cidr.split('/');
  if (extra !== undefined || ip === undefined) return undefined;
  const base = parseIpv4(ip);
  const len = bits === undefined ? 32 : /^\d{1,2}$/.test(bits) ? Number(bits) : Number.NaN;
  if (base === undefined || !(len >= 0 && len <= 32)) return undefined;
  const size = 2 ** (32 - len);
  const low = base - (base % size);
  return [low, low + size - 1];
}

export function prefixLength(cidr: string): number {
  const bits = cidr.split('/')[1];
  return bits === undefined ? 32 : Number(bits);
}

export const covers = (outer: Range, inner: Range) => outer[0] <= inner[0] && inner[1] <= outer[1];
export const overlaps = (a: Range, b: Range) => a[0] <= b[1] && b[0] <= a[1];

/** The addresses of a single IPv4 as a range. */
export const single = (n: number): Range => [n, n];

/**
 * Cut `whole` at every edge of `edges`, so that each edge range covers each resulting cell wholly or
 * not at all. Pure.
 */
export function cells(whole: Range, edges: readonly Range[]): Range[] {
  const cuts = new Set<number>([whole[0]]);
  for (const [lo, hi] of edges) {
    if (lo > whole[0] && lo <= whole[1]) cuts.add(lo);
    if (hi + 1 > whole[0] && hi + 1 <= whole[1]) cuts.add(hi + 1);
  }
  const starts = [...cuts].sort((a, b) => a - b);
  return starts.map((s, i): Range => [s, i + 1 < starts.length ? starts[i + 1]! - 1 : whole[1]]);
}

/** "3306", "1024-65535", "all ports". */
export function formatPorts(r: Range): string {
  if (r[0] === 0 && r[1] === 65535) return 'all ports';
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
}

/** An address range as the shortest text: one address, a CIDR, or first-last. */
export function formatAddresses(r: Range): string {
  if (r[0] === r[1]) return formatIpv4(r[0]);
  const size = r[1] - r[0] + 1;
  const bits = Math.log2(size);
  if (Number.isInteger(bits) && r[0] % size === 0) return `${formatIpv4(r[0])}/${32 - bits}`;
  return `${formatIpv4(r[0])}-${formatIpv4(r[1])}`;
}
