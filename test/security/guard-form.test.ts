// The guard's form_body: an HTML form's fields (application/x-www-form-urlencoded) are what a query string's
// parameters are to the upstream's parser, and are inspected alike. Before, a login form carrying `admin'--` reached
// the service of a route whose query strings the guard blocked for the same text.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { test } from 'node:test';
import { service, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { metric } from '../helpers/metrics.ts';
import { sha256, startHashingUpstream } from '../helpers/upstream.ts';

const FORM = 'application/x-www-form-urlencoded';

test('form_body: the fields of a urlencoded form are inspected as query parameters are; clean forms pass', async () => {
  const up = await startHashingUpstream();
  const received = up.received;
  const gw = await startGateway({
    services: [
      { ...service('api', [up.url], [{ paths: ['/api'] }]), guard: { inspect: { form_body: true } } },
      // json_body alone: forms are not read there.
      { ...service('json', [up.url], [{ paths: ['/json'] }]), guard: { inspect: { json_body: true } } },
    ],
  });
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    send(gw.url, path, { method: 'POST', body, headers: { 'content-type': FORM, ...headers } });
  try {
    const clean = 'user=O%27Brien&comment=drop+shipping%3B+select+committee&city=Z%C3%BCrich&tags=a&tags=b';
    const ok = await post('/api/login', clean);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(received.at(-1), sha256(clean), 'a clean form arrives byte for byte');

    const attacks: [string, Record<string, string>?][] = [
      ["user=admin'--&password=x"], // a value, as sent
      ['q=1%27+or+1%3D1--'], // percent-encoded, + for spaces
      ['%3Cscript%3Ealert(1)%3C%2Fscript%3E=1'], // a field name
      ['a=1&bio=%253Csvg%2520onload%253Dalert(1)%253E'], // double encoding
      ["user=admin'--", { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' }],
      ["user=admin'--", { 'transfer-encoding': 'chunked' }], // of undeclared length
    ];
    for (const [body, headers] of attacks) {
      const r = await post('/api/login', body, headers);
      assert.equal(r.status, 403, `${body} ${JSON.stringify(headers ?? {})}`);
      assert.equal(JSON.parse(r.text).code, 'GW_ERR_INJECTION_BLOCKED');
    }
    assert.equal(received.length, 1, 'no blocked form reached the upstream');
    assert.equal(await metric(gw, 'tollgate_guard_detections_total', 'service="api",kind="sqli",action="blocked"'), 4);

    // Larger than max_inspect_bytes (65536): sent on uninspected, counted.
    const big = `pad=${'x'.repeat(70_000)}&user=admin'--`;
    assert.equal((await post('/api/login', big)).status, 200);
    assert.equal(received.at(-1), sha256(big));
    // Not a form: not read as one. json_body alone does not read forms.
    assert.equal((await post('/api/login', "user=admin'--", { 'content-type': 'text/plain' })).status, 200);
    assert.equal((await post('/json/login', "user=admin'--")).status, 200);

    const bodies = (svc: string, result: string) =>
      metric(gw, 'tollgate_guard_bodies_total', `service="${svc}",type="form",result="${result}"`);
    assert.equal(await bodies('api', 'inspected'), 1 + attacks.length);
    assert.equal(await bodies('api', 'too_large'), 1);
    assert.equal(await bodies('json', 'inspected'), 0);
  } finally {
    await gw.close();
    await up.close();
  }
});

// Regression: a form sent as multipart/form-data, which every framework reads as it reads a urlencoded one, went on
// uninspected: the easiest way round form_body.
test("form_body: a multipart form's fields and filenames are inspected, an upload's bytes are not", async () => {
  const up = await startHashingUpstream();
  const gw = await startGateway({
    services: [{ ...service('api', [up.url], [{ paths: ['/api'] }]), guard: { inspect: { form_body: true } } }],
  });
  const multipart = (parts: string[]) => `${parts.map((p) => `--XyZ\r\n${p}\r\n`).join('')}--XyZ--\r\n`;
  const post = (body: string, type = 'multipart/form-data; boundary=XyZ') =>
    send(gw.url, '/api/upload', { method: 'POST', body, headers: { 'content-type': type } });
  try {
    const upload = multipart([
      'Content-Disposition: form-data; name="title"\r\n\r\nO\'Brien\'s holiday',
      'Content-Disposition: form-data; name="photo"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n' +
        "\x89PNG<script>' or 1=1--",
    ]);
    assert.equal((await post(upload)).status, 200, "an upload's bytes are not parameters");
    assert.equal(up.received.at(-1), sha256(upload), 'and arrive byte for byte');
    for (const part of [
      'Content-Disposition: form-data; name="user"\r\n\r\nadmin\'--',
      'Content-Disposition: form-data; name="f"; filename="<svg onload=alert(1)>.png"\r\n' +
        'Content-Type: image/png\r\n\r\nx',
    ]) {
      const r = await post(multipart([part]));
      assert.equal(r.status, 403, part);
      assert.equal(JSON.parse(r.text).code, 'GW_ERR_INJECTION_BLOCKED');
    }
    // Read with the boundary the body opens with too, whichever the Content-Type names (parsers differ on which of
    // two they take, and on quotes).
    for (const type of ['multipart/form-data; boundary=other', 'multipart/form-data; boundary=other; boundary=XyZ']) {
      const r = await post(multipart(['Content-Disposition: form-data; name="user"\r\n\r\nadmin\'--']), type);
      assert.equal(r.status, 403, type);
    }
    // No delimiter at all: no field for any parser to read; counted, sent on.
    assert.equal((await post("user=admin'--", 'multipart/form-data; boundary=other')).status, 200);
    assert.equal(
      await metric(gw, 'tollgate_guard_bodies_total', 'service="api",type="form",result="invalid_multipart"'),
      1,
    );
    assert.equal(up.received.length, 2, 'no blocked form reached the upstream');
  } finally {
    await gw.close();
    await up.close();
  }
});

// A service that parses a body whatever its type says (Go's json.NewDecoder(r.Body)) reads what the guard did not:
// allowed_body_types refuses other types, as the OWASP Core Rule Set's rule 920420 does.
test('allowed_body_types: a body of another type or none gets 415; no body, or a listed type, passes', async () => {
  const up = await startHashingUpstream();
  const gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        ...service('api', [up.url], [{ paths: ['/api'] }]),
        guard: { inspect: { json_body: true }, allowed_body_types: ['application/json', 'multipart/*'] },
      },
    ],
  });
  const post = (body: string | undefined, headers: Record<string, string>) =>
    send(gw.url, '/api/x', { method: body === undefined ? 'GET' : 'POST', body, headers });
  try {
    for (const [type, status] of [
      ['application/json', 200],
      ['Application/JSON; charset=utf-8', 200],
      ['multipart/form-data; boundary=z', 200],
      ['text/plain', 415],
      ['application/x-www-form-urlencoded', 415],
      ['application/json/x', 415],
    ] as const) {
      const r = await post('{"a":1}', { 'content-type': type });
      assert.equal(r.status, status, type);
      if (status === 415) assert.equal(JSON.parse(r.text).code, 'GW_ERR_BODY_TYPE_NOT_ALLOWED');
    }
    assert.equal((await post('{"a":1}', {})).status, 415, 'a body without a Content-Type');
    assert.equal((await post(undefined, {})).status, 200, 'no body, no type needed');
    const h2 = await h2Post(gw.port('h2c'), 'text/plain');
    assert.equal(h2, 415, 'HTTP/2 without Content-Length too');
    assert.equal(up.received.length, 4, 'what was refused never reached the upstream');
  } finally {
    await gw.close();
    await up.close();
  }
});

/** Status of an HTTP/2 POST of a small body of `type`, sent without Content-Length. */
async function h2Post(port: number, type: string): Promise<number> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  try {
    const req = session.request({ ':method': 'POST', ':path': '/api/x', 'content-type': type });
    req.end('{"a":1}');
    req.resume();
    return await new Promise<number>((resolve, reject) => {
      req.once('response', (h) => resolve(Number(h[':status'])));
      req.once('error', reject);
    });
  } finally {
    session.close();
  }
}
