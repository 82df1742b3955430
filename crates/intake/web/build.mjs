// Builds ../static/sealing.js from src/ and the vendored @noble packages
// (package-lock.json pins each by version and sha512). The output is
// committed and embedded in the binary; .ci/run rebuilds it and fails when
// the committed file differs, so what is served is what these sources make.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/index.js'],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: false,
  legalComments: 'inline',
  charset: 'utf8',
  outfile: '../static/sealing.js',
  banner: {
    js: '// Sunlight browser-side sealing. Built by crates/intake/web/build.mjs from\n// crates/intake/web/src and @noble/{hashes,curves,ciphers} 2.4.0; do not edit.',
  },
});
