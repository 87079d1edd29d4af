/** Temporary folders for tests: removed when the test process exits, also after a failure. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A new folder under the system temp folder (`<prefix>XXXXXX`), removed at process exit. */
export function tempDir(prefix = 'hpcnet-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
