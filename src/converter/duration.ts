// Durations as users write them in tags and settings: `90`, `90s`, `30m`, `2h`, `1h30m`, `1d`.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds for a duration string, or undefined when it is not one (or is zero). */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s) > 0 ? Number(s) : undefined;
  const parts = s.match(/^(?:\d+[dhms])+$/) ? s.match(/\d+[dhms]/g) : null;
  if (!parts) return undefined;
  let total = 0;
  for (const part of parts) total += Number(part.slice(0, -1)) * (UNIT_SECONDS[part.slice(-1)] ?? 0);
  return total > 0 ? total : undefined;
}
