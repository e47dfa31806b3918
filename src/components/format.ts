/** Formatting helpers shared by the panel's components. */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** Human-readable size in decimal units (1 kB = 1000 B), or an em dash when unknown. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '\u2014';
  }
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** A count, or an em dash when unknown. */
export function formatCount(count: number | null | undefined): string {
  if (count === null || count === undefined || !Number.isFinite(count)) {
    return '\u2014';
  }
  return count.toLocaleString('en-US');
}

/** A fraction in [0, 1] as a whole percentage, never rounding a partial copy up to 100%. */
export function formatFraction(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, fraction || 0));
  const pct = clamped < 1 ? Math.min(99, Math.round(clamped * 100)) : 100;
  return `${pct}%`;
}
