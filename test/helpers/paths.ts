/** Paths every test helper agrees on. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (helpers compile to test/dist/helpers). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(REPO, 'bin');
/** Where tests keep artefacts worth looking at (screenshots, logs). */
export const TEST_OUTPUT = path.join(REPO, 'test-output');
