/**
 * Kernel modules through libkmod (load with options as `modprobe -v`
 * reports, list with holders, remove in dependency order) and module
 * parameters under /sys/module/<module>/parameters read and written as text.
 */
import type { LnetNativeHandle } from '../../native/loader.js';
import { LnetError } from './errors.js';

export interface ModuleInsertion {
  name: string;
  /** The .ko path (what `modprobe -v` prints after `insmod`). */
  path: string;
  /** Options passed to the kernel for this module. */
  options: string;
  /** An install command from modprobe.d ran instead of insmod. */
  install: boolean;
  /** That install command, when `install` is true. */
  command?: string;
}

export interface LoadedModule {
  name: string;
  refcount: number;
  size: number;
  /** Modules using this one (lsmod's "Used by"). */
  holders: string[];
  /** 'builtin' | 'live' | 'coming' | 'going' | 'unknown'. */
  state: string;
}

const SAFE = /^[A-Za-z0-9_.,:/@+-]*$/;

/** `key=value` pairs as modprobe passes them; values with other characters are double-quoted (`networks="tcp0(eth1)"`). */
export function formatModuleOptions(params: Record<string, string | number | boolean> | string | undefined): string {
  if (params === undefined) return '';
  if (typeof params === 'string') return params;
  return Object.entries(params)
    .map(([k, v]) => {
      if (!/^[A-Za-z0-9_]+$/.test(k)) throw new RangeError(`invalid module parameter name '${k}'`);
      const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
      if (s.includes('"')) throw new RangeError(`module parameter ${k}: value must not contain '"'`);
      return SAFE.test(s) && s !== '' ? `${k}=${s}` : `${k}="${s}"`;
    })
    .join(' ');
}

/** The line `modprobe -v` prints for an insertion: `insmod PATH OPTIONS` (the space is there even without options), or `install COMMAND OPTIONS`. */
export function modprobeVerboseLine(i: ModuleInsertion): string {
  return i.install ? `install ${i.command ?? i.name} ${i.options}` : `insmod ${i.path} ${i.options}`;
}

const NAME = /^[A-Za-z0-9_-]+$/;
function checkName(what: string, v: string): void {
  if (!NAME.test(v)) throw new RangeError(`invalid ${what} '${v}'`);
}

function paramPath(module: string, name: string): string {
  checkName('module name', module);
  checkName('parameter name', name);
  return `/sys/module/${module}/parameters/${name}`;
}

const STATES = ['builtin', 'live', 'coming', 'going'];

export class ModuleTransport {
  constructor(
    private readonly handle: () => LnetNativeHandle,
    private readonly changed: () => void,
  ) {}

  /** Insert a module and what it depends on, with options (string or key/value pairs). Resolves with each insertion, dependencies first. */
  async load(name: string, params?: Record<string, string | number | boolean> | string, o: { dryRun?: boolean } = {}): Promise<ModuleInsertion[]> {
    checkName('module name', name);
    const options = formatModuleOptions(params);
    try {
      return await this.handle().modLoad(name, options, { dryRun: o.dryRun === true });
    } catch (e) {
      throw LnetError.fromNative(e, `modprobe ${name}`, 'kmod');
    } finally {
      if (!o.dryRun) this.changed();
    }
  }

  /** Every loaded module (/proc/modules) with refcount and holders. */
  async list(): Promise<LoadedModule[]> {
    try {
      const mods = await this.handle().modList();
      return mods.map((m) => ({ name: m.name, refcount: m.refcnt, size: m.size, holders: m.holders, state: STATES[m.initstate] ?? 'unknown' }));
    } catch (e) {
      throw LnetError.fromNative(e, 'list modules', 'kmod');
    }
  }

  /**
   * `rmmod NAME`, with rmmod's own checks first: ENOENT when not loaded,
   * EBUSY when other modules hold it or its refcount is not 0 (the kernel's
   * delete_module would answer EWOULDBLOCK). The error's `syscall` names the
   * check that refused.
   */
  async remove(name: string): Promise<void> {
    checkName('module name', name);
    try {
      await this.handle().modRemove(name);
    } catch (e) {
      throw LnetError.fromNative(e, `rmmod ${name}`, 'kmod');
    } finally {
      this.changed();
    }
  }

  /**
   * Remove `name` and everything that holds it, dependents first, as
   * lustre_rmmod's unload_dep_modules_inclusive does (based purely on the
   * holder lists). Not loaded: nothing to do. Stops at the first failure.
   * Resolves with the modules removed, in order.
   */
  async removeWithDependents(name: string): Promise<string[]> {
    const removed: string[] = [];
    const visit = async (m: string, depth: number): Promise<void> => {
      if (depth > 64) throw new RangeError('module holder chain too deep');
      const mods = await this.list();
      const me = mods.find((x) => x.name === m);
      if (!me) return;
      for (const h of me.holders) await visit(h, depth + 1);
      await this.remove(m);
      removed.push(m);
    };
    await visit(name, 0);
    return removed;
  }

  /** A parameter's text as the kernel prints it, trailing newline removed. */
  async readParam(module: string, name: string): Promise<string> {
    const raw = await this.readParamRaw(module, name);
    return raw.endsWith('\n') ? raw.slice(0, -1) : raw;
  }

  /** A parameter's exact file content. */
  async readParamRaw(module: string, name: string): Promise<string> {
    const path = paramPath(module, name);
    try {
      return await this.handle().readFile(path);
    } catch (e) {
      throw LnetError.fromNative(e, path, 'sysfs');
    }
  }

  /** Write a parameter (open O_WRONLY|O_TRUNC, one write including the NUL, as lnetctl). EINVAL when the kernel's validator refuses. */
  async writeParam(module: string, name: string, value: string | number): Promise<void> {
    const path = paramPath(module, name);
    const text = String(value);
    if (text.includes('\0')) throw new RangeError('parameter value must not contain NUL');
    try {
      await this.handle().writeFile(path, text);
    } catch (e) {
      throw LnetError.fromNative(e, path, 'sysfs');
    }
  }

  /** Names of a module's parameters. ENOENT when the module is not loaded. */
  async listParams(module: string): Promise<string[]> {
    checkName('module name', module);
    const path = `/sys/module/${module}/parameters`;
    try {
      return (await this.handle().listDir(path)).sort();
    } catch (e) {
      throw LnetError.fromNative(e, path, 'sysfs');
    }
  }
}
