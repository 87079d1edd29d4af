/**
 * In-memory InfiniBand backend: a behavioural model, not stubs. It answers on
 * a later tick like the native backend, enforces the same errors, and can be
 * changed by tests (add or remove CAs, change port state).
 */
import { HpcnetError } from '../errors.js';
import { formatGid } from '../util/format.js';
import type { IbBackend } from './backend.js';
import type { CaInfo, CaPort } from './types.js';

export interface MockCaSpec {
  name?: string;
  nodeGuid?: bigint;
  ports?: number;
  lid?: number;
  state?: CaPort['state'];
}

export function mockCa(spec: MockCaSpec = {}): CaInfo {
  const nodeGuid = spec.nodeGuid ?? 0x0002c90300001000n;
  const nports = spec.ports ?? 1;
  const ports: CaPort[] = [];
  for (let i = 1; i <= nports; i++) {
    const portGuid = nodeGuid + BigInt(i);
    const prefix = 0xfe80000000000000n;
    ports.push({
      portNum: i,
      state: spec.state ?? 'Active',
      physicalState: spec.state === 'Down' ? 'Polling' : 'LinkUp',
      rate: 100,
      baseLid: (spec.lid ?? 1) + i - 1,
      lmc: 0,
      smLid: 1,
      smSl: 0,
      capabilityMask: 0x2651e848,
      portGuid,
      gidPrefix: prefix,
      defaultGid: formatGid(prefix, portGuid),
      linkLayer: 'InfiniBand',
    });
  }
  return {
    name: spec.name ?? 'mlx5_0',
    caType: 'MT4123',
    nodeType: 'CA',
    numPorts: nports,
    firmwareVersion: '20.31.1014',
    hardwareVersion: '0',
    nodeGuid,
    systemImageGuid: nodeGuid,
    ports,
  };
}

export class MockIbBackend implements IbBackend {
  readonly kind = 'mock' as const;
  readonly cas: CaInfo[];

  constructor(opts: { cas?: CaInfo[] } = {}) {
    this.cas = opts.cas ?? [mockCa()];
  }

  async listCas(): Promise<CaInfo[]> {
    await Promise.resolve();
    if (this.cas.length === 0) throw new HpcnetError('ENODEV', 'listing InfiniBand CAs: no InfiniBand CA found');
    return structuredClone(this.cas);
  }

  async getCa(name: string): Promise<CaInfo> {
    await Promise.resolve();
    const ca = this.cas.find((c) => c.name === name);
    if (!ca) throw new HpcnetError('ENOENT', `reading CA '${name}': no such CA`);
    return structuredClone(ca);
  }
}
