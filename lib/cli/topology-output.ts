/**
 * Output of a fabric in any topology format for `ib discover` and
 * `ib convert`, with the Slurm format's own flags; its warnings (unnamed
 * CAs, dual-rail hosts, ...) go to stderr.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import type { FabricFormat } from '../ib/topology/formats.js';
import type { Fabric } from '../ib/topology/model.js';
import { DUAL_RAIL_RULES, toSlurmTopology, type DualRailRule, type SlurmTopologyOptions } from '../ib/topology/slurm.js';
import type { FabricSnapshot } from '../ib/topology/snapshot.js';

export interface SlurmFlags {
  hostnamePattern?: string;
  dualRail?: string;
  linkSpeed?: boolean;
}

export function withSlurmFlags(cmd: Command): Command {
  return cmd
    .option('--hostname-pattern <regex>', 'slurm: host name from the CA node description (group "host", else group 1, else the match)')
    .option('--dual-rail <rule>', `slurm: a host on several leaves goes under ${DUAL_RAIL_RULES.join(' or ')} (first: the leaf of its first port)`)
    .option('--link-speed', 'slurm: write LinkSpeed= (nominal Gb/s)');
}

/** Check the Slurm flags against the format (before any work is done): the options for toSlurmTopology. */
export function slurmOptions(format: FabricFormat, o: SlurmFlags): SlurmTopologyOptions {
  if (format !== 'slurm') {
    const flag = o.hostnamePattern !== undefined ? '--hostname-pattern' : o.dualRail !== undefined ? '--dual-rail' : o.linkSpeed ? '--link-speed' : undefined;
    if (flag) throw new InvalidArgumentError(`${flag} applies to --format slurm only`);
    return {};
  }
  if (o.dualRail !== undefined && !DUAL_RAIL_RULES.includes(o.dualRail as DualRailRule)) {
    throw new InvalidArgumentError(`--dual-rail: expected one of ${DUAL_RAIL_RULES.join(', ')}, got '${o.dualRail}'`);
  }
  let hostnamePattern: RegExp | undefined;
  try {
    if (o.hostnamePattern !== undefined) hostnamePattern = new RegExp(o.hostnamePattern);
  } catch (e) {
    throw new InvalidArgumentError(`--hostname-pattern: invalid regular expression '${o.hostnamePattern}': ${(e as Error).message}`);
  }
  return {
    ...(hostnamePattern ? { hostnamePattern } : {}),
    ...(o.dualRail !== undefined ? { dualRail: o.dualRail as DualRailRule } : {}),
    ...(o.linkSpeed ? { linkSpeed: true } : {}),
  };
}

/** The text of `f` in `format`; the Slurm format's warnings are written to stderr. */
export async function renderTopology(f: Fabric | FabricSnapshot, format: FabricFormat, o: SlurmFlags): Promise<string> {
  const opts = slurmOptions(format, o);
  // The writers load when output is made (a command's --help does not need them).
  if (format !== 'slurm') return (await import('../ib/topology/index.js')).writeFabric(f, format);
  const r = toSlurmTopology('fabric' in f ? f.fabric : f, opts);
  for (const w of r.warnings) process.stderr.write(`hpcnet: slurm: ${w.message}\n`);
  return r.text;
}
