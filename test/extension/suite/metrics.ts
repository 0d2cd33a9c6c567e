// Measured figures the integration suite prints (never asserts on: wall-clock time varies
// with the machine). The launcher prints them after the counts.

const values = new Map<string, string>();

export function recordMetric(name: string, value: string): void {
  values.set(name, value);
}

export function metrics(): Record<string, string> {
  return Object.fromEntries(values);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
