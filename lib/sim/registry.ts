/**
 * The lifecycle both simulators share (ibsim + OpenSM, the LNet emulator):
 * every instance is a folder `stateRoot()/<kind>/<name>` holding its
 * `state.json`; a name is taken when its folder's processes run; folders whose
 * processes are gone are stale and removed when instances are listed (a
 * temporary instance, `tmp-<pid>-<hex>`, keeps its folder while its owner
 * process lives, as it is still starting or stopping).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SimulatorError } from '../errors.js';
import { pidAlive, readState } from './process.js';

const NAME_RE = /^[A-Za-z0-9_-]{1,40}$/;

/** Root of hpcnet's runtime state (simulator folders); HPCNET_STATE_DIR overrides. */
export function stateRoot(): string {
  return process.env['HPCNET_STATE_DIR'] ?? join(tmpdir(), `hpcnet-${userInfo().uid}`);
}

export interface RegistryOptions<S> {
  /** Folder under stateRoot(). */
  kind: string;
  /** What users call one instance, with its article ("a simulator", "an LNet emulator"). */
  what: string;
  /** The CLI command that manages them ("hpcnet sim"). */
  command: string;
  /** Are the instance's processes running and serving? */
  alive(state: S): boolean;
}

/** Named instances of one simulator kind under stateRoot(). */
export class SimRegistry<S extends { name: string; dir: string }> {
  constructor(private readonly o: RegistryOptions<S>) {}

  get root(): string {
    return join(stateRoot(), this.o.kind);
  }

  private get noun(): string {
    return this.o.what.replace(/^an? /, '');
  }

  private checkName(name: string): void {
    if (!NAME_RE.test(name)) throw new SimulatorError(`invalid ${this.noun} name '${name}' (letters, digits, '-', '_')`);
  }

  /** The running instance of that name, or undefined. */
  find(name: string): S | undefined {
    this.checkName(name);
    const state = readState<S>(join(this.root, name, 'state.json'));
    return state && this.o.alive(state) ? state : undefined;
  }

  /** The running instance of that name; throws when none runs. */
  get(name: string): S {
    const s = this.find(name);
    if (!s) throw new SimulatorError(`no ${this.noun} named '${name}' is running (start one with: ${this.o.command} start --name ${name})`);
    return s;
  }

  /** A fresh, empty folder for a new instance (the name given, or a temporary one); refuses a name in use. */
  create(name: string | undefined): { name: string; dir: string } {
    const n = name ?? `tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.checkName(n);
    const dir = join(this.root, n);
    if (existsSync(join(dir, 'state.json'))) {
      if (this.find(n)) throw new SimulatorError(`${this.o.what} named '${n}' is already running (${this.o.command} stop --name ${n})`);
      rmSync(dir, { recursive: true, force: true });
    }
    mkdirSync(dir, { recursive: true });
    return { name: n, dir };
  }

  /** Write the instance's state file. */
  save(state: S): void {
    writeFileSync(join(state.dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  }

  /** The running instances; stale folders are removed. */
  list(): S[] {
    if (!existsSync(this.root)) return [];
    const out: S[] = [];
    for (const name of readdirSync(this.root)) {
      if (!NAME_RE.test(name)) continue;
      const s = this.find(name);
      if (s) out.push(s);
      else if (!name.startsWith('tmp-') || !pidAlive(Number(name.split('-')[1]))) rmSync(join(this.root, name), { recursive: true, force: true });
    }
    return out;
  }
}
