// A scripted stand-in for VS Code behind the Host seam: records what the
// controller showed and answers prompts from a queue.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ExecFn, ExecResult } from '../src/cli';
import { ActiveDocument, Host, SettingLevels, StatusView } from '../src/host';

export interface Call {
  file: string;
  args: string[];
}

export class FakeHost implements Host {
  calls: Call[] = [];
  messages: Array<{ level: 'info' | 'warn' | 'error'; text: string; actions: string[] }> = [];
  answers: Array<string | undefined> = [];
  settings = new Map<string, unknown>();
  levels = new Map<string, SettingLevels>();
  updates: Array<{ key: string; value: unknown }> = [];
  state = new Map<string, unknown>();
  commands: string[] = [];
  texts: Array<{ title: string; text: string }> = [];
  status: StatusView | undefined;
  pages: Array<{ html: string; reveal: boolean }> = [];
  doc: ActiveDocument | undefined;
  lean4: unknown;
  clock = 1_700_000_000_000;
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llp-vscode-test-'));

  /** Answers each CLI call by its argv; unknown calls fail like the CLI's usage error. */
  responder: (args: string[]) => ExecResult = () => ({ code: 2, stdout: '', stderr: 'lean-lsp-proxy: unknown command' });

  exec: ExecFn = async (file, args) => {
    this.calls.push({ file, args });
    return this.responder(args);
  };

  setting<T>(key: string, fallback: T): T {
    return this.settings.has(key) ? (this.settings.get(key) as T) : fallback;
  }
  inspectSetting(section: string, key: string): SettingLevels {
    return this.levels.get(`${section}.${key}`) ?? {};
  }
  async updateUserSetting(section: string, key: string, value: unknown): Promise<void> {
    const k = `${section}.${key}`;
    this.updates.push({ key: k, value });
    this.levels.set(k, { ...this.levels.get(k), globalValue: value });
  }
  stateGet<T>(key: string): T | undefined {
    return this.state.get(key) as T | undefined;
  }
  async stateSet(key: string, value: unknown): Promise<void> {
    this.state.set(key, value);
  }
  private say(level: 'info' | 'warn' | 'error', text: string, actions: string[]) {
    this.messages.push({ level, text, actions });
    return Promise.resolve(actions.length ? this.answers.shift() : undefined);
  }
  info(m: string, ...a: string[]) {
    return this.say('info', m, a);
  }
  warn(m: string, ...a: string[]) {
    return this.say('warn', m, a);
  }
  error(m: string, ...a: string[]) {
    return this.say('error', m, a);
  }
  async executeCommand(id: string): Promise<unknown> {
    this.commands.push(id);
    return undefined;
  }
  activeDocument() {
    return this.doc;
  }
  async lean4Exports() {
    return this.lean4;
  }
  showText(title: string, text: string) {
    this.texts.push({ title, text });
  }
  setStatus(view: StatusView | undefined) {
    this.status = view;
  }
  showStatsPage(html: string, reveal: boolean) {
    this.pages.push({ html, reveal });
  }
  now() {
    return this.clock;
  }
  cleanup() {
    fs.rmSync(this.storageDir, { recursive: true, force: true });
  }
}
