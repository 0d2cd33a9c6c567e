// package.json as VS Code reads it: every menu item names a contributed command, every
// command has a title and a palette rule, settings are described, activation is lazy, and
// the engine matches the tested VS Code (1.100). The command table itself is checked
// against this list both ways inside VS Code (test/extension/suite/activation.test.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: string | boolean; description?: string } };
  contributes: {
    commands: { command: string; title: string; category?: string; enablement?: string }[];
    menus: Record<string, { command?: string; submenu?: string; when?: string }[]>;
    submenus: { id: string }[];
    views: Record<string, { id: string }[]>;
    viewsWelcome: { view: string; contents: string }[];
    configuration: { properties: Record<string, { scope?: string; markdownDescription?: string; enum?: string[]; enumDescriptions?: string[] }> };
  };
};

describe('extension manifest (package.json)', () => {
  const commands = new Set(pkg.contributes.commands.map((c) => c.command));

  it('names commands <prefix>.<verbNoun> with a title and the Flowbook category', () => {
    for (const c of pkg.contributes.commands) {
      assert.match(c.command, /^flowbook\.[a-z][A-Za-z]+$/, c.command);
      assert.ok(c.title.length > 0);
      assert.equal(c.category, 'Flowbook', c.command);
    }
  });

  it('lists every command in the palette rules, and menus name only contributed commands', () => {
    const palette = new Set((pkg.contributes.menus['commandPalette'] ?? []).map((m) => m.command));
    for (const id of commands) {
      if (id === 'flowbook.refreshRuns' || id === 'flowbook.showOutput') continue; // always available
      assert.ok(palette.has(id), `${id} has a commandPalette "when" rule`);
    }
    const submenus = new Set(pkg.contributes.submenus.map((s) => s.id));
    for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
      for (const item of items) {
        if (item.command) assert.ok(commands.has(item.command), `${menu} names ${item.command}, which is not contributed`);
        if (item.submenu) assert.ok(submenus.has(item.submenu), `${menu} names submenu ${item.submenu}`);
      }
    }
  });

  it('has the tag commands in the cell menu and the pipeline actions in the notebook toolbar', () => {
    const cellMenu = (pkg.contributes.menus['flowbook.cellTags'] ?? []).map((m) => m.command);
    for (const id of ['setStep', 'addUpstreamStep', 'removeUpstreamStep', 'markAsImports', 'markAsFunctions', 'markAsPipelineParameters', 'markAsPipelineMetrics', 'markAsSkip', 'setResources', 'setImage', 'clearTags']) {
      assert.ok(cellMenu.includes(`flowbook.${id}`), id);
    }
    const toolbar = (pkg.contributes.menus['notebook/toolbar'] ?? []).map((m) => m.command);
    assert.deepEqual(toolbar, ['flowbook.compile', 'flowbook.runLocally', 'flowbook.runOnCluster', 'flowbook.showGraph', 'flowbook.enablePipeline', 'flowbook.verifyPipeline']);
    // Run on Cluster stays enabled without a kubeconfig: it explains what is missing and offers the picker.
    const cluster = pkg.contributes.commands.find((c) => c.command === 'flowbook.runOnCluster');
    assert.equal(cluster?.enablement, undefined);
  });

  it('describes every setting, with a scope, and each choice of an enum', () => {
    const props = pkg.contributes.configuration.properties;
    for (const key of ['flowbook.pythonInterpreter', 'flowbook.runsFolder', 'flowbook.parallelism', 'flowbook.dataPassing', 'flowbook.defaultImage']) {
      assert.ok(props[key], `${key} is contributed`);
    }
    for (const [key, p] of Object.entries(props)) {
      assert.ok(p.scope, `${key} has a scope`);
      assert.ok((p.markdownDescription ?? '').length > 20, `${key} has a description`);
      if (p.enum) assert.equal(p.enumDescriptions?.length, p.enum.length, `${key} describes each choice`);
    }
  });

  it('reads every setting in one place (src/workbench/settings.ts), and nowhere else', () => {
    const reader = fs.readFileSync(path.join(ROOT, 'src', 'workbench', 'settings.ts'), 'utf8');
    for (const key of Object.keys(pkg.contributes.configuration.properties)) {
      const name = key.replace(/^flowbook\./, '');
      assert.ok(reader.includes(`'${name}'`), `${key} is read by readSettings`);
    }
    const others: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts') && !file.endsWith(path.join('workbench', 'settings.ts'))) {
          // Writing a setting (`.update`) is fine; reading one outside the snapshot is not.
          const text = fs.readFileSync(file, 'utf8');
          const holders = [...text.matchAll(/(\w+)\s*=\s*vscode\.workspace\.getConfiguration\(/g)].map((m) => m[1]);
          const reads = [/getConfiguration\([^)]*\)\s*\.(get|inspect)\b/, ...holders.map((h) => new RegExp(`\\b${h}\\.(get|inspect)\\b`))];
          if (reads.some((r) => r.test(text))) others.push(path.relative(ROOT, file));
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    assert.deepEqual(others, [], 'settings are read only through the snapshot of src/workbench/settings.ts');
  });

  it('activates lazily, declares limited trust support and targets VS Code 1.100', () => {
    assert.ok(!pkg.activationEvents.includes('*') && !pkg.activationEvents.includes('onStartupFinished'));
    assert.ok(pkg.activationEvents.includes('onNotebook:jupyter-notebook'));
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.match(pkg.capabilities.untrustedWorkspaces.description ?? '', /run/);
    assert.equal(pkg.engines.vscode, '^1.100.0');
    assert.equal(pkg.main, './dist/extension.js');
  });

  it('gives each view welcome content with a next action', () => {
    const views = Object.values(pkg.contributes.views).flat().map((v) => v.id);
    for (const id of views) {
      const welcome = pkg.contributes.viewsWelcome.filter((w) => w.view === id);
      assert.ok(welcome.length > 0, `${id} has welcome content`);
      assert.ok(welcome.every((w) => /\]\(command:/.test(w.contents)), `${id}'s welcome links to a command`);
    }
  });

  it('packages only the bundles, media and documents (.vscodeignore is an allowlist)', () => {
    const lines = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '**', 'everything is excluded first');
    for (const needed of ['!dist/*.js', '!dist/*.wasm', '!media/**', '!package.json', '!README.md']) assert.ok(lines.includes(needed), needed);
    assert.ok(!lines.some((l) => /^!(src|test|out|node_modules)/.test(l)));
  });
});
