// Writes a brotli (.br, quality 11) and a gzip (.gz, level 9) copy next to
// every built asset that compresses (wasm, JavaScript, CSS, SVG), so the
// server sends them as they are instead of compressing on every request.
// Usage: node scripts/precompress.mjs dist
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const COMPRESSIBLE = /\.(wasm|js|css|svg)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (COMPRESSIBLE.test(name)) yield path;
  }
}

const root = process.argv[2] ?? 'dist';
let raw = 0;
let brotli = 0;
for (const path of files(root)) {
  const bytes = readFileSync(path);
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  raw += bytes.length;
  brotli += br.length;
}
console.log(`precompressed ${root}: ${(raw / 1024).toFixed(1)} KiB → ${(brotli / 1024).toFixed(1)} KiB with brotli`);
