// Which Python runs the steps: the `flowbook.pythonInterpreter` setting, else the
// interpreter selected in the Python extension when it is installed, else `python3`.
// The Python extension is asked only when a run starts, never at activation.

import * as vscode from 'vscode';
import type { Ctx } from '../workbench/context';
import type { MissingModules } from '../runner/python';
import { settingsTarget } from '../workbench/settings';

/** What the runner's preflight records when the interpreter lacks packages the notebook imports. */
export type MissingPackages = MissingModules;

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { path?: string } | undefined;
  };
}

export async function pythonInterpreter(ctx: Ctx, resource: vscode.Uri): Promise<string> {
  const configured = ctx.settingsFor(resource).pythonInterpreter;
  if (configured) {
    const folder = vscode.workspace.getWorkspaceFolder(resource) ?? vscode.workspace.workspaceFolders?.[0];
    return folder ? configured.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath) : configured;
  }
  const extension = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (extension) {
    try {
      const api = extension.isActive ? extension.exports : await extension.activate();
      const env = api.environments?.getActiveEnvironmentPath?.(resource);
      if (env?.path) return env.path;
    } catch (err) {
      ctx.log.warn('cannot ask the Python extension for the selected interpreter', String(err));
    }
  }
  return 'python3';
}

/**
 * Select Python Interpreter for Steps…: the Python extension's picker when it is installed and
 * the setting does not override it; otherwise a file picker whose choice goes into the
 * setting `flowbook.pythonInterpreter` (workspace when a folder is open). Returns the
 * interpreter runs will use now.
 */
export async function selectInterpreter(ctx: Ctx, resource: vscode.Uri | undefined, file?: vscode.Uri): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('flowbook', resource);
  if (!file && !ctx.settings.pythonInterpreter && vscode.extensions.getExtension('ms-python.python')) {
    await vscode.commands.executeCommand('python.setInterpreter');
    return resource ? pythonInterpreter(ctx, resource) : undefined;
  }
  const picked = file ?? (await vscode.window.showOpenDialog({
    title: 'Python Interpreter for Pipeline Steps (flowbook.pythonInterpreter)', openLabel: 'Use This Interpreter', canSelectMany: false,
    defaultUri: vscode.Uri.file('/usr/bin'),
  }))?.[0];
  if (!picked) return undefined;
  await config.update('pythonInterpreter', picked.fsPath, settingsTarget());
  ctx.log.info(`flowbook.pythonInterpreter set to ${picked.fsPath}`);
  return picked.fsPath;
}

/** The message for missing packages, naming the setting (not the CLI flag). */
export function missingPackagesMessage(m: MissingPackages): string {
  const n = m.modules.length;
  return `${n === 1 ? 'A Python package is' : `${n} Python packages are`} missing for ${m.python}: ${m.modules.join(', ')}. Install ${n === 1 ? 'it' : 'them'} with "${m.install}", or choose another interpreter (setting "flowbook.pythonInterpreter").`;
}
