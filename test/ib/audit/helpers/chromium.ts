/**
 * Headless Chromium driven through the DevTools protocol over a pipe
 * (`--remote-debugging-pipe`: the browser reads commands on fd 3 and writes
 * replies on fd 4, each message a JSON text ended by a NUL byte), so a test
 * can load a page at a given window size, run script in it and take
 * screenshots, with no WebSocket client and no network.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export function chromiumPath(): string {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (existsSync(p)) return p;
  throw new Error('chromium is not installed (scripts/setup installs it)');
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  method: string;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: Array<(m: { method: string; params: Record<string, unknown>; sessionId?: string }) => void> = [];
  private buf = Buffer.alloc(0);
  private session = '';
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly userDir: string,
  ) {
    const out = child.stdio[4] as Readable;
    out.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      let i: number;
      while ((i = this.buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(this.buf.subarray(0, i).toString('utf8')) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
        this.buf = this.buf.subarray(i + 1);
        if (msg.id !== undefined) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
          else p?.resolve(msg.result ?? {});
        } else if (msg.method) {
          for (const l of this.listeners) l({ method: msg.method, params: msg.params ?? {}, ...(msg.sessionId ? { sessionId: msg.sessionId } : {}) });
        }
      }
    });
    this.exited = new Promise((r) => child.once('exit', () => r()));
    void this.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: chromium exited`));
      this.pending.clear();
    });
  }

  /** Start a headless browser with one page of the given size (CSS pixels). */
  static async launch(o: { width: number; height: number; tmp: string }): Promise<Browser> {
    const userDir = mkdtempSync(join(o.tmp, 'chromium-'));
    const child = spawn(
      chromiumPath(),
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${userDir}`,
        '--remote-debugging-pipe',
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], detached: true },
    );
    const b = new Browser(child, userDir);
    try {
      const { targetId } = (await b.send('Target.createTarget', { url: 'about:blank' }, false)) as { targetId: string };
      const { sessionId } = (await b.send('Target.attachToTarget', { targetId, flatten: true }, false)) as { sessionId: string };
      b.session = sessionId;
      await b.send('Page.enable');
      await b.send('Runtime.enable');
      await b.send('Emulation.setDeviceMetricsOverride', { width: o.width, height: o.height, deviceScaleFactor: 1, mobile: false });
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  send(method: string, params: Record<string, unknown> = {}, inSession = true, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const msg = { id, method, params, ...(inSession && this.session ? { sessionId: this.session } : {}) };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer from chromium in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      (this.child.stdio[3] as Writable).write(JSON.stringify(msg) + '\0');
    });
  }

  private waitEvent(method: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} in ${timeoutMs} ms`)), timeoutMs);
      const l = (m: { method: string; params: Record<string, unknown> }) => {
        if (m.method !== method) return;
        clearTimeout(timer);
        this.listeners.splice(this.listeners.indexOf(l), 1);
        resolve(m.params);
      };
      this.listeners.push(l);
    });
  }

  /** Load a URL and wait for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.waitEvent('Page.loadEventFired');
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** Evaluate an expression in the page (promises awaited); the value comes back as JSON. */
  async eval<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } };
    if (r.exceptionDetails) throw new Error(`page script failed: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** A PNG of the viewport (or of the whole page). */
  async screenshot(full = false): Promise<Buffer> {
    const r = (await this.send('Page.captureScreenshot', { format: 'png', ...(full ? { captureBeyondViewport: true } : {}) })) as { data: string };
    return Buffer.from(r.data, 'base64');
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        await Promise.race([this.send('Browser.close', {}, false, 5000), this.exited]);
      } catch {
        // closing anyway
      }
      const t = setTimeout(() => {
        try {
          process.kill(-this.child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await this.exited;
      clearTimeout(t);
    }
    try {
      process.kill(-this.child.pid!, 'SIGKILL'); // renderer and helper processes of the group
    } catch {
      // none left
    }
    rmSync(this.userDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
