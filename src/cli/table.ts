// Small pieces of terminal layout shared by `ps` and `sessions`. Pure.

/** "42s", "7m", "3h05m". */
export function formatAge(since: Date | undefined, now = Date.now()): string {
  if (!since || Number.isNaN(since.getTime())) return '?';
  const s = Math.max(0, Math.round((now - since.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Rows as aligned lines, the first row being the header. */
export function formatTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
