/**
 * Wire protocol between the LD_PRELOAD library and the daemon (mirror of
 * native/lnet-emu/protocol.h): stream unix socket, little-endian frames
 *   request  = u32 len, u32 op, u32 caps, payload   (len counts op+caps+payload)
 *   response = u32 len, i32 rc, payload             (len counts rc+payload)
 */
import { connect, type Socket } from 'node:net';
import { SimulatorError } from '../../errors.js';

export const OP = {
  HELLO: 1,
  OPEN_DEV: 2,
  CLOSE_DEV: 3,
  IOCTL: 4,
  NL_SEND: 5,
  PARAM_WRITE: 6,
  MOD_INIT: 7,
  MOD_DELETE: 8,
  CTRL: 9,
} as const;

export const CAP = { SYS_ADMIN: 1, NET_ADMIN: 2, SYS_MODULE: 4, ALL: 7 } as const;
export const NLFLAG = { EXT_ACK: 1, CAP_ACK: 2 } as const;
export const MODULE_MAGIC = 'HPCNET-LNETEMU-MODULE name=';
export const MAX_FRAME = 64 << 20;

export interface Request {
  op: number;
  caps: number;
  payload: Buffer;
}

/** Incremental frame splitter for one connection. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }
  /** Next complete frame body (after the length field), or undefined; throws on a bad length. */
  next(): Buffer | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readUInt32LE(0);
    if (len < 4 || len > MAX_FRAME) throw new Error(`bad frame length ${len}`);
    if (this.buf.length < 4 + len) return undefined;
    const body = this.buf.subarray(4, 4 + len);
    this.buf = this.buf.subarray(4 + len);
    return body;
  }
}

export function parseRequest(body: Buffer): Request {
  if (body.length < 8) throw new Error('short request');
  return { op: body.readUInt32LE(0), caps: body.readUInt32LE(4), payload: body.subarray(8) };
}

export function encodeResponse(rc: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(4 + payload.length, 0);
  h.writeInt32LE(rc, 4);
  return Buffer.concat([h, payload]);
}

export function encodeRequest(op: number, caps: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32LE(8 + payload.length, 0);
  h.writeUInt32LE(op, 4);
  h.writeUInt32LE(caps, 8);
  return Buffer.concat([h, payload]);
}

/**
 * One JSON control request to a daemon (API and CLI). Rejects with a
 * SimulatorError when the daemon is gone or does not answer in time.
 */
export async function ctrlRequest<T>(sockPath: string, body: unknown, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let sock: Socket;
    const timer = setTimeout(() => {
      sock?.destroy();
      reject(new SimulatorError(`LNet emulator daemon at ${sockPath} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const fr = new FrameReader();
    let hello = false;
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(new SimulatorError(`LNet emulator daemon at ${sockPath} is not reachable: ${e.message}`, { cause: e }));
    };
    sock = connect(sockPath);
    sock.on('error', fail);
    sock.on('connect', () => {
      sock.write(encodeRequest(OP.CTRL, CAP.ALL, Buffer.from(JSON.stringify(body))));
    });
    sock.on('data', (chunk: Buffer) => {
      fr.push(chunk);
      let f: Buffer | undefined;
      while ((f = fr.next())) {
        hello = true;
        clearTimeout(timer);
        sock.end();
        const rc = f.readInt32LE(0);
        const text = f.subarray(4).toString('utf8');
        let parsed: { error?: string; result?: T } = {};
        try {
          parsed = JSON.parse(text || '{}') as { error?: string; result?: T };
        } catch {
          /* fallthrough */
        }
        if (rc < 0 || parsed.error) reject(new SimulatorError(parsed.error ?? `control request failed (errno ${-rc})`));
        else resolve(parsed.result as T);
      }
    });
    sock.on('close', () => {
      if (!hello) fail(new Error('connection closed without an answer'));
    });
  });
}
