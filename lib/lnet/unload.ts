/**
 * The unload policy of the LNet facade: the rules of the Lustre wiki page on
 * starting and stopping LNet, and the module order of lustre_rmmod.
 */
import type { LnetBackend } from './backend.js';
import { LnetRefusedError, isErrno, withHint } from './errors.js';
import { formatDevice, type LoadedModule, type RouteInfo } from './types.js';

/** Modules of the LNet stack itself (their holders above obdclass are Lustre). */
const LNET_STACK = new Set(['libcfs', 'lnet', 'lnet_selftest', 'ksocklnd', 'ko2iblnd', 'kkfilnd', 'kgnilnd', 'kefalnd', 'klolnd']);

export interface UnloadOptions {
  /** Also unconfigure LNet when it was configured standalone (it may be routing for other nodes). */
  unconfigure?: boolean;
}

export interface UnloadResult {
  /** Modules removed, in order (dependents first). */
  removed: string[];
  unconfigured: boolean;
  msg: string;
}

/** What the policy needs from the facade. */
export interface UnloadHost {
  readonly backend: LnetBackend;
  call<T>(op: string, fn: () => Promise<T>, extra?: string): Promise<T>;
  unconfigure(): Promise<void>;
}

export class UnloadPolicy {
  constructor(private readonly host: UnloadHost) {}

  /**
   * Unload the LNet (and Lustre) modules, following the wiki page on starting
   * and stopping LNet and lustre_rmmod:
   * - Lustre devices up (a mounted MGS, OST or client): refuse, listing them.
   * - LNet configured standalone (no Lustre module holds it): refuse unless
   *   `unconfigure` is given, because such a node may be routing.
   * - LNet brought up by Lustre with nothing mounted: unload the whole stack.
   * Modules are removed dependents first.
   */
  async unload(opts: UnloadOptions = {}): Promise<UnloadResult> {
    let mods = await this.host.call('unload', () => this.host.backend.modules());
    const loaded = (): string[] => mods.filter((m) => m.name === 'libcfs' || m.name === 'lnet' || lustreModules(mods).includes(m.name) || LNET_STACK.has(m.name)).map((m) => m.name);
    if (!mods.some((m) => m.name === 'lnet' || m.name === 'libcfs')) return { removed: [], unconfigured: false, msg: 'LNet is not loaded: nothing to unload' };
    const devices = await this.host.backend.lustreDevices();
    if (devices.length > 0) {
      const l = loaded();
      throw new LnetRefusedError(
        'ERR_LNET_BUSY',
        `cannot unload: ${devices.length} Lustre device${devices.length === 1 ? ' is' : 's are'} up and hold the modules:\n` +
          devices.map(formatDevice).join('\n') +
          `\nModules still loaded: ${l.join(' ')}\n` +
          'Unmount the Lustre file systems and targets on this node (umount -a -t lustre), then unload again.',
        { devices: devices.map(formatDevice), modulesLoaded: l },
      );
    }
    const removed: string[] = [];
    let unconfigured = false;
    const isUp = async (): Promise<boolean> => {
      try {
        await this.host.backend.nets(0);
        return true;
      } catch (e) {
        if (isErrno(e, 'ENETDOWN', 'ESHUTDOWN', 'ENODEV')) return false;
        throw withHint(e, 'unload');
      }
    };
    const refresh = async (): Promise<void> => {
      mods = await this.host.backend.modules();
    };
    const removeInclusive = async (name: string, chain: string[] = []): Promise<void> => {
      await refresh();
      const m = mods.find((x) => x.name === name);
      if (!m) return;
      for (const h of m.holders) if (!chain.includes(h)) await removeInclusive(h, [...chain, name]);
      try {
        await this.host.backend.removeModule(name);
        removed.push(name);
      } catch (e) {
        await refresh().catch(() => undefined);
        const cur = mods.find((x) => x.name === name);
        throw new LnetRefusedError(
          'ERR_LNET_BUSY',
          `cannot unload: rmmod ${name} failed: ${e instanceof Error ? e.message : String(e)}` +
            (cur ? ` (refcount ${cur.refcount}${cur.holders.length ? `, used by ${cur.holders.join(', ')}` : ''})` : '') +
            (removed.length ? `\nAlready removed: ${removed.join(' ')}` : '') +
            `\nModules still loaded: ${loaded().join(' ')}`,
          { modulesLoaded: loaded() },
        );
      }
    };
    const lustre = lustreModules(mods);
    const up = await isUp();
    if (up && lustre.length === 0 && !opts.unconfigure) {
      const routing = await this.host.backend.routing().catch(() => undefined);
      const routes = await this.host.backend.routes(0).catch(() => [] as RouteInfo[]);
      throw new LnetRefusedError(
        'ERR_LNET_STANDALONE',
        'cannot unload: LNet was configured standalone (lctl network up / lnetctl lnet configure), not by Lustre, ' +
          `so this node may be routing for others (routing ${routing?.enabled ? 'enabled' : 'disabled'}, ${routes.length} route${routes.length === 1 ? '' : 's'}).\n` +
          `Modules still loaded: ${loaded().join(' ')}\n` +
          "Unconfigure it first ('hpcnet lnet unconfigure' or 'lctl network down'), or unload with unconfigure ('hpcnet lnet unload --unconfigure').",
        { modulesLoaded: loaded() },
      );
    }
    // Lustre first: everything above obdclass, dependents first (lustre_rmmod's ptlrpc step).
    if (lustre.length > 0) {
      for (const top of ['obdclass']) await removeInclusive(top);
      for (const l of lustreModules(mods)) await removeInclusive(l);
    }
    if (await isUp()) {
      if (!opts.unconfigure && lustre.length > 0) {
        throw new LnetRefusedError(
          'ERR_LNET_STANDALONE',
          `Lustre modules were removed (${removed.join(' ')}), but LNet stays up: it was also configured standalone and may be routing.\n` +
            `Modules still loaded: ${loaded().join(' ')}\n` +
            "Unconfigure it ('hpcnet lnet unconfigure') or unload with unconfigure ('hpcnet lnet unload --unconfigure').",
          { modulesLoaded: loaded() },
        );
      }
      await this.host.unconfigure();
      unconfigured = true;
    }
    await removeInclusive('lnet');
    await removeInclusive('libcfs');
    await refresh();
    return {
      removed,
      unconfigured,
      msg: `unloaded ${removed.join(' ') || 'nothing'}${unconfigured ? ' (LNet unconfigured first)' : ''}`,
    };
  }
}

/** Loaded modules that belong to Lustre above LNet (obdclass and everything using it). */
export function lustreModules(mods: LoadedModule[]): string[] {
  const names = new Set(mods.map((m) => m.name));
  if (!names.has('obdclass')) return [];
  const out = new Set<string>(['obdclass']);
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of mods) if (out.has(m.name)) for (const h of m.holders) if (!out.has(h) && !LNET_STACK.has(h)) {
      out.add(h);
      grew = true;
    }
  }
  return [...out];
}
