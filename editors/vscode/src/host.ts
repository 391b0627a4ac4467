// The one seam between the extension's logic and VS Code: everything the
// controller needs from the editor, as a small interface. extension.ts
// implements it with the real `vscode` module; the unit tests with a fake.
import { ExecFn } from './cli';

export interface SettingLevels {
  globalValue?: unknown; // user settings
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export interface ActiveDocument {
  uri: string; // as VS Code prints it (file:///…)
  fsPath?: string; // for file: URIs
  languageId: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  warning?: boolean;
}

export interface Host {
  /** Spawns the CLI (argv only). */
  exec: ExecFn;
  /** A `leanLspProxy.*` setting. */
  setting<T>(key: string, fallback: T): T;
  /** Each level of another extension's setting, e.g. ('lean4', 'envPathExtensions'). */
  inspectSetting(section: string, key: string): SettingLevels;
  /** Writes a setting at the user level (never into a workspace). */
  updateUserSetting(section: string, key: string, value: unknown): Promise<void>;
  /** The extension's global storage directory (may not exist yet). */
  storageDir: string;
  stateGet<T>(key: string): T | undefined;
  stateSet(key: string, value: unknown): Promise<void>;
  info(message: string, ...actions: string[]): Promise<string | undefined>;
  warn(message: string, ...actions: string[]): Promise<string | undefined>;
  error(message: string, ...actions: string[]): Promise<string | undefined>;
  executeCommand(id: string, ...args: unknown[]): Promise<unknown>;
  activeDocument(): ActiveDocument | undefined;
  /** vscode-lean4's exports (activating it), or undefined when it is not installed. */
  lean4Exports(): Promise<unknown>;
  /** Shows a plain-text report (an output channel). */
  showText(title: string, text: string): void;
  setStatus(view: StatusView | undefined): void;
  /** Renders the stats page; `reveal` opens it, otherwise only an open page is updated. */
  showStatsPage(html: string, reveal: boolean): void;
  now(): number;
}
