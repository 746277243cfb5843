// Starts the Cosmos DB API test server (patched at install, see README.md) on 127.0.0.1.
// Usage: node cosmos_server.js [PORT]   (0 or none: a free port, printed once ready)
// keepAlive matters: without it every request opens a new TLS connection (~20x slower).
"use strict";
const { createHttpsServer } = require("@vercel/cosmosdb-server");

const port = Number(process.argv[2] || 0);
const server = createHttpsServer({ keepAlive: true });
server.listen(port, "127.0.0.1", () => {
  // tests/servers/cosmos.py waits for this line to learn the port.
  process.stdout.write(`listening ${server.address().port}\n`);
});
