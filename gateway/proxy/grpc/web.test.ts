import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Base64Decoder, grpcWebCall } from './web.ts';

test('grpcWebCall reads the gRPC-Web content types, and nothing else', () => {
  const kinds = (ct: string | undefined) => {
    const call = grpcWebCall(ct);
    return call && [call.text, call.subtype, call.contentType, call.grpcContentType];
  };
  assert.deepEqual(kinds('application/grpc-web'), [false, '', 'application/grpc-web', 'application/grpc']);
  assert.deepEqual(kinds('application/grpc-web+proto'), [
    false,
    '+proto',
    'application/grpc-web+proto',
    'application/grpc+proto',
  ]);
  assert.deepEqual(kinds('application/grpc-web-text+proto'), [
    true,
    '+proto',
    'application/grpc-web-text+proto',
    'application/grpc+proto',
  ]);
  assert.deepEqual(kinds('application/grpc-web-text-base64'), [
    true,
    '',
    'application/grpc-web-text',
    'application/grpc',
  ]);
  assert.deepEqual(kinds('application/grpc-web; charset=utf-8')?.slice(0, 2), [false, '; charset=utf-8']);
  for (const other of [undefined, 'application/grpc', 'application/grpc+proto', 'application/grpc-webby', 'text/plain'])
    assert.equal(grpcWebCall(other), undefined, String(other));
});

test('the trailer frame is flag 0x80, a 4-byte length and one header line per trailer', () => {
  const frame = grpcWebCall('application/grpc-web')!.trailerFrame({
    'grpc-status': '0',
    'Grpc-Message': 'ok',
    'x-many': ['a', 'b'],
    gone: undefined,
  });
  const block = 'grpc-status: 0\r\ngrpc-message: ok\r\nx-many: a\r\nx-many: b\r\n';
  assert.equal(frame[0], 0x80);
  assert.equal(frame.readUInt32BE(1), block.length);
  assert.equal(frame.subarray(5).toString(), block);
  const text = grpcWebCall('application/grpc-web-text')!.trailerFrame({ 'grpc-status': '0' });
  assert.deepEqual(
    Buffer.from(text.toString(), 'base64'),
    grpcWebCall('application/grpc-web')!.trailerFrame({ 'grpc-status': '0' }),
  );
});

test('a base64 body of padded segments decodes whole however it is split into chunks', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (segments, cuts) => {
        // Each segment encoded on its own, as a client that flushes would: padding inside the body.
        const text = segments.map((s) => Buffer.from(s).toString('base64')).join('');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const decoder = new Base64Decoder();
        const out: Buffer[] = [];
        let from = 0;
        for (const cut of [...at, text.length]) {
          out.push(decoder.push(Buffer.from(text.slice(from, cut), 'latin1')));
          from = cut;
        }
        assert.equal(decoder.end(), null);
        assert.deepEqual(Buffer.concat(out), Buffer.concat(segments.map((s) => Buffer.from(s))));
      },
    ),
  );
});

test('anything but base64 is refused: a stray character, padding inside a group, a body ending mid-group', () => {
  for (const bad of ['QUJD!', 'Q=Q=', 'QQ==Q', 'QUJD QUJD', 'QQ=A']) {
    const decoder = new Base64Decoder();
    let error: unknown;
    try {
      decoder.push(Buffer.from(bad, 'latin1'));
      error = decoder.end();
    } catch (e) {
      error = e;
    }
    assert.equal((error as { code?: string } | null)?.code, 'TOLLGATE_GRPC_WEB_BAD_BODY', bad);
  }
});
