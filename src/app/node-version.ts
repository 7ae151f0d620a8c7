/**
 * The server needs Node 24 (NestJS and pg-boss ship ES modules, loaded with require); npm scripts
 * run the project's pinned one. The package's `engines` says 20, for the CLI beside it (which runs
 * on the Node its users have). Imported first by the server's entry point, so an older Node gets
 * this sentence instead of an import error.
 */
const SERVER_NODE_MAJOR = 24;

const major = Number(process.versions.node.split('.')[0]);
if (major < SERVER_NODE_MAJOR) {
  process.stderr.write(
    `ODC cannot start. The server needs Node ${SERVER_NODE_MAJOR} or later, and this is ${process.version}: start it with npm start (it runs the project's pinned Node ${SERVER_NODE_MAJOR})\n`,
  );
  process.exit(2);
}
