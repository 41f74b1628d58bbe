import assert from "node:assert/strict";
import { createSmtpSender } from "../lib/smtp.ts";
import { SmtpError } from "../lib/smtp_session.ts";
import {
  type Certificates,
  makeCertificates,
  type SmtpSink,
  startSmtpSink,
} from "./fixtures/notify_smtp_sink.ts";

const PASSWORD = "s3cr%t:p@ss word";
const USER = "alerts@example.com";
const mail = {
  from: "Spot Handler <alerts@example.com>",
  to: ["ops@example.com", "oncall@example.org"],
  subject: "Spot Termination Notification",
  text: "Spot Termination (prod): ip-10-0-0-1, Instance: i-0abc\n.hidden starts with a dot\n.\nend",
};

function url(scheme: "smtp" | "smtps", sink: SmtpSink, pass = PASSWORD): string {
  return `${scheme}://${encodeURIComponent(USER)}:${
    encodeURIComponent(pass)
  }@127.0.0.1:${sink.port}`;
}

let certificates: Certificates | undefined;
async function certs(): Promise<Certificates> {
  certificates ??= await makeCertificates();
  return certificates;
}

async function withSink(
  options: Parameters<typeof startSmtpSink>[0],
  body: (sink: SmtpSink) => Promise<void>,
): Promise<void> {
  const sink = await startSmtpSink(options);
  try {
    await body(sink);
  } finally {
    await sink.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("smtp sends a plain-text mail with AUTH PLAIN, headers and dot-stuffing", async () => {
  await withSink({ auth: { user: USER, pass: PASSWORD } }, async (sink) => {
    await createSmtpSender(url("smtp", sink)).send(mail);
    const got = await sink.nextMail();
    assert.equal(got.secure, false);
    assert.equal(got.user, USER);
    assert.equal(got.envelopeFrom, "alerts@example.com");
    assert.deepEqual(got.recipients, ["ops@example.com", "oncall@example.org"]);
    assert.equal(got.subject, mail.subject);
    assert.equal(got.from, '"Spot Handler" <alerts@example.com>');
    assert.equal(got.to, "ops@example.com, oncall@example.org");
    // The last line keeps its line end: "end\r\n" then the lone "." that ends DATA.
    assert.equal(got.text, mail.text + "\n");
    // Unstuffed by the server: a lone "." line that was not stuffed would have ended DATA early.
    assert.match(got.raw, /\r\n\.hidden starts with a dot\r\n\.\r\nend\r\n$/);
    for (const header of ["date", "message-id", "mime-version", "content-type"]) {
      assert.ok(got.headers.has(header), header);
    }
    assert.match(String(got.headers.get("message-id")), /^<[0-9a-f-]{36}@example\.com>$/);
    assert.match(got.raw, /^Content-Type: text\/plain; charset=UTF-8\r$/m);
    assert.ok(got.headers.get("date") instanceof Date);
  });
});

Deno.test("smtp upgrades with STARTTLS when offered and trusts the given CA", async () => {
  const c = await certs();
  await withSink(
    { tls: "starttls", certificates: c, auth: { user: USER, pass: PASSWORD } },
    async (sink) => {
      await createSmtpSender(url("smtp", sink), { caCerts: [c.ca] }).send(mail);
      const got = await sink.nextMail();
      assert.equal(got.secure, true);
      assert.equal(got.user, USER);
      assert.equal(got.text, mail.text + "\n");
    },
  );
});

Deno.test("smtp refuses a STARTTLS server whose certificate it does not trust", async () => {
  const c = await certs();
  await withSink({ tls: "starttls", certificates: c }, async (sink) => {
    const error = await rejection(createSmtpSender(url("smtp", sink)).send(mail));
    assert.ok(error instanceof SmtpError);
    assert.equal(error.step, "STARTTLS");
    assert.match(error.message, /^SMTP STARTTLS: .*certificate/i);
    assert.equal(sink.mails.length, 0);
  });
});

Deno.test("smtp speaks TLS from the first byte on smtps://", async () => {
  const c = await certs();
  await withSink(
    { tls: "implicit", certificates: c, auth: { user: USER, pass: PASSWORD } },
    async (sink) => {
      await createSmtpSender(url("smtps", sink), { caCerts: [c.ca] }).send(mail);
      const got = await sink.nextMail();
      assert.equal(got.secure, true);
      assert.equal(got.subject, mail.subject);
    },
  );
});

Deno.test("smtp falls back to AUTH LOGIN when PLAIN is not offered", async () => {
  await withSink({ auth: { user: USER, pass: PASSWORD }, authMethods: ["LOGIN"] }, async (sink) => {
    await createSmtpSender(url("smtp", sink)).send(mail);
    assert.equal((await sink.nextMail()).user, USER);
  });
});

Deno.test("smtp reports a wrong password as an AUTH error with the reply code, not the password", async () => {
  await withSink({ auth: { user: USER, pass: PASSWORD } }, async (sink) => {
    const wrong = "wrong-Pa55word";
    const error = await rejection(createSmtpSender(url("smtp", sink, wrong)).send(mail));
    assert.ok(error instanceof SmtpError);
    assert.equal(error.step, "AUTH");
    assert.equal(error.code, 535);
    assert.equal(error.transient, false);
    assert.match(error.message, /^SMTP AUTH: server replied 535 /);
    assert.ok(!error.message.includes(wrong));
    assert.ok(!String(error.cause ?? "").includes(wrong));
    assert.equal(sink.mails.length, 0);
  });
});

Deno.test("smtp names RCPT TO and the code when a recipient is refused", async () => {
  const reject = { address: "oncall@example.org", code: 550, message: "No such user" };
  await withSink({ rejectRecipient: reject }, async (sink) => {
    const error = await rejection(createSmtpSender(`smtp://127.0.0.1:${sink.port}`).send(mail));
    assert.ok(error instanceof SmtpError);
    assert.equal(error.step, "RCPT TO");
    assert.equal(error.code, 550);
    assert.match(error.message, /No such user/);
  });
});

Deno.test("smtp marks a 4xx reply as transient", async () => {
  const reject = { address: "ops@example.com", code: 451, message: "Try again later" };
  await withSink({ rejectRecipient: reject }, async (sink) => {
    const error = await rejection(createSmtpSender(`smtp://127.0.0.1:${sink.port}`).send(mail));
    assert.ok(error instanceof SmtpError);
    assert.equal(error.code, 451);
    assert.equal(error.transient, true);
  });
});

Deno.test("smtp encodes non-ASCII subjects and bodies so they arrive intact", async () => {
  await withSink({}, async (sink) => {
    const subject = "Spot-Unterbrechung für Knoten ärger — " + "ü".repeat(40);
    const text = "Grüße\nnode ✓\n.dot";
    await createSmtpSender(`smtp://127.0.0.1:${sink.port}`).send({ ...mail, subject, text });
    const got = await sink.nextMail();
    assert.equal(got.subject, subject);
    assert.equal(got.text, text);
    assert.ok(/^[\t\r\n -~]*$/.test(got.raw), "the wire form is 7-bit");
  });
});

Deno.test("smtp keeps a line break in the subject from adding a header", async () => {
  await withSink({}, async (sink) => {
    const subject = "hello\r\nBcc: victim@example.com";
    await createSmtpSender(`smtp://127.0.0.1:${sink.port}`).send({ ...mail, subject });
    const got = await sink.nextMail();
    assert.equal(got.headers.has("bcc"), false);
    assert.equal(got.subject, "hello Bcc: victim@example.com");
  });
});

Deno.test("smtp times out on a server that never greets", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  try {
    const sender = createSmtpSender(`smtp://127.0.0.1:${listener.addr.port}`, { timeoutMs: 100 });
    const error = await rejection(sender.send(mail));
    assert.ok(error instanceof SmtpError);
    assert.equal(error.message, "SMTP greeting: timed out after 100 ms");
    assert.equal(error.transient, true);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
  }
});

Deno.test("smtp stops when the caller's signal aborts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const controller = new AbortController();
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted.push(conn);
      controller.abort();
    }
  })();
  try {
    const sender = createSmtpSender(`smtp://127.0.0.1:${listener.addr.port}`);
    const error = await rejection(sender.send(mail, { signal: controller.signal }));
    assert.ok(error instanceof SmtpError);
    assert.match(error.message, /^SMTP (connect|greeting): aborted$/);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
  }
});

