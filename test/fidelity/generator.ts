// A seeded generator of random Kale-tagged notebooks for the differential fidelity suite.
// Every notebook runs top to bottom without error by construction: the generator keeps a
// typed model of the live variables (what kind each holds) and only writes statements
// that are valid for those kinds. The same seed always gives the same notebook, so a
// failing seed replays exactly (`generateNotebook(seed)`).

import { prng } from '../support/prng';
import type { CellSpec } from '../support/notebooks';

/** The Python features issue 10 lists; each notebook records the ones it uses. */
export const FEATURES = [
  'comprehension', 'walrus', 'match', 'try', 'with', 'class', 'dataclass', 'closure', 'lambda',
  'global', 'nonlocal', 'alias', 'loop-over-container', 'numpy-inplace', 'pandas-inplace',
  'import-in-cell', 'parameter-written', 'skip', 'prev', 'reopened-step', 'functions-cell', 'continuation',
] as const;
export type Feature = typeof FEATURES[number];

type Kind = 'int' | 'float' | 'intlist' | 'listlist' | 'dict' | 'frame' | 'array' | 'obj' | 'func' | 'str';

interface Var { name: string; kind: Kind }

export interface GeneratedNotebook {
  seed: number;
  cells: CellSpec[];
  features: Feature[];
}

class Gen {
  private readonly random: () => number;
  private readonly vars = new Map<string, Var>();
  private counter = 0;
  readonly features = new Set<Feature>();
  /** Module aliases usable from here on (imported by an earlier cell). */
  private readonly modules = new Set<string>();
  /** A class with a `bump` method exists from here on. */
  private hasCounterClass = false;
  private hasDataclass = false;
  /** Functions defined with `global`: calling them changes the named int. */
  private readonly globalBumpers: { fn: string; target: string }[] = [];
  private readonly stepNames: string[] = [];

