import * as assert from 'node:assert/strict';
import { lowerIPython } from '../../../../src/converter/python';
import { analyzer, lineCount, readNames } from './support';

const lines = (...l: string[]) => l.join('\n');
const SP = "__import__('subprocess')";

/** Lowers `source` as cell 4 and checks the one-for-one line invariant every time. */
function lower(source: string) {
  const result = lowerIPython(source, 4);
  assert.equal(lineCount(result.code), lineCount(source), 'lowering must keep the line count');
  return result;
}

const codes = (r: ReturnType<typeof lower>) => r.diagnostics.map((d) => `${d.code}@${d.line}`);

describe('IPython lowering: pip installs', () => {
  it('!pip and %pip become requirements; the line becomes pass at the same indentation', () => {
    const r = lower(lines('!pip install pandas==2.2.1 "scikit-learn>=1.4"', 'if True:', '    %pip install -q -U xgboost', 'x = 1'));
    assert.equal(r.code, lines('pass', 'if True:', '    pass', 'x = 1'));
    assert.deepEqual(r.pip, [
      { specs: ['pandas==2.2.1', 'scikit-learn>=1.4'], cell: 4, line: 1 },
      { specs: ['xgboost'], cell: 4, line: 3 },
    ]);
    assert.deepEqual(codes(r), ['FB203@1', 'FB203@3']);
    assert.ok(r.diagnostics.every((d) => d.cell === 4 && d.severity === 'info'));
    assert.match(r.diagnostics[0]?.message ?? '', /became an image requirement: pandas==2\.2\.1 scikit-learn>=1\.4/);
  });

  it('understands python -m pip, {sys.executable}, pip3, automagic pip and -r files', () => {
    const r = lower(lines(
      '!{sys.executable} -m pip install --upgrade torch',
      '!python3 -m pip install --user numpy',
      '!pip3 install --no-cache-dir --progress-bar off tqdm',
      'pip install seaborn',
      '%pip install -r requirements.txt --index-url https://example.org/simple',
    ));
    assert.equal(r.code, lines('pass', 'pass', 'pass', 'pass', 'pass'));
    assert.deepEqual(r.pip.map((p) => p.specs), [['torch'], ['numpy'], ['tqdm'], ['seaborn'], ['-r requirements.txt', '--index-url https://example.org/simple']]);
  });

  it('drops redirections and keeps continued lines together', () => {
    const r = lower(lines('!pip install -q pandas \\', '    pyarrow > /dev/null 2>&1', 'y = 2'));
    assert.equal(r.code, lines('pass', '', 'y = 2'));
    assert.deepEqual(r.pip.map((p) => [p.specs, p.line]), [[['pandas', 'pyarrow'], 1]]);
  });

  it('warns about the parts of a pip line it cannot use', () => {
    const r = lower(lines('!pip install lib && echo done', '!pip install {pkg}', '!conda install -y pytorch'));
    assert.equal(r.code, lines('pass', 'pass', 'pass'));
    assert.deepEqual(r.pip.map((p) => p.specs), [['lib']]);
    assert.deepEqual(codes(r), ['FB201@1', 'FB203@1', 'FB201@2', 'FB201@3']);
    assert.match(r.diagnostics[3]?.message ?? '', /conda/);
  });
});

describe('IPython lowering: session magics and help', () => {
  it('drops %matplotlib, %load_ext, %reload_ext, %autoreload and %config with an info note', () => {
    const r = lower(lines('%matplotlib inline', '%load_ext autoreload', '%reload_ext autoreload', '%autoreload 2', "%config InlineBackend.figure_format = 'retina'", 'import numpy'));
    assert.equal(r.code, lines('', '', '', '', '', 'import numpy'));
    assert.deepEqual(codes(r), ['FB200@1', 'FB200@2', 'FB200@3', 'FB200@4', 'FB200@5']);
    assert.match(r.diagnostics[0]?.message ?? '', /`%matplotlib inline` on line 1/);
  });

  it('a dropped magic inside a block becomes pass, so the block is never empty', () => {
    const r = lower(lines('for i in range(3):', '    %matplotlib inline'));
    assert.equal(r.code, lines('for i in range(3):', '    pass'));
  });

  it('drops help lookups: obj?, obj??, ?obj', () => {
    const r = lower(lines('df.head?', 'np.linspace??', '?print', 'x = 1  # why?'));
    assert.equal(r.code, lines('', '', '', 'x = 1  # why?'));
    assert.deepEqual(codes(r), ['FB200@1', 'FB200@2', 'FB200@3']);
  });

  it('any other magic is a warning naming the magic and the line', () => {
    const r = lower(lines('x = 1', '%who', '    %run helper.py'));
    assert.equal(r.code, lines('x = 1', '', '    pass'));
    assert.deepEqual(codes(r), ['FB201@2', 'FB201@3']);
    assert.equal(r.diagnostics[0]?.severity, 'warning');
    assert.match(r.diagnostics[0]?.message ?? '', /`%who` on line 2/);
    assert.match(r.diagnostics[1]?.message ?? '', /`%run` on line 3/);
  });
});

