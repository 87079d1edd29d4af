/**
 * One errno table (lib/errno.ts) with Linux's names, the same names the
 * native addon gives, and the netlink-to-ioctl fallback that depends on the
 * name EOPNOTSUPP being recognised.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errnoName, errnoNumber, errnoTable } from '../../../lib/errno.js';
import { LNet } from '../../../lib/lnet/facade.js';
import { LnetError } from '../../../lib/lnet/errors.js';
import { MockLnetBackend } from '../../../lib/lnet/mock-backend.js';
import { loadLnetNative } from '../../../lib/native/loader.js';

test('Linux names, one per number: EOPNOTSUPP (not ENOTSUP), EAGAIN (not EWOULDBLOCK), E<n> for the rest', () => {
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(-11), 'EAGAIN');
  assert.equal(errnoName(108), 'ESHUTDOWN');
  assert.equal(errnoName(87), 'EUSERS');
  assert.equal(errnoName(41), 'E41');
  assert.equal(errnoName(4095), 'E4095');
  assert.equal(errnoNumber('ENOTSUP'), 95, 'aliases are accepted as input');
  assert.equal(errnoNumber('E300'), 300);
});

test('the native addon names every errno as the table does', () => {
  const native = loadLnetNative();
  const diff: string[] = [];
  for (let n = 1; n <= 140; n++) if (native.errnoName(n) !== errnoName(n)) diff.push(`${n}: addon ${native.errnoName(n)}, table ${errnoName(n)}`);
  assert.deepEqual(diff, []);
  assert.equal(errnoTable().size, 131);
});

for (const release of ['2.16'] as const) {
  test(`a netlink command the kernel refuses with EOPNOTSUPP is done over the ioctl (${release})`, async () => {
    const m = new MockLnetBackend({ release, interfaces: [{ name: 'eth0', ip: '10.0.0.1' }] });
    const l = new LNet(m);
    await l.load({ networks: 'tcp(eth0)' });
    await l.configure({ all: true });
    const refuseRoutes = (errno: number): void => void m.world.faults.push({ op: 'netlink:ROUTES', count: 1, errno });
    // The lnet family lists ROUTES, but this kernel refuses it.
    refuseRoutes(95);
    await l.routes.add({ net: 'tcp2', gateway: '10.0.0.2@tcp', hop: 1 });
    assert.deepEqual(m.world.faults, [], 'the netlink request was made and refused');
    assert.deepEqual(
      (await l.routes.show()).map((r) => `${r.net} ${r.gateway}`),
      ['tcp2 10.0.0.2@tcp'],
    );
    // Any other refusal is reported, not retried.
    refuseRoutes(12);
    await assert.rejects(l.routes.add({ net: 'tcp3', gateway: '10.0.0.2@tcp' }), (e: unknown) => e instanceof LnetError && e.code === 'ENOMEM');
  });
}
