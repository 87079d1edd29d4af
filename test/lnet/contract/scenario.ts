/**
 * One sequence of backend operations with their outcome ('ok' or the errno
 * name), run against any LnetBackend. The contract test runs it on the mock
 * in-process and on the native backend under the emulator, and compares.
 */
import type { LnetBackend } from '../../../lib/lnet/backend.js';
import { HpcnetError } from '../../../lib/errors.js';

export type Outcome = [step: string, result: string];

/** The host the scenario expects: eth0 with 10.0.0.1, nothing loaded. */
export const HOST = { name: 'c1', iface: 'eth0', ip: '10.0.0.1' };

export async function runScenario(b: LnetBackend): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      out.push([name, 'ok']);
    } catch (e) {
      out.push([name, e instanceof HpcnetError ? e.code : `not an HpcnetError: ${String(e)}`]);
    }
  };
  await step('nets before load', () => b.nets(0));
  await step('load lnet', () => b.loadModule('lnet'));
  await step('nets while down', () => b.nets(0));
  await step('routes while down', () => b.routes(0));
  await step('add NI before configure', () => b.addNi({ net: 'tcp', interfaces: ['eth0'] }));
  await step('configure', () => b.configure({ all: false }));
  await step('configure again', () => b.configure({ all: false }));
  await step('add NI', () => b.addNi({ net: 'tcp', interfaces: ['eth0'] }));
  await step('add NI again', () => b.addNi({ net: 'tcp', interfaces: ['eth0'] }));
  await step('add NI on unknown interface', () => b.addNi({ net: 'tcp1', interfaces: ['eth9'] }));
  await step('add NI with CPT out of range', () => b.addNi({ net: 'tcp2', interfaces: ['eth0'], cpts: [7] }));
  await step('del unknown net', () => b.delNi('tcp5'));
  await step('del lo', () => b.delNi('lo'));
  await step('route via a non-local net', () => b.addRoute({ net: 'tcp2', gateway: '10.9.0.1@tcp9' }));
  await step('route to a local net', () => b.addRoute({ net: 'tcp', gateway: '10.9.0.1@tcp9' }));
  await step('route', () => b.addRoute({ net: 'tcp2', gateway: '10.0.0.2@tcp', hop: 1, priority: 0 }));
  await step('route again', () => b.addRoute({ net: 'tcp2', gateway: '10.0.0.2@tcp', hop: 1, priority: 0 }));
  await step('route with hop 300', () => b.addRoute({ net: 'tcp3', gateway: '10.0.0.2@tcp', hop: 300 }));
  await step('del route to unknown net', () => b.delRoute({ net: 'tcp7', gateway: '10.0.0.2@tcp' }));
  await step('peer', () => b.addPeer({ primaryNid: '10.0.0.7@tcp', nids: ['10.0.0.8@tcp'], multiRail: true }));
  await step('peer again', () => b.addPeer({ primaryNid: '10.0.0.7@tcp', multiRail: true }));
  await step('del peer by a non-primary NID', () => b.delPeer({ primaryNid: '10.0.0.8@tcp' }));
  await step('del unknown peer', () => b.delPeer({ primaryNid: '10.0.0.99@tcp' }));
  await step('response_tracking 10', () => b.writeParam('lnet', 'lnet_response_tracking', '10'));
  await step('transaction_timeout <= retry_count', () => b.writeParam('lnet', 'lnet_transaction_timeout', '2'));
  await step('max_interfaces 8', () => b.writeParam('lnet', 'lnet_interfaces_max', '8'));
  await step('health_sensitivity 500', () => b.writeParam('lnet', 'lnet_health_sensitivity', '500'));
  await step('rmmod lnet while up', () => b.removeModule('lnet'));
  await step('unconfigure', () => b.unconfigure());
  await step('unconfigure again', () => b.unconfigure());
  await step('nets after unconfigure', () => b.nets(0));
  await step('rmmod libcfs (held by lnet)', () => b.removeModule('libcfs'));
  await step('rmmod ksocklnd', () => b.removeModule('ksocklnd'));
  await step('rmmod lnet', () => b.removeModule('lnet'));
  await step('rmmod lnet again', () => b.removeModule('lnet'));
  await step('rmmod libcfs', () => b.removeModule('libcfs'));
  await step('load a missing module', () => b.loadModule('kbogus'));
  return out;
}
