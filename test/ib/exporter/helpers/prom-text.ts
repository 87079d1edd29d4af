/**
 * A strict parser of the Prometheus text exposition format, version 0.0.4
 * (what Prometheus scrapes from text/plain; version=0.0.4): throws on
 * anything a Prometheus server would reject or that breaks the format's
 * rules (bad names, bad escapes, bad numbers, TYPE after samples, families
 * split in two, duplicate series, duplicate label names, negative counters).
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface PromFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export class PromParseError extends Error {}

function parseValue(s: string, where: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new PromParseError(`${where}: bad value '${s}'`);
  return Number(s);
}

/** Family a sample name belongs to (histogram/summary suffixes). */
function familyOf(name: string, families: Map<string, PromFamily>): string {
  for (const suf of ['_bucket', '_count', '_sum']) {
    if (name.endsWith(suf)) {
      const base = name.slice(0, -suf.length);
      const f = families.get(base);
      if (f && (f.type === 'histogram' || f.type === 'summary')) return base;
    }
  }
  return name;
}

function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m) throw new PromParseError(`${where}: bad label name at '${text.slice(i, i + 20)}'`);
    const lname = m[0];
    if (!LABEL_NAME.test(lname)) throw new PromParseError(`${where}: bad label name '${lname}'`);
    if (lname in labels) throw new PromParseError(`${where}: label '${lname}' twice`);
    i += lname.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new PromParseError(`${where}: expected =" after label ${lname}`);
    i += 2;
    let v = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new PromParseError(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\n') throw new PromParseError(`${where}: raw newline in label value`);
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') v += '\\';
        else if (e === '"') v += '"';
        else if (e === 'n') v += '\n';
        else throw new PromParseError(`${where}: bad escape \\${e ?? ''} in label value`);
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
    labels[lname] = v;
    i++;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new PromParseError(`${where}: expected , or } after label ${lname}`);
  }
}

function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_m, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    throw new PromParseError(`${where}: bad escape \\${e} in HELP`);
  });
}

export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  if (text.length > 0 && !text.endsWith('\n')) throw new PromParseError('the exposition must end with a newline');
  const lines = text.split('\n');
  lines.pop();
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
    return f;
  };
  const enter = (name: string, where: string) => {
    if (current !== name) {
      if (finished.has(name)) throw new PromParseError(`${where}: family ${name} appears in two places`);
      if (current !== undefined) finished.add(current);
      current = name;
    }
  };
  lines.forEach((line, idx) => {
    const where = `line ${idx + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kw, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new PromParseError(`${where}: bad metric name '${name}'`);
      enter(name, where);
      const f = family(name);
      if (kw === 'HELP') {
        if (f.help !== undefined) throw new PromParseError(`${where}: second HELP for ${name}`);
        f.help = unescapeHelp(rest, where);
      } else {
        if (!TYPES.has(rest.trim())) throw new PromParseError(`${where}: bad TYPE '${rest}' for ${name}`);
        if (f.samples.length > 0) throw new PromParseError(`${where}: TYPE of ${name} after its samples`);
        if ((f as { typed?: boolean }).typed) throw new PromParseError(`${where}: second TYPE for ${name}`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest.trim() as PromFamily['type'];
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nm) throw new PromParseError(`${where}: bad sample line '${line}'`);
    const name = nm[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), where));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new PromParseError(`${where}: expected ' value [timestamp]' in '${line}'`);
    const value = parseValue(parts[0]!, where);
    const s: PromSample = { name, labels, value };
    if (parts[1] !== undefined) {
      if (!/^-?\d+$/.test(parts[1])) throw new PromParseError(`${where}: bad timestamp '${parts[1]}'`);
      s.timestamp = Number(parts[1]);
    }
    const fname = familyOf(name, families);
    enter(fname, where);
    const f = family(fname);
    if (f.type === 'counter' && (value < 0 || Number.isNaN(value))) throw new PromParseError(`${where}: counter ${name} is ${value}`);
    const key = name + JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (series.has(key)) throw new PromParseError(`${where}: duplicate series ${name}${JSON.stringify(labels)}`);
    series.add(key);
    f.samples.push(s);
  });
  return families;
}

/** The samples of one family matching some labels. */
export function samples(fams: Map<string, PromFamily>, name: string, match: Record<string, string> = {}): PromSample[] {
  return (fams.get(name)?.samples ?? []).filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The single value of a series (throws when absent or ambiguous). */
export function value(fams: Map<string, PromFamily>, name: string, match: Record<string, string> = {}): number {
  const s = samples(fams, name, match);
  if (s.length !== 1) throw new Error(`${name}${JSON.stringify(match)}: ${s.length} series, expected 1`);
  return s[0]!.value;
}
