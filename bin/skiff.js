#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm run build`, which `npm ci` runs through `prepare`).
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('skiff is not built yet: run `npm run build` (or `npm ci`) first.');
    process.exit(1);
  }
  throw err;
});
