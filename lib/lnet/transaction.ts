/**
 * All-or-nothing application of a list of kernel changes: run the steps in
 * order; when one fails, undo the steps already done in reverse order and
 * report exactly what is still in effect.
 */
import { HpcnetError } from '../errors.js';

/** One change to the node, as reported in import/apply results. */
export interface Change {
  op: 'add' | 'del' | 'set' | 'configure' | 'exec';
  section: 'lnet' | 'net' | 'route' | 'peer' | 'routing' | 'buffers' | 'global' | 'numa' | 'udsp' | 'discover' | 'ping';
  /** Human-readable identity, e.g. `net tcp1 NI eth0`, `global retry_count: 3`. */
  item: string;
  /** The value before a `set` (text), when known. */
  before?: string;
  /** Path of the item in the document and its line, when it came from one. */
  key?: string;
  line?: number;
}

export interface FailedChange extends Change {
  error: string;
  code: string;
}

export interface Step {
  change: Change;
  run(): Promise<void>;
  /** Reverses run(); undefined when the change cannot be undone (ping, discover). */
  undo?: () => Promise<void>;
  /** Errno codes that mean "already so": the step is skipped, not failed. */
  skipOn?: string[];
}

export interface TransactionResult {
  /** Steps that ran and are in effect at the end. */
  applied: Change[];
  /** Steps skipped because the kernel said they were already in effect (EEXIST on add). */
  skipped: Change[];
  /** The step that failed (at most one: the run stops there). */
  failed: FailedChange[];
  /** Steps that ran, then were undone after the failure. */
  rolledBack: Change[];
  /** Steps whose undo failed: still in effect. */
  rollbackFailed: FailedChange[];
}

function failure(change: Change, e: unknown): FailedChange {
  const code = e instanceof HpcnetError ? e.code : 'ERR_UNKNOWN';
  return { ...change, error: e instanceof Error ? e.message : String(e), code };
}

export async function runTransaction(steps: Step[]): Promise<TransactionResult> {
  const done: Step[] = [];
  const res: TransactionResult = { applied: [], skipped: [], failed: [], rolledBack: [], rollbackFailed: [] };
  for (const s of steps) {
    try {
      await s.run();
      done.push(s);
    } catch (e) {
      if (e instanceof HpcnetError && s.skipOn?.includes(e.code)) {
        res.skipped.push(s.change);
        continue;
      }
      res.failed.push(failure(s.change, e));
      break;
    }
  }
  if (res.failed.length === 0) {
    res.applied = done.map((s) => s.change);
    return res;
  }
  const stillInEffect: Change[] = [];
  for (const s of [...done].reverse()) {
    if (!s.undo) {
      stillInEffect.unshift(s.change);
      continue;
    }
    try {
      await s.undo();
      res.rolledBack.push(s.change);
    } catch (e) {
      res.rollbackFailed.push(failure(s.change, e));
      stillInEffect.unshift(s.change);
    }
  }
  res.applied = stillInEffect;
  return res;
}
