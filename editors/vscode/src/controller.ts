// What the extension does, independent of the VS Code API (which it reaches
// only through `Host`): the palette commands, the status-bar refresh and the
// shim set-up offered on activation.
import * as fs from 'fs';
import * as path from 'path';
import { addSample, Sample } from './chart';
import { CliOutcome, runCli } from './cli';
import { Host } from './host';
import { explainOnClient, findClientProvider, formatExplain, pickClient } from './lean4Api';
import { addPathExtension, hasPathExtension } from './pathExtensions';
import { parseStats, Stats, statusText } from './stats';
import { renderStatsPage } from './statsView';

export const DECLINED_KEY = 'shims.declined';
const LEAN4_WAIT_MS = 3000;

export class Controller {
  private history: Sample[] = [];
  private stats: Stats | undefined;
  private statsError: string | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly host: Host) {}

  /** The CLI executable; a blank setting means the default name on PATH. */
  executable(): string {
    const p = this.host.setting<string>('path', 'lean-lsp-proxy');
    return typeof p === 'string' && p.trim() !== '' ? p.trim() : 'lean-lsp-proxy';
  }

  /** Seconds between status-bar refreshes; 0 = no item. Clamped so a typo cannot spin. */
  refreshSeconds(): number {
    const s = this.host.setting<number>('statusBar.refreshSeconds', 15);
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) return 0;
    return Math.max(2, s);
  }

  shimDir(): string {
    return path.join(this.host.storageDir, 'shims');
  }

  private cli(args: string[], timeoutMs?: number): Promise<CliOutcome> {
    return runCli(this.host.exec, this.executable(), args, timeoutMs);
  }

  // ---- stats, status bar, stats page -------------------------------------

  /** Re-reads the stats; concurrent callers share one CLI run. */
  refresh(): Promise<void> {
    if (!this.refreshing)
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const r = await this.cli(['stats', '--json']);
    const stats = r.kind === 'ok' ? parseStats(r.stdout) : undefined;
    if (stats) {
      this.stats = stats;
      this.statsError = undefined;
      const hitRate = typeof stats.cache.hit_rate === 'number' ? stats.cache.hit_rate : 0;
      const savedMs = typeof stats.cache.elaboration_ms_saved === 'number' ? stats.cache.elaboration_ms_saved : 0;
      this.history = addSample(this.history, { t: this.host.now(), hitRate, savedMs });
    } else {
      // Old numbers would look live; drop them with the error.
      this.stats = undefined;
      this.statsError = r.kind === 'ok' ? 'lean-lsp-proxy printed stats this extension cannot read.' : r.message;
    }
    this.updateStatus(r.kind);
    this.host.showStatsPage(this.page(), false);
  }

  private updateStatus(kind: CliOutcome['kind']): void {
    if (this.refreshSeconds() === 0) return this.host.setStatus(undefined);
    if (this.stats) return this.host.setStatus(statusText(this.stats));
    const idle = kind === 'no-daemon';
    this.host.setStatus({
      text: idle ? '$(database) Lean cache: idle' : '$(warning) Lean proxy',
      tooltip: this.statsError ?? '',
      warning: !idle,
    });
  }

  private page(): string {
    return renderStatsPage({
      stats: this.stats,
      error: this.statsError,
      samples: this.history,
      updated: new Date(this.host.now()),
    });
  }

  async showStats(): Promise<void> {
    await this.refresh();
    this.host.showStatsPage(this.page(), true);
  }

  // ---- cache commands ----------------------------------------------------

  async clearCache(): Promise<void> {
    const r = await this.cli(['cache', 'clear']);
    if (r.kind === 'ok') await this.host.info(r.stdout.trim() || 'Cache cleared.');
    else await this.host.error(r.message);
    await this.refresh();
  }

  async setCacheEnabled(enabled: boolean): Promise<void> {
    const r = await this.cli(['cache', enabled ? 'enable' : 'disable']);
    if (r.kind === 'ok') await this.host.info(r.stdout.trim() || `Cache ${enabled ? 'enabled' : 'disabled'}.`);
    else if (r.kind === 'unsupported')
      await this.host.warn(
        `${enabled ? 'Enabling' : 'Disabling'} the cache is not available yet: this lean-lsp-proxy has no 'cache ${enabled ? 'enable' : 'disable'}' command.`,
      );
    else await this.host.error(r.message);
  }

  /**
   * `env optimize --root <the active file's folder>`: the CLI finds the Lake
   * workspace above it, runs `lake exe cache get` (Mathlib) and `lake build`
   * in the daemon, and the daemon re-warms its spare servers.
   */
  async optimizeEnvironment(): Promise<void> {
    const doc = this.host.activeDocument();
    if (!doc || doc.languageId !== 'lean4' || !doc.fsPath) {
      await this.host.warn('Optimize Environment works on a Lean project: open one of its files and run the command from its editor.');
      return;
    }
    const folder = doc.fsPath.replace(/[\\/][^\\/]*$/, '') || '/';
    await this.host.info(`Optimizing the Lean environment of ${folder} (lake build)…`);
    // A build may take long (Mathlib's cache download, a project build): an hour at most.
    const r = await this.cli(['env', 'optimize', '--root', folder, '--json'], 3600 * 1000);
    let result: { ok?: boolean; durationMs?: number; error?: string; lastLines?: string[] } | undefined;
    if (r.kind === 'ok' || r.kind === 'failed') {
      try {
        result = JSON.parse(r.stdout);
      } catch {
        result = undefined;
      }
    }
    if (result && result.ok) {
      await this.host.info(`Environment optimized in ${((result.durationMs ?? 0) / 1000).toFixed(1)} s.`);
    } else if (result) {
      const last = (result.lastLines ?? []).slice(-3).join('\n');
      await this.host.error(`Environment optimization failed: ${result.error ?? 'lake failed'}${last ? '\n' + last : ''}`);
    } else if (r.kind === 'unsupported') {
      await this.host.warn("Optimize Environment is not available: this lean-lsp-proxy has no 'env optimize' command.");
    } else {
      await this.host.error(r.kind === 'ok' ? 'lean-lsp-proxy printed a result this extension cannot read.' : r.message);
    }
    await this.refresh();
  }

  /**
   * Asks the daemon through `cache explain FILE --json`; a CLI without that
   * command (older builds) falls back to sending `leanProxy.cache.explain` on
   * vscode-lean4's own client for the file.
   */
  async explainCacheMiss(): Promise<void> {
    const doc = this.host.activeDocument();
    if (!doc || doc.languageId !== 'lean4') {
      await this.host.warn('Explain Cache Miss works on a Lean file: open one and run the command from its editor.');
      return;
    }
    if (doc.fsPath) {
      const r = await this.cli(['cache', 'explain', doc.fsPath, '--json']);
      if (r.kind === 'ok') {
        let result: unknown;
        try {
          result = JSON.parse(r.stdout);
        } catch {
          result = r.stdout.trim();
        }
        this.host.showText('Lean Proxy: Explain Cache Miss', formatExplain(doc.uri, result));
        return;
      }
      if (r.kind !== 'unsupported') {
        await this.host.warn(r.message);
        return;
      }
    }
    await this.explainThroughLean4(doc.uri, doc.fsPath);
  }

  private async explainThroughLean4(uri: string, fsPath: string | undefined): Promise<void> {
    const lookup = await findClientProvider(await this.host.lean4Exports(), LEAN4_WAIT_MS);
    if (!lookup.ok) {
      await this.host.warn(lookup.message);
      return;
    }
    const client = pickClient(lookup.provider, fsPath);
    if (!client) {
      await this.host.warn('No Lean server is running for this file.');
      return;
    }
    const r = await explainOnClient(client, uri);
    if (r.ok) this.host.showText('Lean Proxy: Explain Cache Miss', formatExplain(uri, r.result));
    else await this.host.warn(r.message);
  }

  // ---- shims ---------------------------------------------------------------

  shimsPresent(): boolean {
    const dir = this.shimDir();
    return ['lake', 'lean'].every(n => fs.existsSync(path.join(dir, n)));
  }

  isSetUp(): boolean {
    return this.shimsPresent() && hasPathExtension(this.host.inspectSetting('lean4', 'envPathExtensions').globalValue, this.shimDir());
  }

  /**
   * On activation (`fromActivation`) asks once, unless declined for good or
   * already set up; from the palette always runs.
   */
  async offerShims(fromActivation: boolean): Promise<void> {
    if (fromActivation && (this.host.stateGet<boolean>(DECLINED_KEY) || this.isSetUp())) return;
    if (!fromActivation && this.isSetUp()) {
      await this.host.info(`Lean servers already go through lean-lsp-proxy (shims in ${this.shimDir()}).`);
      return;
    }
    const install = 'Install Shims';
    const never = "Don't Ask Again";
    const choice = await this.host.info(
      `Route the Lean servers of vscode-lean4 through lean-lsp-proxy (caching)? This installs 'lake' and 'lean' shims into ${this.shimDir()} and adds that directory to "lean4.envPathExtensions" in your user settings.`,
      install,
      'Not Now',
      ...(fromActivation ? [never] : []),
    );
    if (choice === never) await this.host.stateSet(DECLINED_KEY, true);
    if (choice === install) await this.installShims();
  }

  /** Installs the shims, then the setting; returns whether both are in place. */
  async installShims(): Promise<boolean> {
    const dir = this.shimDir();
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      await this.host.error(`Cannot create ${dir}: ${String(e)}`);
      return false;
    }
    const r = await this.cli(['shims', 'install', dir]);
    if (r.kind === 'unsupported') {
      await this.host.warn("Installing shims is not available yet: this lean-lsp-proxy has no 'shims install' command. Update lean-lsp-proxy and run \"Lean Proxy: Route Lean Servers Through the Proxy\" again.");
      return false;
    }
    if (r.kind !== 'ok') {
      await this.host.error(r.message);
      return false;
    }
    // Trust the files, not only the exit code: a PATH entry without shims would silently do nothing.
    if (!this.shimsPresent()) {
      await this.host.error(`lean-lsp-proxy reported success but ${dir} has no 'lake' and 'lean' shims.`);
      return false;
    }
    const levels = this.host.inspectSetting('lean4', 'envPathExtensions');
    const merged = addPathExtension(levels.globalValue, dir);
    if (merged.malformed) {
      await this.host.error(`"lean4.envPathExtensions" in your user settings is not a list; add "${dir}" to it by hand.`);
      return false;
    }
    if (merged.changed) await this.host.updateUserSetting('lean4', 'envPathExtensions', merged.value);
    // A workspace value replaces the user one entirely, so the shims would not be seen there.
    for (const v of [levels.workspaceValue, levels.workspaceFolderValue])
      if (v !== undefined && !hasPathExtension(v, dir))
        await this.host.warn(`This workspace sets its own "lean4.envPathExtensions", which hides the user-level one: add "${dir}" to it to use the proxy here.`);
    const restart = 'Restart Lean Server';
    const choice = await this.host.info('lean-lsp-proxy shims installed. Lean servers started from now on go through the proxy.', restart);
    if (choice === restart) await this.host.executeCommand('lean4.restartServer');
    return true;
  }
}
