// Aligned text columns for the CLI's tables (check, status), like kubectl's printer.

/** Pads every cell but the last of each row to its column's width, joined by `gap`. */
export function columns(rows: readonly string[][], gap = '   '): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell))
      .join(gap)
      .trimEnd(),
  );
}
