/**
 * `hpcnet lnet ...` (lnetctl's verbs) and `hpcnet lctl network|list_nids|ping`
 * (lctl's), printing what those tools print; `--json` everywhere. The native
 * backend is used; under `hpcnet sim lnet exec` it reaches the emulator.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { HpcnetError, InvalidArgumentError } from '../errors.js';
import { openLnet } from '../lnet/default-backend.js';
import { errnoOf, strerror } from '../lnet/errors.js';
import type { LNet } from '../lnet/facade.js';
import { emit, globalDoc, netsDoc, peerListDoc, peersDoc, pingDoc, routesDoc, routingDoc, statsDoc } from '../lnet/format.js';
import { GLOBAL_DEFS, globalDef } from '../lnet/globals.js';
import { NetId, splitNidList } from '../lnet/nid.js';
import { registerLnetFeatures } from './lnet-features.js';
import { EXIT_FAILED, action, fail, printJson } from './util.js';

type JsonOpt = { json?: boolean };

let lnetFactory: () => LNet = () => openLnet();

/** For tests and embedding: the LNet the commands use. */
export function setCliLnet(factory: () => LNet): void {
  lnetFactory = factory;
}

function out(s: string): void {
  process.stdout.write(s);
}

function parseVerbose(v: string | boolean | undefined): number {
  if (v === undefined || v === false) return 0;
  if (v === true) return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 4) throw new InvalidArgumentError(`-v: level must be 0-4, got '${v}'`);
  return n;
}

function intArg(name: string, v: string, min = -Infinity): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || n < min) throw new InvalidArgumentError(`${name}: expected a whole number${min > -Infinity ? ` >= ${min}` : ''}, got '${v}'`);
  return n;
}

function cptList(v: string): number[] {
  const m = /^\s*\[?([\d\s,-]*)\]?\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError(`--cpt: expected a list such as [0,1], got '${v}'`);
  const outl: number[] = [];
  for (const p of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!r) throw new InvalidArgumentError(`--cpt: bad element '${p}' in '${v}'`);
    for (let i = Number(r[1]); i <= Number(r[2] ?? r[1]); i++) outl.push(i);
  }
  return outl;
}

function readDoc(file: string): string {
  return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
}

const verboseOpt = (): Option => new Option('-v, --verbose [level]', 'detail level 0-4 (as lnetctl -v N)');

export function registerLnet(program: Command): void {
  registerLnetctl(program);
  registerLnetFeatures(program.commands.find((c) => c.name() === 'lnet')!, () => lnetFactory());
  registerLctl(program);
}

