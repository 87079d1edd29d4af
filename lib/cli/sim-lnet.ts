/** `hpcnet sim lnet ...`: the LNet kernel emulator (lib/sim/lnet). */
import { constants as osc } from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { LnetEmulator, parseHostSpec, type FaultOp, type HostSpec, type Release } from '../sim/lnet/index.js';
import { action, parseIntOption, printJson } from './util.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function parseErrno(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const n = (osc.errno as Record<string, number>)[v.toUpperCase()];
  const extra: Record<string, number> = { ESHUTDOWN: 108, EUSERS: 87 };
  const r = n ?? extra[v.toUpperCase()];
  if (!r) throw new InvalidArgumentError(`--errno: expected a number or a name like EIO, got '${v}'`);
  return r;
}

export function registerSimLnet(sim: Command): void {
  const lnet = sim.command('lnet').description('LNet kernel emulator: emulated hosts with Lustre LNet modules, /dev/lnet and netlink');

  lnet
    .command('start')
    .description('start an LNet emulator that keeps running until `hpcnet sim lnet stop`')
    .option('--name <name>', 'emulator name', 'default')
    .option('--release <release>', 'Lustre release personality: 2.15 (ioctl only) or 2.16 (netlink)', '2.16')
    .option('--host <NAME=IF:IP[,IF:IP...]>', 'an emulated host and its interfaces (repeatable; default node1=eth0:10.0.0.1)', collect)
    .action(
      action(async (o: { name: string; release: string; host?: string[] }) => {
        if (o.release !== '2.15' && o.release !== '2.16') throw new InvalidArgumentError(`--release: expected 2.15 or 2.16, got '${o.release}'`);
        const hosts: HostSpec[] | undefined = o.host?.map(parseHostSpec);
        const e = await LnetEmulator.start({ name: o.name, release: o.release as Release, ...(hosts ? { hosts } : {}), persistent: true });
        const opt = o.name === 'default' ? '' : ` --name ${o.name}`;
        process.stdout.write(
          `LNet emulator '${e.name}' ready: release ${e.release}, hosts ${e.state.hosts.map((h) => `${h.name} (${h.ifaces.map((i) => `${i.name} ${i.ip}`).join(', ')})`).join('; ')}\n` +
            `  run a program on a host:  hpcnet sim lnet exec${opt} --host ${e.hosts[0]} -- lctl network up\n` +
            `  stop it:                  hpcnet sim lnet stop${opt}\n`,
        );
      }),
    );

  lnet
    .command('stop')
    .description('stop an LNet emulator: its daemon, the programs running on it, and every file it made')
    .option('--name <name>', 'emulator name', 'default')
    .option('--all', 'stop every running LNet emulator')
    .action(
      action(async (o: { name: string; all?: boolean }) => {
        const names = o.all ? LnetEmulator.list().map((s) => s.name) : [o.name];
        for (const n of names) {
          await LnetEmulator.attach(n).stop();
          process.stdout.write(`LNet emulator '${n}' stopped\n`);
        }
      }),
    );

  lnet
    .command('status')
    .description('running LNet emulators and the state of their hosts')
    .option('--name <name>', 'only this emulator')
    .option('--json', 'JSON output')
    .action(
      action(async (o: { name?: string; json?: boolean }) => {
        const list = o.name ? [LnetEmulator.attach(o.name).state] : LnetEmulator.list();
        const all = [];
        for (const s of list) all.push({ ...s, status: await LnetEmulator.attach(s.name).status() });
        if (o.json) return printJson(all);
        if (all.length === 0) return void process.stdout.write('no LNet emulator running\n');
        for (const e of all) {
          process.stdout.write(`${e.name}: release ${e.release}, daemon pid ${e.pid}, since ${e.startedAt}\n`);
          for (const h of e.status.hosts) {
            process.stdout.write(
              `  ${h.name}: lnet ${h.lnet}${h.lnet === 'up' ? ` (refcount ${h.refcount}${h.selfConfigured ? ', self-configured' : ''})` : ''}` +
                `${h.nids.length ? `, nids ${h.nids.join(' ')}` : ''}` +
                `${h.modules.length ? `, modules ${h.modules.map((m) => `${m.name}[${m.refcnt}]`).join(' ')}` : ''}` +
                `${h.routes.length ? `, routes ${h.routes.map((r) => `${r.net}->${r.gateway}${r.alive ? '' : '(down)'}`).join(' ')}` : ''}` +
                `${h.holds.length ? `, lustre ${h.holds.map((x) => `${x.role}#${x.id}`).join(' ')}` : ''}` +
                `${h.unreachable ? ', UNREACHABLE' : ''}\n`,
            );
          }
          if (e.status.faults.length) process.stdout.write(`  pending faults: ${e.status.faults.map((f) => `${f.op} x${f.count} errno ${f.errno}`).join(', ')}\n`);
        }
      }),
    );

  lnet
    .command('exec')
    .description('run any program as if on an emulated host (lctl, lnetctl, hpcnet itself, ...)')
    .option('--name <name>', 'emulator name', 'default')
    .option('--host <host>', 'emulated host (default: the first)')
    .argument('<command...>', 'program and arguments (put them after --)')
    .action(
      action(async (command: string[], o: { name: string; host?: string }) => {
        const e = LnetEmulator.attach(o.name);
        const child = e.spawn(command[0]!, command.slice(1), { ...(o.host ? { host: o.host } : {}), stdio: 'inherit' });
        const code = await new Promise<number>((res) => {
          child.on('error', (err) => {
            process.stderr.write(`hpcnet: cannot run ${command[0]}: ${err.message}\n`);
            res(127);
          });
          child.on('close', (c, sig) => res(c ?? (sig ? 128 + (osc.signals[sig] ?? 0) : 1)));
        });
        process.exit(code);
      }),
    );

  lnet
    .command('env')
    .description('print shell exports that make programs run on an emulated host')
    .option('--name <name>', 'emulator name', 'default')
    .option('--host <host>', 'emulated host (default: the first)')
    .action(
      action((o: { name: string; host?: string }) => {
        const env = LnetEmulator.attach(o.name).env(o.host);
        for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}='${v.replace(/'/g, `'\\''`)}'\n`);
      }),
    );

  const lustre = lnet.command('lustre').description('simulated Lustre use: LNet held by a client mount or a server target');
  for (const [sub, role, what] of [
    ['mount', 'client', 'a mounted client'],
    ['mgs', 'mgs', 'a running MGS'],
    ['mdt', 'mdt', 'a running MDT'],
    ['ost', 'ost', 'a running OST'],
  ] as const) {
    lustre
      .command(sub)
      .description(`make LNet held by Lustre as ${what} would (loads the Lustre modules, lists devices for lctl dl)`)
      .option('--name <name>', 'emulator name', 'default')
      .option('--host <host>', 'emulated host (default: the first)')
      .option('--fsname <fsname>', 'file system name', 'lustre')
      .action(
        action(async (o: { name: string; host?: string; fsname: string }) => {
          const h = await LnetEmulator.attach(o.name).holdByLustre(o.host, { role, fsname: o.fsname });
          process.stdout.write(`hold #${h.id} (${h.role}, ${h.fsname}) on ${o.host ?? 'the first host'}:\n${h.devices.map((d) => '  ' + d).join('\n')}\n`);
        }),
      );
  }
  lustre
    .command('release')
    .description('undo `lustre mount/mgs/mdt/ost` (all holds of the host, or one by id)')
    .option('--name <name>', 'emulator name', 'default')
    .option('--host <host>', 'emulated host (default: the first)')
    .option('--id <n>', 'hold id', parseIntOption('--id'))
    .action(
      action(async (o: { name: string; host?: string; id?: number }) => {
        const n = await LnetEmulator.attach(o.name).releaseLustre(o.host, o.id);
        process.stdout.write(`released ${n} hold(s)\n`);
      }),
    );

  lnet
    .command('fault')
    .description('fault injection: the next N operations of a kind fail with an errno')
    .option('--name <name>', 'emulator name', 'default')
    .option('--op <kind>', 'ioctl | ioctl:NAME | ioctl:NR | netlink | netlink:CMD | ping | open | module-load | module-unload | param-write')
    .option('--errno <errno>', 'errno number or name (EIO, ENOMEM, ...)', parseErrno)
    .option('--count <n>', 'how many operations fail', parseIntOption('--count'), 1)
    .option('--host <host>', 'only on this host (default: any)')
    .option('--clear', 'remove every pending fault')
    .action(
      action(async (o: { name: string; op?: string; errno?: number; count: number; host?: string; clear?: boolean }) => {
        const e = LnetEmulator.attach(o.name);
        if (o.clear) {
          await e.clearFaults();
          return void process.stdout.write('faults cleared\n');
        }
        if (!o.op || !o.errno) throw new InvalidArgumentError('fault: --op and --errno are required (or --clear)');
        const f = await e.injectFault({ op: o.op as FaultOp, errno: o.errno, count: o.count, ...(o.host ? { host: o.host } : {}) });
        process.stdout.write(`next ${f.count} '${f.op}' operation(s) fail with errno ${f.errno}\n`);
      }),
    );

  lnet
    .command('unreachable')
    .description('make a host unreachable (pings to and from it time out), or reachable again with --off')
    .option('--name <name>', 'emulator name', 'default')
    .option('--off', 'reachable again')
    .argument('<host>', 'emulated host')
    .action(
      action(async (host: string, o: { name: string; off?: boolean }) => {
        await LnetEmulator.attach(o.name).setUnreachable(host, !o.off);
        process.stdout.write(`${host} is ${o.off ? 'reachable' : 'unreachable'}\n`);
      }),
    );
}
