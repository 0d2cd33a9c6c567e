// Lowers IPython syntax (magics, shell escapes, help lookups, pip installs) to plain Python.
// Invariant: line N of the output is line N of the cell, one for one, so tracebacks of the
// generated step map back to the cell. Only logical line starts can hold IPython syntax: a
// small tokenizer-level scanner follows strings (incl. triple-quoted), brackets and backslash
// continuations, so text inside a string is never taken for a magic. This is not a parser:
// it only has to know where a Python logical line starts.

import { diag, type Diagnostic } from '../diagnostics';
import type { PipRequirement } from '../ir';

/** A `pip install` found in a cell, before the cell index is stamped on it. */
export type PipLine = Omit<PipRequirement, 'cell'>;

export interface LoweredCell {
  code: string;
  pip: PipLine[];
  /** Diagnostics without `cell` (the caller stamps it). */
  diagnostics: Diagnostic[];
}

// ---------------------------------------------------------------------------
// Python string literals for generated code

/** A single-quoted Python literal for `text`; `fString` doubles braces for an f-string's literal part. */
function quoteChars(text: string, fString: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const code = ch.charCodeAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (fString && (ch === '{' || ch === '}')) out += ch + ch;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) {
      // Keep surrogate pairs; escape lone halves so the file stays valid UTF-8.
      const next = text.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += ch + text[i + 1];
        i++;
      } else out += `\\u${code.toString(16)}`;
    } else out += ch;
  }
  return out;
}

/** A Python string literal holding `text` exactly. */
export function pyString(text: string): string {
  return `'${quoteChars(text, false)}'`;
}

/**
 * A shell command as a Python expression. IPython expands `{expr}` in shell escapes; a
 * name or attribute chain there becomes an f-string field (so the analysis sees the read),
 * anything else stays literal text for the shell (`{a,b}` brace expansion, `${HOME}`).
 */