  constructor(readonly seed: number) {
    this.random = prng(seed);
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  ofKind(...kinds: Kind[]): Var[] {
    return [...this.vars.values()].filter((v) => kinds.includes(v.kind));
  }

  bind(name: string, kind: Kind): void {
    this.vars.set(name, { name, kind });
  }

  /** An integer-valued expression over live variables (or a literal). */
  intExpr(): string {
    const ints = this.ofKind('int');
    const lists = this.ofKind('intlist');
    const options: (() => string)[] = [() => String(this.int(1, 9))];
    if (ints.length) options.push(() => this.pick(ints).name, () => `${this.pick(ints).name} + ${this.int(1, 5)}`);
    if (lists.length) options.push(() => `len(${this.pick(lists).name})`, () => `sum(${this.pick(lists).name})`);
    return this.pick(options)();
  }

  ensureModule(module: 'np' | 'pd' | 'math', lines: string[]): void {
    if (this.modules.has(module)) return;
    const statement = { np: 'import numpy as np', pd: 'import pandas as pd', math: 'import math' }[module];
    lines.push(statement);
    this.modules.add(module);
    this.features.add('import-in-cell');
  }

  /** One statement group valid for the current variables; appends lines. */
  statement(lines: string[]): void {
    const makers: (() => void)[] = [
      () => { const n = this.fresh('n'); lines.push(`${n} = ${this.intExpr()}`); this.bind(n, 'int'); },
      () => { const l = this.fresh('xs'); lines.push(`${l} = [${Array.from({ length: this.int(2, 5) }, () => this.int(-3, 9)).join(', ')}]`); this.bind(l, 'intlist'); },
      () => { const f = this.fresh('f'); lines.push(`${f} = ${this.intExpr()} / ${this.int(2, 8)}`); this.bind(f, 'float'); },
      () => this.comprehension(lines),
      () => this.walrus(lines),
      () => this.match(lines),
      () => this.tryExcept(lines),
      () => this.withBlock(lines),
      () => this.klass(lines),
      () => this.dataclass(lines),
      () => this.closure(lines),
      () => this.lambda(lines),
      () => this.globalFunction(lines),
      () => this.nonlocal(lines),
      () => this.alias(lines),
      () => this.loopOverContainer(lines),
      () => this.numpy(lines),
      () => this.pandas(lines),
      () => this.dict(lines),
      () => this.mathImport(lines),
    ];
    this.pick(makers)();
  }

  comprehension(lines: string[]): void {
    const lists = this.ofKind('intlist');
    const src = lists.length ? this.pick(lists).name : `range(${this.int(2, 6)})`;
    const out = this.fresh('sq');
    if (this.chance(0.5)) {
      lines.push(`${out} = [v * ${this.int(1, 4)} for v in ${src} if v % 2 == ${this.int(0, 1)}]`);
      this.bind(out, 'intlist');
    } else {
      lines.push(`${out} = {str(v): v + ${this.int(0, 3)} for v in ${src}}`);
      this.bind(out, 'dict');
    }
    this.features.add('comprehension');
  }

  walrus(lines: string[]): void {
    const a = this.fresh('w');
    const b = this.fresh('w');
    lines.push(`if (${a} := ${this.intExpr()}) > ${this.int(0, 6)}:`, `    ${b} = ${a} - 1`, 'else:', `    ${b} = ${a} + 1`);
    this.bind(a, 'int');
    this.bind(b, 'int');
    this.features.add('walrus');
  }

  match(lines: string[]): void {
    const out = this.fresh('m');
    lines.push(`match (${this.intExpr()}) % 3:`, '    case 0:', `        ${out} = 'zero'`, '    case 1:', `        ${out} = 'one'`, '    case _:', `        ${out} = 'many'`);
    this.bind(out, 'str');
    this.features.add('match');
  }

  tryExcept(lines: string[]): void {
    const lists = this.ofKind('intlist');
    const out = this.fresh('t');
    const src = lists.length ? this.pick(lists).name : '[]';
    lines.push('try:', `    ${out} = ${src}[${this.int(0, 6)}]`, 'except IndexError:', `    ${out} = -1`);
    this.bind(out, 'int');
    this.features.add('try');
  }

  withBlock(lines: string[]): void {
    const a = this.fresh('cm');
    const b = this.fresh('cm');
    lines.push('from contextlib import nullcontext', `with nullcontext(${this.intExpr()}) as ${a}:`, `    ${b} = ${a} * 2`);
    this.bind(a, 'int');
    this.bind(b, 'int');
    this.features.add('with');
    this.features.add('import-in-cell');
  }

  klass(lines: string[]): void {
    const objs = this.ofKind('obj').filter((v) => !this.pairs.has(v.name));
    if (this.hasCounterClass && objs.length && this.chance(0.6)) {
      // A method changes an instance made in an earlier cell.
      lines.push(`${this.pick(objs).name}.bump(${this.int(1, 4)})`);
    } else {
      if (!this.hasCounterClass) {
        lines.push('class Tally:', '    step = 1', '', '    def __init__(self, n):', '        self.n = n', '', '    def bump(self, k):', '        self.n += k * self.step', '');
        this.hasCounterClass = true;
      }
      const o = this.fresh('obj');
      lines.push(`${o} = Tally(${this.intExpr()})`);
      this.bind(o, 'obj');
    }
    this.features.add('class');
  }

  dataclass(lines: string[]): void {
    if (!this.hasDataclass) {
      lines.push('from dataclasses import dataclass, field', '', '@dataclass', 'class Pair:', '    a: int', '    b: list = field(default_factory=list)', '');
      this.hasDataclass = true;
      this.features.add('import-in-cell');
    }
    const o = this.fresh('pair');
    lines.push(`${o} = Pair(${this.intExpr()})`, `${o}.b.append(${this.int(0, 9)})`);
    this.bind(o, 'obj');
    this.pairs.add(o);
    this.features.add('dataclass');
  }

  /** Instances of `Pair` (no `bump` method). */
  readonly pairs = new Set<string>();

  closure(lines: string[]): void {
    const maker = this.fresh('make_adder');
    const fn = this.fresh('add');
    lines.push(`def ${maker}(k):`, '    def add(v):', '        return v + k', '    return add', '', `${fn} = ${maker}(${this.intExpr()})`);
    this.bind(fn, 'func');
    this.features.add('closure');
  }

  lambda(lines: string[]): void {
    const fn = this.fresh('times');
    lines.push(`${fn} = lambda v: v * ${this.int(2, 5)}`);
    this.bind(fn, 'func');
    this.features.add('lambda');
  }

  globalFunction(lines: string[]): void {
    if (this.globalBumpers.length && this.chance(0.6)) {
      const { fn } = this.pick(this.globalBumpers);
      lines.push(`${fn}()`);
    } else {
      const target = this.fresh('total');
      const fn = this.fresh('bump_total');
      lines.push(`${target} = ${this.int(0, 5)}`, '', `def ${fn}():`, `    global ${target}`, `    ${target} += ${this.int(1, 3)}`, '', `${fn}()`);
      this.bind(target, 'int');
      this.globalBumpers.push({ fn, target });
    }
    this.features.add('global');
  }

  nonlocal(lines: string[]): void {
    const maker = this.fresh('counter');
    const fn = this.fresh('tick');
    lines.push(`def ${maker}():`, '    n = 0', '', '    def tick(v):', '        nonlocal n', '        n += 1', '        return v + n', '    return tick', '', `${fn} = ${maker}()`, `${fn}(0)`);
    this.bind(fn, 'func');
    this.features.add('nonlocal');
    this.features.add('closure');
  }

  alias(lines: string[]): void {
    const candidates = this.ofKind('intlist', 'frame', 'array', 'listlist');
    if (!candidates.length) {
      this.statement(lines);
      return;
    }
    const v = this.pick(candidates);
    const alias = this.fresh('alias');
    lines.push(`${alias} = ${v.name}`);
    this.bind(alias, v.kind);
    this.features.add('alias');
  }

  loopOverContainer(lines: string[]): void {
    const lists = this.ofKind('listlist');
    if (!lists.length || this.chance(0.3)) {
      const ll = this.fresh('groups');
      lines.push(`${ll} = [[${this.int(0, 4)}], [${this.int(0, 4)}, ${this.int(0, 4)}]]`);
      this.bind(ll, 'listlist');
      return;
    }
    const ll = this.pick(lists).name;
    lines.push(`for g in ${ll}:`, `    g.append(len(g) + ${this.int(0, 3)})`);
    this.vars.delete('g');
    this.bind('g', 'intlist');
    this.features.add('loop-over-container');
  }

  numpy(lines: string[]): void {
    this.ensureModule('np', lines);
    const arrays = this.ofKind('array');
    if (!arrays.length || this.chance(0.3)) {
      const a = this.fresh('arr');
      lines.push(`${a} = np.arange(${this.int(3, 6)}, dtype=float) * ${this.int(1, 3)}`);
      this.bind(a, 'array');
      return;
    }
    const a = this.pick(arrays).name;
    lines.push(this.pick([`${a} += ${this.int(1, 4)}`, `${a}[0] = ${this.int(-5, 5)}`, `np.multiply(${a}, 2, out=${a})`, `${a}[${a} > ${this.int(1, 6)}] = 0`]));
    this.features.add('numpy-inplace');
  }

  pandas(lines: string[]): void {
    this.ensureModule('pd', lines);
    const frames = this.ofKind('frame');
    if (!frames.length || this.chance(0.3)) {
      const d = this.fresh('df');
      lines.push(`${d} = pd.DataFrame({'a': [${this.int(0, 5)}, ${this.int(0, 5)}, ${this.int(0, 5)}], 'b': [1.5, 2.5, ${this.int(0, 5)}.0]})`);
      this.bind(d, 'frame');
      return;
    }
    const d = this.pick(frames).name;
    lines.push(this.pick([
      `${d}['a'] = ${d}['a'] * ${this.int(2, 4)}`,
      `${d}.loc[0, 'b'] = ${this.int(-3, 3)}.5`,
      `${d}['b'] += 1`,
      `${d}.fillna(0, inplace=True)`,
      `${d}.sort_values('a', inplace=True)`,
    ]));
    this.features.add('pandas-inplace');
  }

  dict(lines: string[]): void {
    const dicts = this.ofKind('dict');
    if (dicts.length && this.chance(0.5)) {
      lines.push(`${this.pick(dicts).name}['k${this.int(0, 3)}'] = ${this.intExpr()}`);
      return;
    }
    const d = this.fresh('cfg');
    lines.push(`${d} = {'k0': ${this.intExpr()}, 'k1': ${this.int(0, 9)}}`);
    this.bind(d, 'dict');
  }

  mathImport(lines: string[]): void {
    this.ensureModule('math', lines);
    const f = this.fresh('root');
    lines.push(`${f} = math.sqrt(abs(${this.intExpr()}))`);
    this.bind(f, 'float');
  }

  /** A numeric expression summarising a variable, for the final step and the metrics. */
  summary(v: Var): string {
    switch (v.kind) {
      case 'int':
      case 'float':
        return `float(${v.name})`;
      case 'intlist':
        return `float(len(${v.name}) + sum(${v.name}))`;
      case 'listlist':
        return `float(sum(len(x) + sum(x) for x in ${v.name}))`;
      case 'dict':
        return `float(len(${v.name}) + sum(${v.name}.values()))`;
      case 'frame':
        return `float(${v.name}.to_numpy().sum() + ${v.name}.index[0])`;
      case 'array':
        return `float(${v.name}.sum())`;
      case 'obj':
        return this.pairs.has(v.name) ? `float(${v.name}.a + sum(${v.name}.b))` : `float(${v.name}.n)`;
      case 'func':
        return `float(${v.name}(3))`;
      case 'str':
        return `float(len(${v.name}))`;
    }
  }

  build(): GeneratedNotebook {
    const cells: CellSpec[] = [];
    const stepCount = this.int(2, 5);
    if (this.chance(0.5)) {
      cells.push(['imports', 'import numpy as np\nimport pandas as pd']);
      this.modules.add('np');
      this.modules.add('pd');
    }
    const params: string[] = [];
    if (this.chance(0.5)) {
      const lines: string[] = [];
      const count = this.int(1, 2);
      for (let i = 0; i < count; i++) {
        const p = `p${i}`;
        lines.push(`${p} = ${this.int(1, 9)}`);
        params.push(p);
      }
      cells.push(['pipeline-parameters', lines.join('\n')]);
      for (const p of params) this.bind(p, 'int');
    }
    let scaleDefined = false;
    if (this.chance(0.4)) {
      cells.push(['functions', 'def scaled(v):\n    return v * SCALE']);
      this.features.add('functions-cell');
      scaleDefined = true;
    }
    for (let s = 0; s < stepCount; s++) {
      const name = `s${s}`;
      const tags = [`step:${name}`];
      if (s > 1 && this.chance(0.3)) {
        tags.push(`prev:${this.pick(this.stepNames)}`);
        this.features.add('prev');
      }
      const cellCount = this.int(1, 3);
      for (let c = 0; c < cellCount; c++) {
        const lines: string[] = [];
        if (s === 0 && c === 0 && scaleDefined) lines.push(`SCALE = ${this.int(2, 4)}`);
        if (scaleDefined && s > 0 && this.chance(0.3)) {
          const out = this.fresh('sc');
          lines.push(`${out} = scaled(${this.intExpr()})`);
          this.bind(out, 'int');
        }
        if (params.length && this.chance(0.25)) {
          const p = this.pick(params);
          lines.push(`${p} = ${p} + ${this.int(1, 3)}`);
          this.features.add('parameter-written');
        }
        const statements = this.int(1, 3);
        for (let k = 0; k < statements; k++) this.statement(lines);
        if (c > 0) this.features.add('continuation');
        cells.push([c === 0 ? tags : [], lines.join('\n')]);
        if (this.chance(0.15)) {
          // A skip cell: neither side runs it, so it must never change the result.
          const victims = [...this.vars.values()];
          cells.push(['skip', victims.length ? `${this.pick(victims).name} = None\nprint('exploring')` : "print('exploring')"]);
          this.features.add('skip');
        }
      }
      this.stepNames.push(name);
      if (s >= 2 && this.chance(0.2)) {
        // Reopen an earlier step with a cell that reads only what that step made itself.
        const earlier = this.pick(this.stepNames.slice(0, -1));
        const out = this.fresh('late');
        cells.push([`step:${earlier}`, `${out} = ${this.int(1, 9)} * 2`]);
        this.bind(out, 'int');
        this.features.add('reopened-step');
      }
    }
    const checks = [...this.vars.values()].slice(-6).map((v, i) => [`check${i}`, this.summary(v)] as const);
    cells.push(['step:final', checks.length ? checks.map(([n, e]) => `${n} = ${e}`).join('\n') : 'check0 = 0.0']);
    cells.push(['pipeline-metrics', (checks.length ? checks.map(([n]) => n) : ['check0']).join('\n')]);
    return { seed: this.seed, cells, features: FEATURES.filter((f) => this.features.has(f)) };
  }
}

/** The notebook for `seed`: always the same for the same seed. */
export function generateNotebook(seed: number): GeneratedNotebook {
  return new Gen(seed).build();
}
