#!/usr/bin/env node
// npm's install step for hpcnet: build the native addons with node-gyp
// against the running Node's own headers when they are installed (Debian's
// nodejs ships them in /usr/include/node), so an install needs no download;
// elsewhere node-gyp fetches them as usual. A part whose system libraries are
// missing still builds (as a stub that names them; see binding.gyp).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [nodeGyp, 'rebuild', '-j', '2'];
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
