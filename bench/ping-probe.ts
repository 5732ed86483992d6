// Sequential GET /v1/ping for a while, in a process of its own (so a client busy elsewhere, such as a
// replay reader, does not delay the measurement): prints the round-trip times (ms) as a JSON array.
//   bun bench/ping-probe.ts <socket> <duration-ms> [stop-file]
// Stops after <duration-ms>, or earlier once [stop-file] exists.
import { existsSync } from "node:fs";

const [socket, duration = "3000", stopFile] = process.argv.slice(2);
if (!socket) throw new Error("usage: bun bench/ping-probe.ts <socket> <duration-ms> [stop-file]");
const end = performance.now() + Number(duration);
const times: number[] = [];
while (performance.now() < end && !(stopFile && existsSync(stopFile))) {
  const t0 = performance.now();
  const r = await fetch("http://kasmos/v1/ping", { unix: socket, signal: AbortSignal.timeout(10_000) });
  await r.arrayBuffer();
  times.push(performance.now() - t0);
  await Bun.sleep(5); // ~150 requests/s: a client among others, not a load generator
}
console.log(JSON.stringify(times));