function shellCommandExpr(cmd: string): string {
  const field = /\{\{|\}\}|(?<!\$)\{([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}/g;
  let hasField = false;
  let out = '';
  let last = 0;
  for (let m = field.exec(cmd); m; m = field.exec(cmd)) {
    out += quoteChars(cmd.slice(last, m.index), true);
    if (m[1] !== undefined) {
      hasField = true;
      out += `{${m[1]}}`;
    } else {
      out += m[0];
    }
    last = m.index + m[0].length;
  }
  if (!hasField) return pyString(cmd);
  return `f'${out}${quoteChars(cmd.slice(last), true)}'`;
}

const SUBPROCESS = "__import__('subprocess')";
const OS = "__import__('os')";

/** Environment variables commonly used in shell escapes: no note for `$HOME` and the like. */
const ENVIRONMENT_NAMES = new Set(['HOME', 'PATH', 'USER', 'PWD', 'SHELL', 'TMPDIR', 'LANG', 'HOSTNAME', 'PYTHONPATH', 'CUDA_VISIBLE_DEVICES']);

/** `$name` references IPython would fill from Python variables; in a step the shell reads the environment instead. */
function dollarNames(cmd: string): string[] {
  const names = new Set<string>();
  for (const m of cmd.matchAll(/(?<!\$)\$\{?([A-Za-z_]\w*)/g)) {
    if (!ENVIRONMENT_NAMES.has(m[1] as string)) names.add(m[1] as string);
  }
  return [...names];
}

function runShell(cmd: string): string {
  return `${SUBPROCESS}.run(${shellCommandExpr(cmd)}, shell=True, check=True)`;
}

function captureShell(cmd: string): string {
  return `${SUBPROCESS}.run(${shellCommandExpr(cmd)}, shell=True, check=True, capture_output=True, text=True).stdout.splitlines()`;
}

// ---------------------------------------------------------------------------
// Shell words, for pip command lines

interface ShellCommand {
  words: string[];
  /** The command as written, for messages. */
  text: string;
}

/**
 * Splits a shell command line into simple commands (at `&&`, `||`, `;`, `|`, `&`), with
 * quotes removed, comments and redirections dropped. Enough for `pip install` lines.
 */
function splitShell(line: string): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let commandStart = 0;
  let skipNextWord = false;
  const endWord = () => {
    if (inWord) {
      if (skipNextWord) skipNextWord = false;
      else words.push(word);
    }
    word = '';
    inWord = false;
  };
  const endCommand = (at: number) => {
    endWord();
    if (words.length > 0) commands.push({ words, text: line.slice(commandStart, at).trim() });
    words = [];
    commandStart = at;
  };
  let i = 0;
  while (i < line.length) {
    const ch = line[i] as string;
    if (ch === ' ' || ch === '\t') {
      endWord();
      i++;
    } else if (ch === '#' && !inWord) {
      break;
    } else if (ch === "'") {
      const close = line.indexOf("'", i + 1);
      const end = close < 0 ? line.length : close;
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i++;
      inWord = true;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) i++;
        word += line[i];
        i++;
      }
      i++;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (ch === '&' || ch === '|' || ch === ';') {
      if (ch === '&' && line[i + 1] === '>') {
        // `&> file`: a redirection, not a separator.
        endWord();
        i += 2;
        skipNextWord = !consumeGluedTarget();
        continue;
      }
      const at = i;
      i += (ch === '&' || ch === '|') && line[i + 1] === ch ? 2 : 1;
      endCommand(at);
      commandStart = i;
    } else if ((ch === '>' || ch === '<') && (!inWord || /^\d+$/.test(word))) {
      // A redirection (`> log`, `2>&1`, `<in`); `pandas>=2` is a word and stays whole.
      word = '';
      inWord = false;
      i++;
      if (line[i] === '>') i++;
      if (line[i] === '&') {
        i++;
        while (i < line.length && /\d/.test(line[i] as string)) i++;
        continue;
      }
      skipNextWord = !consumeGluedTarget();
    } else {
      word += ch;
      inWord = true;
      i++;
    }
  }
  endCommand(line.length);
  return commands;

  /** Skips a redirection target written right after the operator; true when there was one. */
  function consumeGluedTarget(): boolean {
    const start = i;
    while (i < line.length && !/[\s;&|]/.test(line[i] as string)) i++;
    return i > start;
  }
}

/** pip options that hold a requirement (valid lines of a requirements file): kept with their value. */
const PIP_KEEP_WITH_VALUE: Record<string, string> = {
  '-r': '-r', '--requirement': '-r', '-c': '-c', '--constraint': '-c', '-e': '-e', '--editable': '-e',
  '-i': '--index-url', '--index-url': '--index-url', '--extra-index-url': '--extra-index-url',
  '-f': '--find-links', '--find-links': '--find-links', '--trusted-host': '--trusted-host',
};

/** pip options that take a value but only change how pip runs: dropped with their value. */
const PIP_DROP_WITH_VALUE = new Set([
  '-t', '--target', '--prefix', '--root', '--progress-bar', '--root-user-action', '--cache-dir',
  '--timeout', '--retries', '--python-version', '--platform', '--implementation', '--abi', '--src',
  '--upgrade-strategy', '--log', '--proxy', '--only-binary', '--no-binary', '--global-option',
  '--config-settings', '-C', '--report', '--python', '--exists-action',
]);

/** The arguments after `install` when `words` is a pip install command, else undefined. */
function pipInstallArgs(words: string[]): string[] | undefined {
  let w = words;
  if (w[0] === 'sudo') w = w.slice(1);
  const exe = w[0] ?? '';
  const base = exe.slice(exe.lastIndexOf('/') + 1);
  if (/^pip[\d.]*$/.test(base) && w[1] === 'install') return w.slice(2);
  const isPython = /^python[\d.]*$/.test(base) || exe === '{sys.executable}' || exe === '$PYTHON';
  if (isPython && w[1] === '-m' && w[2] === 'pip' && w[3] === 'install') return w.slice(4);
  return undefined;
}

/** Requirement specs from pip install arguments: option flags dropped, requirement options kept. */
function pipSpecs(args: string[]): { specs: string[]; unresolved: string[] } {
  const specs: string[] = [];
  const unresolved: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg.startsWith('-')) {
      const eq = arg.indexOf('=');
      const flag = eq > 0 ? arg.slice(0, eq) : arg;
      const keep = PIP_KEEP_WITH_VALUE[flag];
      if (keep !== undefined) {
        const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
        if (value !== undefined) specs.push(`${keep} ${value}`);
      } else if (eq < 0 && PIP_DROP_WITH_VALUE.has(flag)) {
        i++;
      }
      continue;
    }
    // IPython expands `{expr}` and `$name` before the shell runs; their values are unknown here.
    if (/[{}$]/.test(arg)) unresolved.push(arg);
    else specs.push(arg);
  }
  return { specs, unresolved };
}