function registerLnetctl(program: Command): void {
  const lnet = program.command('lnet').description('LNet control (lnetctl verbs): nets, routes, peers, globals, YAML import/export/apply, safe unload');
  addNetworkCommand(lnet.command('network'));

  lnet
    .command('status')
    .description('modules loaded, LNet up or down, who configured it, release and transport, NIDs, Lustre devices')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        const s = await lnetFactory().status();
        if (o.json) return printJson(s);
        out(
          `release: ${s.release ?? 'unknown (lnet not loaded)'}, transport: ${s.transport}\n` +
            `modules: ${[s.modules.libcfs ? 'libcfs' : '', s.modules.lnet ? 'lnet' : '', ...s.modules.lnds].filter(Boolean).join(' ') || 'none'}\n` +
            `lustre modules: ${s.modules.lustre.join(' ') || 'none'}\n` +
            `state: ${s.state}${s.state === 'up' ? `, configured by ${s.configuredBy}` : ''}\n` +
            `nids: ${s.nids.join(' ') || 'none'}\n` +
            `devices: ${s.devices.length === 0 ? 'none' : '\n' + s.devices.map((d) => `${String(d.index).padStart(3)} ${d.status} ${d.type} ${d.name} ${d.uuid} ${d.refcount}`).join('\n')}\n`,
        );
      }),
    );

  lnet
    .command('load')
    .description('load lnet and libcfs (modprobe -v lnet [networks=...]); prints each insmod')
    .option('--networks <spec>', 'networks= module parameter, e.g. "tcp0(eth1)"')
    .option('--param <key=value>', 'other lnet module parameter (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--module <name>', 'load this module instead of lnet (e.g. lustre, ksocklnd)')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { networks?: string; param?: string[]; module?: string }) => {
        const params: Record<string, string> = {};
        for (const p of o.param ?? []) {
          const i = p.indexOf('=');
          if (i <= 0) throw new InvalidArgumentError(`--param: expected key=value, got '${p}'`);
          params[p.slice(0, i)] = p.slice(i + 1);
        }
        const ins = await lnetFactory().load({ ...(o.networks !== undefined ? { networks: o.networks } : {}), params, ...(o.module ? { module: o.module } : {}) });
        if (o.json) return printJson(ins);
        for (const m of ins) out(`insmod ${m.path}${m.params ? ' ' + m.params : ''} \n`);
      }),
    );

  lnet
    .command('unload')
    .description('unload LNet (and idle Lustre) modules, dependents first, as lustre_rmmod; refuses while Lustre devices are up or LNet was configured standalone')
    .option('--unconfigure', 'also unconfigure a standalone-configured LNet (it may be routing)')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { unconfigure?: boolean }) => {
        const r = await lnetFactory().unload({ unconfigure: !!o.unconfigure });
        if (o.json) return printJson(r);
        out(r.msg + '\n');
      }),
    );

  lnet
    .command('configure')
    .description('bring LNet up (lnetctl lnet configure [--all])')
    .option('--all', 'also bring up the nets of the module parameters')
    .option('--large', 'use large (IPv6) NIDs for module-parameter NIs (netlink, 2.16+)')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { all?: boolean; large?: boolean }) => {
        await lnetFactory().configure({ all: !!o.all, large: !!o.large });
        if (o.json) printJson({ configured: true });
      }),
    );

  lnet
    .command('unconfigure')
    .description('take LNet down (lnetctl lnet unconfigure); fails while Lustre holds it')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        await lnetFactory().unconfigure();
        if (o.json) printJson({ unconfigured: true });
      }),
    );

  lnet
    .command('list-nids')
    .description('local NIDs (lctl list_nids [all])')
    .argument('[all]', "'all' to include 0@lo")
    .option('--json', 'JSON output')
    .action(
      action(async (all: string | undefined, o: JsonOpt) => {
        if (all !== undefined && all !== 'all') throw new InvalidArgumentError(`list-nids: expected 'all', got '${all}'`);
        const nids = await lnetFactory().listNids({ all: all === 'all' });
        if (o.json) return printJson(nids);
        for (const n of nids) out(n + '\n');
      }),
    );

  // --- net ---
  const net = lnet.command('net').description('local nets and NIs');
  net
    .command('add')
    .description('add a net / NI (lnetctl net add)')
    .requiredOption('--net <net>', 'net, e.g. tcp1 or o2ib')
    .option('--if <interfaces>', 'interfaces, comma-separated (one NI each)')
    .option('--nid <nid>', 'bring the NI up by NID instead of interface')
    .option('--peer-timeout <s>')
    .option('--peer-credits <n>')
    .option('--peer-buffer-credits <n>')
    .option('--credits <n>')
    .option('--cpt <list>', 'CPTs, e.g. [0,1]')
    .option('--conns-per-peer <n>')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & Record<string, string | undefined>) => {
        const tun: Record<string, number> = {};
        for (const [opt, key] of [['peerTimeout', 'peer_timeout'], ['peerCredits', 'peer_credits'], ['peerBufferCredits', 'peer_buffer_credits'], ['credits', 'credits']] as const) {
          if (o[opt] !== undefined) tun[key] = intArg(`--${key.replace(/_/g, '-')}`, o[opt]!, -1);
        }
        await lnetFactory().nets.add({
          net: o['net']!,
          ...(o['if'] ? { interfaces: o['if'].split(',').map((x) => x.trim()).filter(Boolean) } : {}),
          ...(o['nid'] ? { nid: o['nid'] } : {}),
          ...(Object.keys(tun).length ? { tunables: tun } : {}),
          ...(o['conns_per_peer'] !== undefined || o['connsPerPeer'] !== undefined ? { lndTunables: { conns_per_peer: intArg('--conns-per-peer', o['connsPerPeer']!, 0) } } : {}),
          ...(o['cpt'] ? { cpts: cptList(o['cpt']) } : {}),
        });
        if (o.json) printJson({ added: true });
      }),
    );
  net
    .command('del')
    .description('delete a net, or one NI of it (lnetctl net del)')
    .requiredOption('--net <net>')
    .option('--nid <nid>', 'only this NI')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { net: string; nid?: string }) => {
        await lnetFactory().nets.del({ net: o.net, ...(o.nid ? { nid: o.nid } : {}) });
        if (o.json) printJson({ deleted: true });
      }),
    );
  net
    .command('show')
    .description('show nets (lnetctl net show [-v N])')
    .option('--net <net>')
    .addOption(verboseOpt())
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { net?: string; verbose?: string | boolean }) => {
        const l = lnetFactory();
        const v = parseVerbose(o.verbose);
        const nets = await l.nets.show({ ...(o.net ? { net: o.net } : {}), verbose: v });
        if (o.json) return printJson(nets);
        out(emit(netsDoc(nets, v), (await l.style()).style));
      }),
    );

  // --- route ---
  const route = lnet.command('route').description('routes to remote nets');
  route
    .command('add')
    .requiredOption('--net <net>', 'remote net')
    .requiredOption('--gateway <nid>', 'gateway NID (ranges allowed)')
    .option('--hop <n>', 'hops (1-255)')
    .option('--priority <n>')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { net: string; gateway: string; hop?: string; priority?: string }) => {
        await lnetFactory().routes.add({
          net: o.net,
          gateway: o.gateway,
          ...(o.hop !== undefined ? { hop: intArg('--hop', o.hop, -1) } : {}),
          ...(o.priority !== undefined ? { priority: intArg('--priority', o.priority, 0) } : {}),
        });
        if (o.json) printJson({ added: true });
      }),
    );
  route
    .command('del')
    .requiredOption('--net <net>')
    .option('--gateway <nid>')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { net: string; gateway?: string }) => {
        await lnetFactory().routes.del({ net: o.net, ...(o.gateway ? { gateway: o.gateway } : {}) });
        if (o.json) printJson({ deleted: true });
      }),
    );
  route
    .command('show')
    .option('--net <net>')
    .option('--gateway <nid>')
    .addOption(verboseOpt())
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { net?: string; gateway?: string; verbose?: string | boolean }) => {
        const l = lnetFactory();
        const v = parseVerbose(o.verbose);
        const routes = await l.routes.show({ ...(o.net ? { net: o.net } : {}), ...(o.gateway ? { gateway: o.gateway } : {}), verbose: v });
        if (o.json) return printJson(routes);
        if (routes.length) out(emit(routesDoc(routes, v), (await l.style()).style));
      }),
    );

  lnet
    .command('routing')
    .description('routing state and router buffers')
    .command('show')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        const r = await lnetFactory().routing();
        if (o.json) return printJson(r);
        out(emit(routingDoc(r), 'cyaml'));
      }),
    );

  const settable = ['routing', 'tiny_buffers', 'small_buffers', 'large_buffers', ...GLOBAL_DEFS.map((d) => d.key), 'max_intf'];
  lnet
    .command('set')
    .description(`set routing, router buffers or a global (${settable.join(', ')})`)
    .argument('<key>')
    .argument('<value>')
    .option('--json', 'JSON output')
    .action(
      action(async (key: string, value: string, o: JsonOpt) => {
        const l = lnetFactory();
        const n = intArg(key, value, 0);
        if (key === 'routing') {
          if (n !== 0 && n !== 1) throw new InvalidArgumentError(`set routing: expected 0 or 1, got '${value}'`);
          await l.setRouting(n === 1);
        } else if (/^(tiny|small|large)_buffers$/.test(key)) await l.buffers.set({ [key.split('_')[0]!]: n });
        else if (globalDef(key)) await l.globals.set({ [key]: n });
        else throw new InvalidArgumentError(`set: unknown key '${key}' (one of ${settable.join(', ')})`);
        if (o.json) printJson({ set: key, value: n });
      }),
    );

  // --- peer ---
  const peer = lnet.command('peer').description('peers');
  peer
    .command('add')
    .requiredOption('--prim_nid <nid>', 'primary NID')
    .option('--nid <nids>', 'more NIDs, comma-separated (ranges allowed)')
    .option('--non_mr', 'not Multi-Rail')
    .option('--lock_prim', 'lock the primary NID')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { prim_nid: string; nid?: string; non_mr?: boolean; lock_prim?: boolean }) => {
        await lnetFactory().peers.add({ primaryNid: o.prim_nid, ...(o.nid ? { nids: splitNidList(o.nid) } : {}), multiRail: !o.non_mr, ...(o.lock_prim ? { lockPrim: true } : {}) });
        if (o.json) printJson({ added: true });
      }),
    );
  peer
    .command('del')
    .requiredOption('--prim_nid <nid>')
    .option('--nid <nids>', 'only these NIDs, comma-separated')
    .option('--force')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { prim_nid: string; nid?: string; force?: boolean }) => {
        await lnetFactory().peers.del({ primaryNid: o.prim_nid, ...(o.nid ? { nids: splitNidList(o.nid) } : {}), ...(o.force ? { force: true } : {}) });
        if (o.json) printJson({ deleted: true });
      }),
    );
  peer
    .command('show')
    .option('--nid <nid>')
    .addOption(verboseOpt())
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt & { nid?: string; verbose?: string | boolean }) => {
        const l = lnetFactory();
        const v = parseVerbose(o.verbose);
        const peers = await l.peers.show({ ...(o.nid ? { nid: o.nid } : {}), verbose: v });
        if (o.json) return printJson(peers);
        if (peers.length) out(emit(peersDoc(peers, v), (await l.style()).style));
      }),
    );
  peer
    .command('list')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        const l = lnetFactory();
        const nids = await l.peers.list();
        if (o.json) return printJson(nids);
        if (nids.length) out(emit(peerListDoc(nids), 'cyaml'));
      }),
    );

  lnet
    .command('ping')
    .argument('<nids...>', 'NIDs or process ids (12345-nid)')
    .option('--timeout <s>', 'seconds (default 1)')
    .option('--source <nid>', 'source NID')
    .option('--json', 'JSON output')
    .action(
      action(async (nids: string[], o: JsonOpt & { timeout?: string; source?: string }) => {
        const l = lnetFactory();
        const res = [];
        for (const n of nids)
          res.push(await l.ping(n, { ...(o.timeout !== undefined ? { timeoutMs: Number(o.timeout) * 1000 } : {}), ...(o.source ? { source: o.source } : {}) }));
        if (o.json) return printJson(res);
        out(emit(pingDoc(res), (await l.style()).style));
      }),
    );

  lnet
    .command('discover')
    .argument('<nids...>')
    .option('--force')
    .option('--json', 'JSON output')
    .action(
      action(async (nids: string[], o: JsonOpt & { force?: boolean }) => {
        const l = lnetFactory();
        const res = [];
        for (const n of nids) res.push(await l.discover(n, { force: !!o.force }));
        if (o.json) return printJson(res);
        out(emit(pingDoc(res, 'discover'), (await l.style()).style));
      }),
    );

  const stats = lnet.command('stats').description('global LNet counters');
  stats
    .command('show')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        const c = await lnetFactory().stats.show();
        if (o.json) return printJson(c);
        out(emit(statsDoc(c), 'cyaml'));
      }),
    );
  stats
    .command('reset')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        await lnetFactory().stats.reset();
        if (o.json) printJson({ reset: true });
      }),
    );

  lnet
    .command('global')
    .description('global settings')
    .command('show')
    .option('--json', 'JSON output')
    .action(
      action(async (o: JsonOpt) => {
        const g = await lnetFactory().globals.get();
        if (o.json) return printJson(g);
        out(emit(globalDoc(g), 'cyaml'));
      }),
    );

  lnet
    .command('export')
    .description("YAML of the running configuration in lnetctl's layout for the running release")
    .argument('[file]', 'write to this file instead of stdout')
    .option('--backup', 'backup form (only what import needs)')
    .option('--json', 'the same document as JSON')
    .action(
      action(async (file: string | undefined, o: JsonOpt & { backup?: boolean }) => {
        const yaml = await lnetFactory().export({ backup: !!o.backup });
        const text = o.json ? JSON.stringify(parseYaml(yaml), null, 2) + '\n' : yaml;
        if (file) writeFileSync(file, text);
        else out(text);
      }),
    );

  lnet
    .command('import')
    .description('apply an lnet.conf / lnetctl YAML file (all or nothing: validated first, rolled back on a kernel refusal)')
    .argument('<file>', "file, or '-' for stdin")
    .option('--del', 'delete the items of the file instead of adding them')
    .option('--exec', 'also run the ping and discover blocks')
    .option('--json', 'JSON output')
    .action(
      action(async (file: string, o: JsonOpt & { del?: boolean; exec?: boolean }) => {
        const r = await lnetFactory().import(readDoc(file), { mode: o.del ? 'del' : 'add', exec: !!o.exec });
        if (o.json) printJson(r);
        else if (!r.ok) process.stderr.write(r.msg + '\n');
        if (!r.ok) process.exitCode = EXIT_FAILED;
      }),
    );

  lnet
    .command('apply')
    .description('make the node match a YAML file, changing only the difference; prints a JSON result {changed, failed, msg, diff, applied, ...} (Ansible module protocol)')
    .argument('<file>', "file, or '-' for stdin")
    .option('--dry-run', 'only report what would change')
    .action(
      action(async (file: string, o: { dryRun?: boolean }) => {
        let r;
        try {
          r = await lnetFactory().apply(readDoc(file), { dryRun: !!o.dryRun });
        } catch (e) {
          // Ansible reads stdout: a refusal before anything ran is still a JSON result.
          const err = e as Error & { code?: string; problems?: unknown };
          printJson({ changed: false, failed: true, msg: err.message, code: err.code ?? 'ERR_UNKNOWN', ...(err.problems ? { problems: err.problems } : {}), applied: [] });
          process.stderr.write(`hpcnet: ${err.message}\n`);
          process.exitCode = EXIT_FAILED;
          return;
        }
        printJson(r);
        if (r.failed) process.exitCode = EXIT_FAILED;
      }),
    );
}

