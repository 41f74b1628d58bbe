/**
 * A floor of the soak benchmark: the least a Deno handler can do, polled as the handler polls.
 * Once a second an IMDSv2 token (kept for its lifetime) and `spot/instance-action` through
 * `fetch`, and a `Deno.serve` listener for `/metrics`, nothing else. Not part of the handler:
 * what it measures is the runtime with the two APIs every handler needs.
 *
 * @module
 */

const imds = Deno.env.get("IMDS") ?? "http://169.254.169.254";
let token: string | undefined;
let expires = 0;
let polls = 0;

async function poll(): Promise<void> {
  try {
    if (!token || Date.now() > expires) {
      const res = await fetch(`${imds}/latest/api/token`, {
        method: "PUT",
        headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
      });
      token = await res.text();
      expires = Date.now() + 21_000_000;
    }
    const res = await fetch(`${imds}/latest/meta-data/spot/instance-action`, {
      headers: { "x-aws-ec2-metadata-token": token },
    });
    await res.text();
    polls++;
  } catch {
    token = undefined;
  }
}

Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 0), hostname: "127.0.0.1", onListen: () => {} },
  () => new Response(`floor_polls_total ${polls}\n`),
);
setInterval(poll, 1_000);
