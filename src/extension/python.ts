// Which Python runs the steps: the `flowbook.pythonInterpreter` setting, else the
// interpreter selected in the Python extension when it is installed, else `python3`.
// The Python extension is asked only when a run starts, never at activation.

import * as vscode from 'vscode';
import type { Ctx } from './context';

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