/** The errno of a kernel refusal; anything else (bad input, no backend) is reported as hpcnet's own error. */
function errnoOfError(e: unknown): { code: string; errno: number } {
  const code = e instanceof HpcnetError ? e.code : 'EIO';
  const errno = (e as { errno?: number }).errno ?? errnoOf(code);
  if (errno === undefined) fail(e);
  return { code, errno };
}

function registerLctl(program: Command): void {
  const lctl = program.command('lctl').description("lctl's LNet commands: network up|down, list_nids, ping (same output as lctl)");

  addNetworkCommand(lctl.command('network').alias('net'));

  lctl
    .command('list_nids')
    .argument('[all]', "'all' to include 0@lo")
    .option('--json', 'JSON output')
    .action(async (all: string | undefined, o: JsonOpt) => {
      try {
        const nids = await lnetFactory().listNids({ all: all === 'all' });
        if (o.json) printJson(nids);
        else for (const n of nids) out(n + '\n');
      } catch (e) {
        const { code, errno } = errnoOfError(e);
        if (o.json) printJson({ error: { code, errno, message: (e as Error).message } });
        else if (code === 'ENODEV' || code === 'ENOENT')
          process.stderr.write('opening /dev/lnet failed: No such file or directory\nhint: the kernel modules may not be loaded\nIOC_LIBCFS_GET_NI error 2: No such file or directory\n');
        else process.stderr.write(`IOC_LIBCFS_GET_NI error ${errno}: ${strerror(code)}\n`);
        process.exitCode = 1;
      }
    });

  lctl
    .command('ping')
    .argument('<nid>', 'NID or process id')
    .argument('[timeout]', 'seconds (default 1)')
    .option('--json', 'JSON output')
    .action(async (nid: string, timeout: string | undefined, o: JsonOpt) => {
      try {
        const r = await lnetFactory().ping(nid, timeout !== undefined ? { timeoutMs: Number(timeout) * 1000 } : {});
        if (o.json) printJson(r);
        else for (const id of r.ids) out(id + '\n');
      } catch (e) {
        const { code, errno } = errnoOfError(e);
        if (o.json) printJson({ error: { code, errno, message: (e as Error).message } });
        else process.stderr.write(`failed to ping ${nid}: ${strerror(code)}\n`);
        process.exitCode = 1;
      }
    });
}

