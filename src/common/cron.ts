// Schedules as users write them (a 5-field crontab, or @daily and friends) checked once and
// turned into what each target reads: KFP's 6-field cron (seconds first: a 5-field crontab
// would be misread, its minutes taken as seconds) and Argo's 5-field `schedules` entries.

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[] },
  { name: 'hour', min: 0, max: 23, names: [] as string[] },
  { name: 'day of month', min: 1, max: 31, names: [] as string[] },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A checked 5-field crontab (macros expanded). Throws `ScheduleError` naming the field at fault. */
export function parseCrontab(input: string): string {
  const text = input.trim();
  const macro = MACROS[text.toLowerCase()];
  if (macro) return macro;
  const parts = text.split(/\s+/).filter((p) => p !== '');
  if (parts.length === 6) {
    throw new ScheduleError(`--schedule "${text}" has 6 fields; write a standard 5-field crontab (minute hour day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 every day. Flowbook adds the seconds field KFP needs.`);
  }
  if (parts.length !== 5) {
    throw new ScheduleError(`--schedule "${text}" is not a crontab: expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *", or @daily/@hourly/@weekly/@monthly.`);
  }
  parts.forEach((part, i) => checkField(part, FIELDS[i] as (typeof FIELDS)[number], text));
  return parts.join(' ');
}

function checkField(part: string, field: (typeof FIELDS)[number], text: string): void {
  const bad = (why: string) => new ScheduleError(`--schedule "${text}": the ${field.name} field "${part}" ${why} (allowed ${field.min}-${field.max}${field.names.length ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ''}).`);
  const value = (v: string): number => {
    const named = field.names.indexOf(v.toUpperCase());
    if (named >= 0) return named + field.min;
    if (!/^\d+$/.test(v)) throw bad(`has "${v}", which is not a number`);
    const n = Number(v);
    if (n < field.min || n > field.max) throw bad(`has ${n}, out of range`);
    return n;
  };
  for (const item of part.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') throw bad('is malformed');
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) throw bad(`has step "${step}", which must be a positive number`);
    if (range === '*' || range === '?') continue;
    const [from, to, more] = range.split('-');
    if (more !== undefined || from === undefined) throw bad('is malformed');
    const a = value(from);
    if (to !== undefined && value(to) < a) throw bad(`has the range ${range}, which runs backwards`);
  }
}

/** KFP's form: seconds first. */
export function kfpCron(crontab: string): string {
  return `0 ${parseCrontab(crontab)}`;
}

/** Argo CronWorkflow's form: the checked 5-field crontab. */
export function argoCron(crontab: string): string {
  return parseCrontab(crontab);
}

/** Checks `--max-concurrency` against KFP's range. */
export function checkMaxConcurrency(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new ScheduleError(`--max-concurrency ${n}: KFP allows 1 to 10 runs of a schedule at once.`);
  return n;
}