Deno.test("smtp names the connect step when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const error = await rejection(createSmtpSender(`smtp://127.0.0.1:${port}`).send(mail));
  assert.ok(error instanceof SmtpError);
  assert.equal(error.step, "connect");
  assert.equal(error.transient, true);
});

Deno.test("createSmtpSender rejects bad URLs without repeating them", () => {
  const cases: [string, RegExp][] = [
    ["not a url s3cretpw", /not a valid URL/],
    ["https://user:s3cretpw@mail.example.com", /scheme must be smtp: or smtps:/],
    ["smtp://user@mail.example.com:587", /user name without password/],
  ];
  for (const [value, expected] of cases) {
    assert.throws(() => createSmtpSender(value), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, expected);
      assert.ok(!error.message.includes("s3cretpw"));
      return true;
    });
  }
});

Deno.test("smtp rejects malformed addresses before connecting", async () => {
  const sender = createSmtpSender("smtp://127.0.0.1:1");
  const badTo = await rejection(sender.send({ ...mail, to: ["ops@example.com>\r\nDATA"] }));
  assert.ok(badTo instanceof TypeError);
  assert.match(badTo.message, /^mail to: /);
  const badFrom = await rejection(sender.send({ ...mail, from: "nobody" }));
  assert.match(badFrom.message, /^mail from: "nobody" is not an address$/);
  const none = await rejection(sender.send({ ...mail, to: [] }));
  assert.equal(none.message, "mail to: no recipient");
});
