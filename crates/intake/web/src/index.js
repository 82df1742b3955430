// The one script intake serves (/static/sealing.js): the sealing functions
// for tests and, in a page, the wiring that uses them.
export * from './seal.js';
export * as log from './log.js';
import { wire } from './page.js';

if (typeof document !== 'undefined') wire();