// ---------------------------------------------------------------------------
// The line scanner

interface ScanState {
  /** The open string's quote (`'`, `"`, `'''`, `"""`), or null. */
  quote: string | null;
  depth: number;
  /** The previous line ended with a backslash continuation. */
  continued: boolean;
}

/** Advances the scanner over one physical line of Python. */
function scanLine(line: string, st: ScanState): void {
  let i = 0;
  const n = line.length;
  st.continued = false;
  if (st.quote !== null) {
    i = skipString(line, 0, st);
    if (st.quote !== null) return;
  }
  while (i < n) {
    const ch = line[i];
    if (ch === '#') return;
    if (ch === '"' || ch === "'") {
      st.quote = line.startsWith(ch + ch + ch, i) ? ch + ch + ch : ch;
      i = skipString(line, i + st.quote.length, st);
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') st.depth++;
    else if (ch === ')' || ch === ']' || ch === '}') st.depth = Math.max(0, st.depth - 1);
    else if (ch === '\\' && i === n - 1) st.continued = true;
    i++;
  }
}

/** Skips to the end of the open string; leaves `st.quote` set when the string goes on. */
function skipString(line: string, from: number, st: ScanState): number {
  const quote = st.quote as string;
  let i = from;
  while (i < line.length) {
    const ch = line[i];
    if (ch === '\\') {
      if (i === line.length - 1) return line.length; // the string continues on the next line
      i += 2;
      continue;
    }
    if (line.startsWith(quote, i)) {
      st.quote = null;
      return i + quote.length;
    }
    i++;
  }
  // A one-quote string cannot span lines without a backslash: Python reports it; recover here.
  if (quote.length === 1) st.quote = null;
  return i;
}

// ---------------------------------------------------------------------------
// Lowering

/** Line magics that only affect an interactive session: dropped with an info note. */
const SESSION_MAGICS: Record<string, string> = {
  matplotlib: 'it only changes how the notebook shows plots',
  load_ext: 'extensions only load in an interactive session',
  reload_ext: 'extensions only load in an interactive session',
  autoreload: 'module reloading only matters in an interactive session',
  config: 'IPython configuration only applies to an interactive session',
  pinfo: 'help lookups only matter in the notebook',
  pinfo2: 'help lookups only matter in the notebook',
  pdoc: 'help lookups only matter in the notebook',
  pdef: 'help lookups only matter in the notebook',
  psource: 'help lookups only matter in the notebook',
};

/** Cell magics whose body is Python that runs as is once the magic line is gone. */
const PYTHON_BODY_CELL_MAGICS: Record<string, string> = {
  time: 'the cell runs without timing',
  timeit: 'the cell runs once, without timing',
  capture: 'the cell output is not captured',
  prun: 'the cell runs without profiling',
  debug: 'the cell runs without the debugger',
};

/** Cell magics that only display something in the notebook: the whole cell is dropped. */
const DISPLAY_CELL_MAGICS = new Set(['html', 'javascript', 'js', 'latex', 'markdown', 'svg']);

/** IPython's shell aliases, run as shell commands. */
const SHELL_ALIASES = new Set(['ls', 'mkdir', 'rm', 'rmdir', 'cp', 'mv', 'cat']);

function shorten(text: string): string {
  const t = text.trim();
  return t.length > 60 ? `${t.slice(0, 60)}…` : t;
}

class Lowerer {
  readonly out: string[];
  readonly pip: PipLine[] = [];
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly lines: readonly string[]) {
    this.out = lines.slice();
  }

  info(line: number, message: string): void {
    this.diagnostics.push(diag('FB200', message, { line }));
  }

  unsupported(line: number, what: string, why = 'it is not supported in a pipeline step'): void {
    this.diagnostics.push(diag('FB201', `\`${shorten(what)}\` on line ${line} was dropped: ${why}.`, { line }));
  }

  /** Replaces line `index` (0-based), keeping a `\r` line ending if it had one. */
  set(index: number, text: string): void {
    const original = this.lines[index] ?? '';
    this.out[index] = original.endsWith('\r') ? `${text}\r` : text;
  }

  run(): void {
    const n = this.lines.length;
    let first = 0;
    while (first < n && line(this.lines, first).trim() === '') first++;
    let start = 0;
    if (first < n && line(this.lines, first).trimStart().startsWith('%%')) {
      start = this.cellMagic(first);
      if (start < 0) return;
    }
    this.lineMagics(start);
  }

  /** Handles a cell magic on line `index`; returns where Python lines start, or -1 if the body is not Python. */
  private cellMagic(index: number): number {
    const text = line(this.lines, index).trim();
    const m = /^%%([\w.-]+)\s*(.*)$/.exec(text);
    const name = m?.[1] ?? '';
    const args = (m?.[2] ?? '').trim();
    const lineNo = index + 1;
    const keep = PYTHON_BODY_CELL_MAGICS[name];
    if (keep !== undefined) {
      this.set(index, '');
      this.info(lineNo, `\`${shorten(text)}\` on line ${lineNo} was dropped: ${keep}.`);
      return index + 1;
    }
    const shell = name === 'bash' || name === 'sh' ? name : name === 'script' && /^(bash|sh)\b/.test(args) ? args.split(/\s/)[0] : undefined;
    if (shell !== undefined) {
      this.wrapBody(index, `${SUBPROCESS}.run(['${shell}', '-c', ''`, '], check=True)');
      this.info(lineNo, `\`%%${name}\` on line ${lineNo}: the cell body runs through ${shell} (subprocess) in the step.`);
      return -1;
    }
    if (name === 'writefile' || name === 'file') {
      const append = /^(-a|--append)\s+/.test(args);
      const file = unquote(args.replace(/^(-a|--append)\s+/, '').trim());
      if (file === '') {
        this.dropBody(index);
        this.unsupported(lineNo, text, '`%%writefile` needs a file name');
        return -1;
      }
      const opener = file.startsWith('~') ? `${OS}.path.expanduser(${pyString(file)})` : pyString(file);
      this.wrapBody(index, `open(${opener}, '${append ? 'a' : 'w'}', encoding='utf-8').write(''`, ')');
      this.info(lineNo, `\`${shorten(text)}\` on line ${lineNo} became Python that writes the cell body to ${file}.`);
      return -1;
    }
    this.dropBody(index);
    if (DISPLAY_CELL_MAGICS.has(name)) {
      this.info(lineNo, `\`%%${name}\` cell on line ${lineNo} was dropped: it only displays content in the notebook.`);
    } else {
      this.unsupported(lineNo, `%%${name}`, 'the cell magic is not supported in a pipeline step, so the whole cell is left out');
    }
    return -1;
  }

  /** Blanks the cell magic line and everything after it. */
  private dropBody(index: number): void {
    for (let i = index; i < this.lines.length; i++) this.set(i, '');
  }

  /**
   * Turns the body after the magic line into one string argument, line by line:
   * `head` on the magic line, one literal per body line, `tail` closing on the last line.
   */
  private wrapBody(index: number, head: string, tail: string): void {
    const n = this.lines.length;
    if (index === n - 1) {
      this.set(index, head + tail);
      return;
    }
    this.set(index, head);
    for (let i = index + 1; i < n; i++) {
      const body = line(this.lines, i) + (i < n - 1 ? '\n' : '');
      this.set(i, pyString(body) + (i === n - 1 ? tail : ''));
    }
  }

  /** Lowers line magics, shell escapes and help lookups at logical line starts from `start` on. */
  private lineMagics(start: number): void {
    const st: ScanState = { quote: null, depth: 0, continued: false };
    const n = this.lines.length;
    for (let i = start; i < n; i++) {
      const text = line(this.lines, i);
      if (st.quote === null && st.depth === 0 && !st.continued) {
        const consumed = this.magicAt(i);
        if (consumed > 0) {
          i += consumed - 1;
          continue;
        }
      }
      scanLine(text, st);
    }
  }

  /** Lowers IPython syntax starting on line `i`; returns how many lines it used (0: plain Python). */
  private magicAt(i: number): number {
    const text = line(this.lines, i);
    const indent = /^[ \t]*/.exec(text)?.[0] ?? '';
    const rest = text.slice(indent.length);
    const first = rest[0];
    const automagicPip = /^(pip3?|conda|mamba)\s+install(\s|$)/.test(rest);
    const assign = /^([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*(!!?|%(?!%))/.exec(rest);
    if (first !== '%' && first !== '!' && first !== '?' && !automagicPip && !assign && !isHelpEnd(rest)) return 0;

    // IPython joins backslash-continued lines of an escaped command.
    let command = rest;
    let used = 1;
    while (/\\\s*$/.test(command) && i + used < this.lines.length) {
      command = `${command.replace(/\\\s*$/, '')} ${line(this.lines, i + used).trim()}`;
      this.set(i + used, '');
      used++;
    }
    command = command.trimEnd();
    const lineNo = i + 1;
    const drop = () => this.set(i, indent === '' ? '' : `${indent}pass`);

    if (assign) {
      this.assignment(i, indent, assign[1] as string, command.slice(assign[0].length - (assign[2] as string).length));
      return used;
    }
    if (first === '?' || isHelpEnd(command)) {
      drop();
      this.info(lineNo, `\`${shorten(command)}\` on line ${lineNo} was dropped: help lookups only matter in the notebook.`);
      return used;
    }
    if (automagicPip) {
      this.shellOrPip(i, indent, command, command);
      return used;
    }
    if (first === '!') {
      const cmd = command.replace(/^!!?/, '');
      this.shellOrPip(i, indent, cmd, command);
      return used;
    }
    if (command.startsWith('%%')) {
      drop();
      this.unsupported(lineNo, command, 'a cell magic (`%%`) only works on the first line of a cell');
      return used;
    }
    this.lineMagic(i, indent, command, drop);
    return used;
  }

  /** `%name args` on line `i`. */
  private lineMagic(i: number, indent: string, command: string, drop: () => void): void {
    const lineNo = i + 1;
    const m = /^%([\w.-]*)\s*(.*)$/.exec(command);
    const name = m?.[1] ?? '';
    const args = (m?.[2] ?? '').trim();
    const reason = SESSION_MAGICS[name];
    if (reason !== undefined) {
      drop();
      this.info(lineNo, `\`${shorten(command)}\` on line ${lineNo} was dropped: ${reason}.`);
      return;
    }
    switch (name) {
      case 'pip':
      case 'pip3':
      case 'conda':
      case 'mamba':
        this.shellOrPip(i, indent, `${name} ${args}`, command);
        return;
      case 'time':
      case 'timeit': {
        const statement = name === 'timeit' ? stripTimeitOptions(args) : args;
        if (statement === '') drop();
        else this.set(i, indent + statement);
        this.info(lineNo, `\`%${name}\` on line ${lineNo} was removed: the statement runs without timing.`);
        return;
      }
      case 'env':
      case 'set_env': {
        const set = /^([A-Za-z_]\w*)(?:\s*=\s*|\s+)(.*)$/.exec(args);
        if (set) {
          this.set(i, `${indent}${OS}.environ[${pyString(set[1] as string)}] = ${pyString(unquote((set[2] as string).trim()))}`);
          this.info(lineNo, `\`${shorten(command)}\` on line ${lineNo} became an assignment to os.environ.`);
        } else {
          drop();
          this.info(lineNo, `\`${shorten(command)}\` on line ${lineNo} was dropped: it only shows environment variables.`);
        }
        return;
      }
      case 'cd': {
        const dir = unquote(args.replace(/^-[bq]\s+/, '').trim());
        if (dir.startsWith('-')) {
          drop();
          this.unsupported(lineNo, command, 'only `%cd DIRECTORY` is supported');
          return;
        }
        this.set(i, `${indent}${OS}.chdir(${OS}.path.expanduser(${pyString(dir === '' ? '~' : dir)}))`);
        this.info(lineNo, `\`${shorten(command)}\` on line ${lineNo} became os.chdir(...).`);
        return;
      }
      case 'pwd':
        this.set(i, `${indent}print(${OS}.getcwd())`);
        this.info(lineNo, `\`%pwd\` on line ${lineNo} became print(os.getcwd()).`);
        return;
      case 'system':
      case 'sx':
        this.shellOrPip(i, indent, args, command);
        return;
      default:
        if (SHELL_ALIASES.has(name)) {
          this.shellOrPip(i, indent, `${name} ${args}`.trim(), command);
          return;
        }
        drop();
        this.unsupported(lineNo, name === '' ? command : `%${name}`, name === 'run'
          ? '`%run` executes a file the analysis cannot see; import that code as a module instead'
          : 'the magic is not supported in a pipeline step');
    }
  }

  /** `LHS = !cmd` or `LHS = %magic ...`. */
  private assignment(i: number, indent: string, target: string, value: string): void {
    const lineNo = i + 1;
    const lhs = `${indent}${target} = `;
    if (value.startsWith('!')) {
      this.set(i, lhs + captureShell(value.replace(/^!!?/, '').trim()));
      this.info(lineNo, `\`${shorten(value)}\` on line ${lineNo} runs through subprocess; its output lines are assigned to ${target}.`);
      this.dollarNote(lineNo, value);
      return;
    }
    const m = /^%([\w.-]*)\s*(.*)$/.exec(value);
    const name = m?.[1] ?? '';
    const args = (m?.[2] ?? '').trim();
    if ((name === 'sx' || name === 'system') && args !== '') {
      this.set(i, lhs + captureShell(args));
      this.info(lineNo, `\`${shorten(value)}\` on line ${lineNo} runs through subprocess; its output lines are assigned to ${target}.`);
    } else if (name === 'pwd') {
      this.set(i, `${lhs}${OS}.getcwd()`);
      this.info(lineNo, `\`%pwd\` on line ${lineNo} became os.getcwd().`);
    } else if (name === 'time' && args !== '') {
      this.set(i, lhs + args);
      this.info(lineNo, `\`%time\` on line ${lineNo} was removed: the expression runs without timing.`);
    } else if (name === 'env' && /^[A-Za-z_]\w*$/.test(args)) {
      this.set(i, `${lhs}${OS}.environ[${pyString(args)}]`);
      this.info(lineNo, `\`${shorten(value)}\` on line ${lineNo} became a read of os.environ.`);
    } else {
      this.set(i, `${lhs}None`);
      this.unsupported(lineNo, name === '' ? value : `%${name}`, `the magic is not supported in a pipeline step, so ${target} is set to None`);
    }
  }

  /** Warns when a shell command relies on IPython filling `$name` from a Python variable. */
  private dollarNote(line: number, cmd: string): void {
    const names = dollarNames(cmd);
    if (names.length === 0) return;
    const list = names.map((n) => `$${n}`).join(', ');
    const fields = names.map((n) => `{${n}}`).join(', ');
    this.diagnostics.push(diag('FB200', `On line ${line}, ${list} is expanded by the shell from environment variables in the step, not from Python variables as in IPython; write ${fields} to pass a Python value.`, { line }, 'warning'));
  }

  /** A shell command on line `i`: pip installs become requirements, anything else runs through subprocess. */
  private shellOrPip(i: number, indent: string, cmd: string, written: string): void {
    const lineNo = i + 1;
    const commands = splitShell(cmd);
    const installs = commands.map((c) => pipInstallArgs(c.words));
    const condaAt = commands.findIndex((c) => /^(conda|mamba)$/.test(c.words[0] ?? '') && c.words[1] === 'install');
    if (!installs.some((a) => a !== undefined) && condaAt < 0) {
      this.set(i, indent + runShell(cmd.trim()));
      this.info(lineNo, `\`${shorten(written)}\` on line ${lineNo} runs through subprocess in the step.`);
      this.dollarNote(lineNo, cmd);
      return;
    }
    this.set(i, `${indent}pass`);
    const specs: string[] = [];
    commands.forEach((command, k) => {
      const args = installs[k];
      if (args === undefined) {
        const why = k === condaAt
          ? 'conda is not available in pipeline steps; install the package with `%pip install` instead'
          : 'only the `pip install` part of this line is used (as an image requirement)';
        this.unsupported(lineNo, command.text, why);
        return;
      }
      const found = pipSpecs(args);
      specs.push(...found.specs);
      for (const arg of found.unresolved) {
        this.unsupported(lineNo, arg, 'a requirement with `{...}` or `$` is only known when the notebook runs; write the package name');
      }
    });
    if (specs.length > 0) {
      this.pip.push({ specs, line: lineNo });
      this.diagnostics.push(diag('FB203', `\`${shorten(written)}\` on line ${lineNo} became an image requirement: ${specs.join(' ')}.`, { line: lineNo }));
    }
  }
}

function line(lines: readonly string[], index: number): string {
  const text = lines[index] ?? '';
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

function unquote(text: string): string {
  const m = /^(['"])(.*)\1$/.exec(text);
  return m ? (m[2] as string) : text;
}

/** `obj?`, `obj.attr??`, `%magic?`: IPython's help lookup at the end of a line. */
function isHelpEnd(text: string): boolean {
  return /^%{0,2}[A-Za-z_][\w.]*(?:\[[^[\]]*\])*(?:\(\))?\s*\?{1,2}\s*$/.test(text);
}

function stripTimeitOptions(args: string): string {
  let rest = args;
  for (;;) {
    const m = /^-(?:[nrp]\s*\d+|[tcqo])\s*/.exec(rest);
    if (!m) return rest.trim();
    rest = rest.slice(m[0].length);
  }
}

/**
 * Lowers a cell's IPython syntax to plain Python with the same number of lines.
 * `pip` and `diagnostics` carry `cell`. Never throws.
 */
export function lowerIPython(source: string, cell: number): { code: string; pip: PipRequirement[]; diagnostics: Diagnostic[] } {
  const lowered = lowerCell(source);
  return {
    code: lowered.code,
    pip: lowered.pip.map((p) => ({ specs: p.specs.slice(), cell, line: p.line })),
    diagnostics: lowered.diagnostics.map((d) => ({ ...d, cell })),
  };
}

/** `lowerIPython` without a cell index: what the analysis caches by source text. */
export function lowerCell(source: string): LoweredCell {
  // Fast path: without these characters a cell has no IPython syntax (automagic pip aside).
  if (!/[%!?]/.test(source) && !/^[ \t]*(pip3?|conda|mamba)[ \t]+install/m.test(source)) {
    return { code: source, pip: [], diagnostics: [] };
  }
  const lowerer = new Lowerer(source.split('\n'));
  lowerer.run();
  return { code: lowerer.out.join('\n'), pip: lowerer.pip, diagnostics: lowerer.diagnostics };
}
