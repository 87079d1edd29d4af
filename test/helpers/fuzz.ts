/**
 * Seeded randomness for the fuzz tests, so every failure replays. Each fuzzer
 * has a fixed default seed (the suite is deterministic); HPCNET_FUZZ_SEED=N
 * runs every fuzzer with seed N, HPCNET_FUZZ_SEED=random with a fresh seed.
 * A failing fuzzer names its seed and the command that replays it.
 */
import { randomInt } from 'node:crypto';

/** The seed a fuzzer runs with: HPCNET_FUZZ_SEED when set, else its default. */
export function fuzzSeed(defaultSeed: number): number {
  const env = process.env['HPCNET_FUZZ_SEED'];
  if (env === undefined || env === '') return defaultSeed >>> 0;
  if (env === 'random') return randomInt(0, 2 ** 32);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`HPCNET_FUZZ_SEED: expected a whole number 0..2^32-1 or 'random', got '${env}'`);
  return n;
}

/** A deterministic PRNG (mulberry32): floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A PRNG with helpers for integers and byte buffers. */
export interface Random {
  readonly seed: number;
  next(): number;
  /** A whole number in [0, n). */
  int(n: number): number;
  bytes(n: number): Buffer;
}

export function random(seed: number): Random {
  const next = rng(seed);
  return {
    seed,
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}

function withSeed(e: unknown, seed: number): unknown {
  if (e instanceof Error) {
    const note = `fuzz seed ${seed}; replay: HPCNET_FUZZ_SEED=${seed} ./scripts/test ${process.argv[1] ?? 'FILE'}`;
    const old = e.message;
    e.message = `${old} (${note})`;
    // The reporters print the stack, which holds the message as it was when the error was made.
    if (e.stack?.includes(old)) e.stack = e.stack.replace(old, e.message);
    else e.stack = `${e.stack ?? ''}\n${note}`;
  }
  return e;
}

/** Run a fuzzer with its seed (see fuzzSeed); a failure carries the seed and the replay command. */
export function fuzzing<T>(defaultSeed: number, fn: (r: Random) => T): T {
  const seed = fuzzSeed(defaultSeed);
  let out: T;
  try {
    out = fn(random(seed));
  } catch (e) {
    throw withSeed(e, seed);
  }
  if (out instanceof Promise) {
    return out.catch((e: unknown) => {
      throw withSeed(e, seed);
    }) as T;
  }
  return out;
}