describe('IPython lowering: timing and capture', () => {
  it('%time and %timeit keep the statement', () => {
    const r = lower(lines('%time model.fit(X, y)', '%timeit -n 10 -r3 f(x)', 'if a:', '    %time b = g()'));
    assert.equal(r.code, lines('model.fit(X, y)', 'f(x)', 'if a:', '    b = g()'));
    assert.deepEqual(codes(r), ['FB200@1', 'FB200@2', 'FB200@4']);
  });

  it('%%time, %%timeit and %%capture drop the magic line and keep the body', () => {
    for (const magic of ['%%time', '%%timeit -n1', '%%capture out']) {
      const r = lower(lines(magic, 'x = train()', '%matplotlib inline'));
      assert.equal(r.code, lines('', 'x = train()', ''), magic);
      assert.deepEqual(codes(r), ['FB200@1', 'FB200@3'], magic);
    }
  });

  it('a cell magic after blank lines is still the cell magic', () => {
    assert.equal(lower(lines('', '%%time', 'x = 1')).code, lines('', '', 'x = 1'));
  });

  it('x = %time expr keeps the assignment', () => {
    assert.equal(lower('r = %time compute(1)').code, 'r = compute(1)');
  });
});

describe('IPython lowering: shell', () => {
  it('!cmd runs through subprocess with shell=True, check=True', () => {
    const r = lower(lines('!ls -la data/', '  !echo "it\'s"'));
    assert.equal(r.code, lines(`${SP}.run('ls -la data/', shell=True, check=True)`, `  ${SP}.run('echo "it\\'s"', shell=True, check=True)`));
    assert.deepEqual(codes(r), ['FB200@1', 'FB200@2']);
  });

  it('{name} in a command becomes an f-string field; other braces and $VARS stay for the shell', () => {
    const r = lower('!cp {src.path} {dst} {a,b} ${HOME} $USER');
    assert.equal(r.code, `${SP}.run(f'cp {src.path} {dst} {{a,b}} $${'{{'}HOME${'}}'} $USER', shell=True, check=True)`);
  });

  it('warns that $name comes from the environment, not from Python, except for common environment variables', () => {
    const r = lower('!wget $url -O ${out_dir}/f $HOME $$');
    assert.equal(r.code, SP + ".run('wget $url -O ${out_dir}/f $HOME $$', shell=True, check=True)");
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.severity]), [['FB200', 'info'], ['FB200', 'warning']]);
    assert.match(r.diagnostics[1]?.message ?? '', /\$url, \$out_dir is expanded by the shell .* write \{url\}, \{out_dir\}/);
  });

  it('x = !cmd assigns the output lines', () => {
    const r = lower('files = !ls {folder}');
    assert.equal(r.code, `files = ${SP}.run(f'ls {folder}', shell=True, check=True, capture_output=True, text=True).stdout.splitlines()`);
  });

  it('%%bash and %%sh cells run their body with that shell, line for line', () => {
    const r = lower(lines('%%bash', 'echo "start"', "cd /tmp && ls 'a b'", ''));
    assert.equal(r.code, lines(`${SP}.run(['bash', '-c', ''`, `'echo "start"\\n'`, `'cd /tmp && ls \\'a b\\'\\n'`, `''], check=True)`));
    assert.deepEqual(codes(r), ['FB200@1']);
    assert.equal(lower('%%sh').code, `${SP}.run(['sh', '-c', ''], check=True)`);
  });

  it('%system, %sx and shell aliases run as commands', () => {
    const r = lower(lines('%system date', '%mkdir -p out', 'lines = %sx wc -l f'));
    assert.equal(r.code, lines(
      `${SP}.run('date', shell=True, check=True)`,
      `${SP}.run('mkdir -p out', shell=True, check=True)`,
      `lines = ${SP}.run('wc -l f', shell=True, check=True, capture_output=True, text=True).stdout.splitlines()`,
    ));
  });
});

