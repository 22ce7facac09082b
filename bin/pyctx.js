#!/usr/bin/env node
// The package's `bin`: starts the bundled command line (dist/cli.js, built from
// src/cli/ by `npm run build`). Kept tiny on purpose: all behaviour lives in src/cli/.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`pyctx: ${path.relative(process.cwd(), cli) || cli} is missing; run \`npm run build\` in ${path.resolve(__dirname, '..')} first\n`);
  process.exit(3);
}
require(cli);
