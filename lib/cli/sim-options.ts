/** The CLI's global simulator options (--sim, --sim-name, --sim-host), taken before the command. */

export interface SimRequest {
  mode: 'temp' | 'attach';
  topology?: string;
  name?: string;
  host?: string;
}

/** Strip the leading global --sim options; returns what they asked for. */
export function extractSimOptions(argv: string[]): { sim?: SimRequest; rest: string[] } {
  const rest: string[] = [];
  let sim: SimRequest | undefined;
  let host: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--sim') sim = { mode: 'temp' };
    else if (a.startsWith('--sim=')) sim = { mode: 'temp', topology: a.slice(6) };
    else if (a === '--sim-name' || a === '--sim-host') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      if (a === '--sim-name') sim = { mode: 'attach', name: v };
      else host = v;
    } else if (a.startsWith('--sim-name=')) sim = { mode: 'attach', name: a.slice(11) };
    else if (a.startsWith('--sim-host=')) host = a.slice(11);
    else if (a.startsWith('-')) rest.push(a);
    else break;
  }
  rest.push(...argv.slice(i));
  if (host !== undefined) {
    if (!sim) throw new Error('--sim-host needs --sim or --sim-name');
    sim.host = host;
  }
  return sim ? { sim, rest } : { rest };
}