describe('IPython lowering: env, cd, writefile and other cell magics', () => {
  it('%env NAME=value and %env NAME value set os.environ; %env NAME alone is dropped', () => {
    const r = lower(lines('%env CUDA_VISIBLE_DEVICES=0', '%env MODE "fast run"', '%env HOME', 'home = %env HOME'));
    assert.equal(r.code, lines(
      "__import__('os').environ['CUDA_VISIBLE_DEVICES'] = '0'",
      "__import__('os').environ['MODE'] = 'fast run'",
      '',
      "home = __import__('os').environ['HOME']",
    ));
  });

  it('%cd and %pwd become os calls', () => {
    const r = lower(lines('%cd ~/data', 'where = %pwd', '%pwd'));
    assert.equal(r.code, lines(
      "__import__('os').chdir(__import__('os').path.expanduser('~/data'))",
      "where = __import__('os').getcwd()",
      "print(__import__('os').getcwd())",
    ));
  });

  it('%%writefile writes the body, line for line; -a appends', () => {
    assert.equal(lower(lines('%%writefile conf.yaml', 'a: 1', 'b: 2')).code, lines("open('conf.yaml', 'w', encoding='utf-8').write(''", "'a: 1\\n'", "'b: 2')"));
    assert.equal(lower(lines('%%writefile -a log.txt', 'more')).code, lines("open('log.txt', 'a', encoding='utf-8').write(''", "'more')"));
  });

  it('display-only cell magics drop the cell with an info; unknown ones with a warning', () => {
    const html = lower(lines('%%html', '<b>hi</b>'));
    assert.equal(html.code, lines('', ''));
    assert.deepEqual(codes(html), ['FB200@1']);
    const sql = lower(lines('%%sql', 'SELECT 1'));
    assert.equal(sql.code, lines('', ''));
    assert.deepEqual(codes(sql), ['FB201@1']);
    assert.match(sql.diagnostics[0]?.message ?? '', /%%sql/);
  });

  it('a %% magic below the first line is a warning', () => {
    const r = lower(lines('x = 1', '%%time'));
    assert.equal(r.code, lines('x = 1', ''));
    assert.deepEqual(codes(r), ['FB201@2']);
  });

  it('x = %unknown sets x to None with a warning', () => {
    const r = lower('t = %timeit -o f()');
    assert.equal(r.code, 't = None');
    assert.deepEqual(codes(r), ['FB201@1']);
  });
});

describe('IPython lowering: what is not IPython', () => {
  it('leaves text inside triple-quoted strings, brackets and continuations alone', () => {
    const source = lines(
      'doc = """',
      '%matplotlib inline',
      '!rm -rf /',
      '"""',
      "raw = r'''\\\\'''",
      '!echo after',
      'total = (1 +',
      '  2)',
      'items = [',
      '    "!not a command",',
      ']',
      'cont = 1 + \\',
      '    2',
    );
    const r = lower(source);
    const expected = source.split('\n');
    expected[5] = `${SP}.run('echo after', shell=True, check=True)`;
    assert.equal(r.code, expected.join('\n'));
  });

  it('leaves plain Python (%, !=, ? in strings and comments) untouched and without notes', () => {
    const source = lines('r = a % b', 'if a != b: pass', 's = "what?"  # really?', "t = '%d' % 3");
    const r = lower(source);
    assert.equal(r.code, source);
    assert.deepEqual(r.diagnostics, []);
  });

  it('keeps CRLF line endings on lowered lines', () => {
    const r = lower('%matplotlib inline\r\n!ls\r\nx = 1\r\n');
    assert.equal(r.code, `\r\n${SP}.run('ls', shell=True, check=True)\r\nx = 1\r\n`);
  });

  it('escapes control characters and lone surrogates in generated string literals', () => {
    const r = lower('!echo \u0001\ud800');
    assert.equal(r.code, `${SP}.run('echo \\x01\\ud800', shell=True, check=True)`);
  });
});

describe('IPython lowering inside the analysis', () => {
  it('analyses the lowered code: shell fields are reads, pip lines leave nothing behind', async () => {
    const py = await analyzer();
    const a = py.analyzeCell(lines('!pip install pandas', '%matplotlib inline', 'out = !ls {data_dir}', 'df = load(out)'), 2);
    assert.deepEqual(readNames(a), ['__import__', 'data_dir', 'load']);
    assert.deepEqual(a.binds, ['out', 'df']);
    assert.deepEqual(a.pip, [{ specs: ['pandas'], cell: 2, line: 1 }]);
    assert.deepEqual(a.diagnostics.map((d) => `${d.code}@${d.cell}:${d.line}`), ['FB203@2:1', 'FB200@2:2', 'FB200@2:3']);
    assert.equal(lineCount(a.code), 4);
  });
});
