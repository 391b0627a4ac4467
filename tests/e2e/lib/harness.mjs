// The e2e library's index: everything the node suites share (e2e, daemon, faults, sim.client, shims), from the modules here.
//   paths.mjs   binaries and skip reasons     time.mjs    sleep, timeouts, polling
//   child.mjs   spawning and reaping          proc.mjs    /proc inspection
//   client.mjs  raw LSP framing and clients   lean.mjs    the simulator and its demo project
//   rpc.mjs     vscode-jsonrpc (imported on its own: it needs tests/e2e/node_modules)
export * from './paths.mjs';
export * from './time.mjs';
export * from './child.mjs';
export * from './proc.mjs';
export * from './client.mjs';
export * from './lean.mjs';