/** `network up|down|configure|unconfigure` with lctl's output (under `hpcnet lctl` and `hpcnet lnet`). */
function addNetworkCommand(cmd: Command): void {
  cmd
    .description('network up|down|configure|unconfigure, printing what lctl prints')
    .argument('<action>', 'up, down, configure or unconfigure')
    .option('--json', 'JSON output')
    .action(async (act: string, o: JsonOpt) => {
      const l = lnetFactory();
      if (act === 'up' || act === 'configure') {
        try {
          await l.configure({ all: true });
          if (o.json) printJson({ result: 'LNET configured' });
          else out('LNET configured\n');
        } catch (e) {
          const { code, errno } = errnoOfError(e);
          if (o.json) printJson({ error: { code, errno, message: (e as Error).message } });
          else process.stderr.write(`LNET configure error ${errno}: ${strerror(code)}\n`);
          process.exitCode = 1;
        }
        return;
      }
      if (act === 'down' || act === 'unconfigure') {
        try {
          await l.unconfigure();
          if (o.json) printJson({ result: 'LNET ready to unload' });
          else out('LNET ready to unload\n');
        } catch (e) {
          const { code, errno } = errnoOfError(e);
          if (o.json) {
            printJson({ error: { code, errno, message: (e as Error).message } });
            process.exitCode = code === 'ENODEV' ? 0 : 1;
          } else if (code === 'ENODEV') out('LNET is currently not loaded.');
          else if (code === 'EBUSY') {
            process.stderr.write('LNET busy\n');
            process.exitCode = 1;
          } else {
            process.stderr.write(`LNET unconfigure error ${errno}: ${strerror(code)}\n`);
            process.exitCode = 1;
          }
        }
        return;
      }
      // Any other word selects lctl's "current net": silent when it is a net name.
      try {
        NetId.parse(act);
      } catch {
        process.stderr.write(`Can't parse net ${act}\n`);
        process.exitCode = 1;
      }
    });
}
