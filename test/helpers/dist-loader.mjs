// Test runner speed-up (registered by the "tap" section of package.json): `npm test` compiles
// everything with tsc first, so a test process need not transpile each TypeScript module again.
// This registers module hooks (dist-hooks.mjs) that load a source file's compiled JavaScript from
// dist/ when it is at least as new as the source, under the source's own URL (so import.meta.url,
// relative paths and source-mapped stack traces stay those of the .ts file). A stale or missing
// dist file falls through to tap's TypeScript loader. HCIKIT_TEST_FROM_DIST=0 turns it off.
import { register } from 'node:module'

if (process.env.HCIKIT_TEST_FROM_DIST !== '0') register('./dist-hooks.mjs', import.meta.url)
