// Activation: lazy (nothing heavy loaded), fast (the time is printed), and the command table
// matches package.json both ways.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './helpers';
import { recordMetric } from './metrics';
import type { FlowbookApi } from '../../../src/extension/extension';

interface Manifest {
  activationEvents: string[];
  contributes: { commands: { command: string; title: string; category?: string }[] };
}

describe('activation', () => {
  let manifest: Manifest;
  let api: FlowbookApi;

  before(() => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is loaded in the extension host`);
    manifest = ext.packageJSON as Manifest;
  });

  it('is not active before a notebook, view or command needs it, and activates on demand', async () => {
    const ext = vscode.extensions.getExtension<FlowbookApi>(EXTENSION_ID);
    assert.ok(ext);
    assert.equal(ext.isActive, false, 'activation is lazy: nothing in the empty workbench triggers it');
    assert.ok(!manifest.activationEvents.includes('*'), 'no "*" activation');
    const started = performance.now();
    api = await ext.activate();
    const total = performance.now() - started;
    assert.equal(typeof api.activationMs, 'number');
    recordMetric('activation: activate()', `${api.activationMs.toFixed(1)} ms`);
    recordMetric('activation: load + activate, as seen by the caller', `${total.toFixed(1)} ms`);
    console.log(`activation: activate() ${api.activationMs.toFixed(1)} ms, load + activate ${total.toFixed(1)} ms`);
  });

  it('loads neither the compiler, the grammar nor the runner at activation', () => {
    const dist = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist');
    const loaded = Object.keys(require.cache).filter((k) => k.startsWith(dist));
    assert.ok(loaded.some((k) => k.endsWith('extension.js')), `the bundle is loaded from dist/: ${loaded.join(', ')}`);
    assert.deepEqual(loaded.filter((k) => k.endsWith('.chunk.js')), [], 'no lazy chunk is loaded yet');
    assert.ok(fs.existsSync(path.join(dist, 'core.chunk.js')), 'the compiler chunk exists (to be loaded on first use)');
  });

  it('registers every contributed command, and contributes every registered one', async () => {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    const registered = [...api.commands].sort();
    assert.deepEqual(registered, contributed, 'the command table and package.json name the same commands');
    const all = new Set(await vscode.commands.getCommands(true));
    for (const id of contributed) assert.ok(all.has(id), `${id} is registered with VS Code`);
    // View commands VS Code derives (flowbook.runs.focus ...) have a second dot.
    const ours = [...all].filter((id) => /^flowbook\.[A-Za-z]+$/.test(id));
    for (const id of ours) assert.ok(contributed.includes(id), `${id} is registered but not contributed in package.json`);
    for (const c of manifest.contributes.commands) assert.equal(c.category, 'Flowbook', `${c.command} has the Flowbook category`);
  });
});
