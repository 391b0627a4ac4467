// VS Code entry point: implements `Host` with the real API and wires the
// commands, the status-bar item and the stats webview to the Controller.
// Kept thin on purpose: the logic lives in the plain modules, under test.
import * as vscode from 'vscode';
import { nodeExec } from './cli';
import { Controller } from './controller';
import { Host, StatusView } from './host';

const LEAN4_EXTENSION = 'leanprover.lean4';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Lean Proxy');
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = 'leanLspProxy.showStats';
  let panel: vscode.WebviewPanel | undefined;

  const host: Host = {
    exec: nodeExec,
    setting: <T>(key: string, fallback: T) => vscode.workspace.getConfiguration('leanLspProxy').get<T>(key, fallback),
    inspectSetting: (section, key) => {
      const i = vscode.workspace.getConfiguration(section).inspect(key);
      return { globalValue: i?.globalValue, workspaceValue: i?.workspaceValue, workspaceFolderValue: i?.workspaceFolderValue };
    },
    updateUserSetting: async (section, key, value) => {
      await vscode.workspace.getConfiguration(section).update(key, value, vscode.ConfigurationTarget.Global);
    },
    storageDir: context.globalStorageUri.fsPath,
    stateGet: key => context.globalState.get(key),
    stateSet: async (key, value) => {
      await context.globalState.update(key, value);
    },
    info: (m, ...a) => Promise.resolve(vscode.window.showInformationMessage(m, ...a)),
    warn: (m, ...a) => Promise.resolve(vscode.window.showWarningMessage(m, ...a)),
    error: (m, ...a) => Promise.resolve(vscode.window.showErrorMessage(m, ...a)),
    executeCommand: (id, ...args) => Promise.resolve(vscode.commands.executeCommand(id, ...args)),
    activeDocument: () => {
      const d = vscode.window.activeTextEditor?.document;
      if (!d) return undefined;
      return { uri: d.uri.toString(), fsPath: d.uri.scheme === 'file' ? d.uri.fsPath : undefined, languageId: d.languageId };
    },
    lean4Exports: async () => {
      const ext = vscode.extensions.getExtension(LEAN4_EXTENSION);
      if (!ext) return undefined;
      try {
        return ext.isActive ? ext.exports : await ext.activate();
      } catch {
        return undefined;
      }
    },
    showText: (title, text) => {
      output.appendLine(`=== ${title} (${new Date().toLocaleString()})`);
      output.appendLine(text);
      output.show(true);
    },
    setStatus: (view: StatusView | undefined) => {
      if (!view) return status.hide();
      status.text = view.text;
      status.tooltip = view.tooltip;
      status.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
      status.show();
    },
    showStatsPage: (html, reveal) => {
      if (!panel && !reveal) return;
      if (!panel) {
        // No scripts: the page is static HTML + SVG, re-rendered on each refresh.
        panel = vscode.window.createWebviewPanel('leanLspProxy.stats', 'Lean Proxy Stats', vscode.ViewColumn.Beside, {
          enableScripts: false,
        });
        panel.onDidDispose(() => (panel = undefined), undefined, context.subscriptions);
      } else if (reveal) {
        panel.reveal(undefined, true);
      }
      panel.webview.html = html;
    },
    now: () => Date.now(),
  };

  const controller = new Controller(host);
  const register = (id: string, fn: () => Promise<unknown>) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register('leanLspProxy.showStats', () => controller.showStats());
  register('leanLspProxy.clearCache', () => controller.clearCache());
  register('leanLspProxy.enableCache', () => controller.setCacheEnabled(true));
  register('leanLspProxy.disableCache', () => controller.setCacheEnabled(false));
  register('leanLspProxy.explainCacheMiss', () => controller.explainCacheMiss());
  register('leanLspProxy.optimizeEnvironment', () => controller.optimizeEnvironment());
  register('leanLspProxy.installShims', () => controller.offerShims(false));

  // Periodic refresh; the timer is rebuilt when the interval setting changes.
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const seconds = controller.refreshSeconds();
    if (seconds > 0) timer = setInterval(() => void controller.refresh(), seconds * 1000);
    void controller.refresh();
  };
  schedule();
  context.subscriptions.push(
    output,
    status,
    { dispose: () => timer && clearInterval(timer) },
    vscode.workspace.onDidChangeConfiguration(e => {
      if (e.affectsConfiguration('leanLspProxy')) schedule();
    }),
  );

  void controller.offerShims(true);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
