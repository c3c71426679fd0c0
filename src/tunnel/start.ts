// Everything a tunnel needs once its config is valid (the AWS SDK, sessions, the plugin process),
// behind one import: one entry for the bundler, so a few chunks load rather than dozens.
export { findBastion } from '../aws/bastion.js';
export { createAwsContext, refuseMfa } from '../aws/context.js';
export { startSession, terminateSession } from '../aws/session.js';
export { spawnPlugin } from '../plugin/process.js';
export { runTunnels } from './run.js';
