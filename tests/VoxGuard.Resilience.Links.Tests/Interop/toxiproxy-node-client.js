// Drives a link server with toxiproxy-node-client, an independent Toxiproxy client from npm,
// and measures a latency toxic through the proxy with Node's own sockets.
// Usage: node toxiproxy-node-client.js <api base url> <upstream host:port>
// Prints one JSON object with what it saw; the NUnit test asserts on it.
"use strict";
const net = require("net");
const { Toxiproxy } = require("toxiproxy-node-client");

const [apiUrl, upstream] = process.argv.slice(2);
const toxiproxy = new Toxiproxy(apiUrl.replace(/\/$/, ""));

function roundTrip(host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true }, () => {
      const started = process.hrtime.bigint();
      socket.write("ping");
      socket.once("data", () => {
        resolve(Number(process.hrtime.bigint() - started) / 1e6);
        socket.destroy();
      });
    });
    socket.setTimeout(5000, () => reject(new Error("round trip timed out")));
    socket.on("error", reject);
  });
}

(async () => {
  const seen = {};
  seen.version = await toxiproxy.getVersion();
  const proxy = await toxiproxy.createProxy({ name: "lagos-abuja-sip", listen: "127.0.0.1:0", upstream });
  seen.listen = proxy.listen;
  const [host, port] = [proxy.listen.split(":")[0], Number(proxy.listen.split(":")[1])];
  seen.directMs = await roundTrip(host, port);

  const toxic = await proxy.addToxic({ type: "latency", stream: "downstream", attributes: { latency: 40, jitter: 0 } });
  seen.toxic = { name: toxic.name, type: toxic.type, stream: toxic.stream, toxicity: toxic.toxicity, attributes: toxic.attributes };
  seen.withLatencyMs = await roundTrip(host, port);

  await toxic.update({ attributes: { latency: 80 } });
  seen.updatedLatency = (await proxy.getToxic(toxic.name)).attributes.latency;

  await proxy.update({ enabled: false });
  seen.enabledAfterDisable = (await toxiproxy.get("lagos-abuja-sip")).enabled;
  await toxiproxy.reset();
  const afterReset = await toxiproxy.get("lagos-abuja-sip");
  let toxicAfterReset = "still there";
  try {
    await afterReset.getToxic(toxic.name);
  } catch (error) {
    toxicAfterReset = String(error.message || error);
  }
  seen.afterReset = { enabled: afterReset.enabled, toxic: toxicAfterReset };

  const populated = await toxiproxy.populate([{ name: "lagos-asaba-pg", listen: "127.0.0.1:0", upstream }]);
  seen.populated = Object.keys(populated);
  seen.all = Object.keys(await toxiproxy.getAll()).sort();

  try {
    await toxiproxy.get("no-such-link");
    seen.missing = "no error";
  } catch (error) {
    seen.missing = String(error.message || error);
  }

  await (await toxiproxy.get("lagos-asaba-pg")).remove();
  seen.afterRemove = Object.keys(await toxiproxy.getAll()).sort();
  console.log(JSON.stringify(seen));
})().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
