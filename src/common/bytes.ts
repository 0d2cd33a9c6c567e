// Sizes for people: `1.5 GiB`, `20.0 MiB`, `3.2 KiB`, `12 B`.

/** A byte count in the largest binary unit that keeps it at 1 or more, to one decimal. */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
