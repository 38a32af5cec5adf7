// A table of bad requests, each with its expected status and error code. None may panic the
// Worker or produce a 5xx; each answers the JSON error body.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertError } from './lib.mjs';

const json = (body, headers) => ({ method: 'POST', path: '/recommend', body, headers });
const big = JSON.stringify({ user_id: 'U10001', exclude_items: Array.from({ length: 9000 }, (_, i) => `ITEM${i}`) });

// [name, request, status, code]
const TABLE = [
  ['truncated JSON', json('{"user_id": "U10001"'), 400, 'invalid_json'],
  ['not JSON at all', json('user_id=U10001'), 400, 'invalid_json'],
  ['empty body', json(''), 400, 'invalid_json'],
  ['trailing garbage', json('{"user_id":"U10001"} x'), 400, 'invalid_json'],
  ['array instead of object', json('[]'), 400, 'invalid_request'],
  ['string instead of object', json('"U10001"'), 400, 'invalid_request'],
  ['null body', json('null'), 400, 'invalid_request'],
  ['array of field values', json('["U10001", 5]'), 400, 'invalid_request'],
  ['neither user_id nor interactions', json('{}'), 400, 'invalid_request'],
  ['user_id is a number', json('{"user_id": 10001}'), 400, 'invalid_request'],
  ['user_id is empty', json('{"user_id": ""}'), 400, 'invalid_request'],
  ['user_id over 256 bytes', json(JSON.stringify({ user_id: 'U'.repeat(300) })), 400, 'invalid_request'],
  ['top_n is 0', json('{"user_id": "U10001", "top_n": 0}'), 400, 'invalid_request'],
  ['top_n is 101', json('{"user_id": "U10001", "top_n": 101}'), 400, 'invalid_request'],
  ['top_n is negative', json('{"user_id": "U10001", "top_n": -1}'), 400, 'invalid_request'],
  ['top_n is fractional', json('{"user_id": "U10001", "top_n": 10.5}'), 400, 'invalid_request'],
  ['top_n is a string', json('{"user_id": "U10001", "top_n": "5"}'), 400, 'invalid_request'],
  ['top_n in exponent form', json('{"user_id": "U10001", "top_n": 1e3}'), 400, 'invalid_request'],
  ['top_n is 2^53+1 (no float rounding)', json('{"user_id": "U10001", "top_n": 9007199254740993}'), 400, 'invalid_request'],
  ['top_n is 2^64', json('{"user_id": "U10001", "top_n": 18446744073709551616}'), 400, 'invalid_request'],
  ['exclude_rated is a string', json('{"user_id": "U10001", "exclude_rated": "yes"}'), 400, 'invalid_request'],
  ['unknown field (typo)', json('{"user_id": "U10001", "topn": 5}'), 400, 'invalid_request'],
  ['duplicate field', json('{"user_id": "U10001", "user_id": "U10004"}'), 400, 'invalid_request'],
  ['exclude_items is a string', json('{"user_id": "U10001", "exclude_items": "TECH1001"}'), 400, 'invalid_request'],
  ['categories holds a number', json('{"user_id": "U10001", "categories": [1]}'), 400, 'invalid_request'],
  ['unknown category', json('{"user_id": "U10001", "categories": ["toys"]}'), 400, 'unknown_category'],
  // null is never a value: leave a field out for its default.
  ['top_n is null', json('{"user_id": "U10001", "top_n": null}'), 400, 'invalid_request'],
  ['user_id is null', json('{"user_id": null, "interactions": [{"item_id": "TECH1001", "rating": 5}]}'), 400, 'invalid_request'],
  ['exclude_rated is null', json('{"user_id": "U10001", "exclude_rated": null}'), 400, 'invalid_request'],
  ['exclude_items is null', json('{"user_id": "U10001", "exclude_items": null}'), 400, 'invalid_request'],
  ['categories is null', json('{"user_id": "U10001", "categories": null}'), 400, 'invalid_request'],
  ['interactions is null', json('{"user_id": "U10001", "interactions": null}'), 400, 'invalid_request'],
  // Malformed interactions next to a user_id (a session) are 400s too, never 5xx.
  ['session: interaction without rating', json('{"user_id": "U10001", "interactions": [{"item_id": "TECH1001"}]}'), 400, 'invalid_request'],
  ['session: rating is a string', json('{"user_id": "U10001", "interactions": [{"item_id": "TECH1001", "rating": "5"}]}'), 400, 'invalid_request'],
  ['session: rating overflows f32', json('{"user_id": "U10001", "interactions": [{"item_id": "TECH1001", "rating": 1e39}]}'), 400, 'invalid_request'],
  ['session: item_id is empty', json('{"user_id": "U10001", "interactions": [{"item_id": "", "rating": 5}]}'), 400, 'invalid_request'],
  ['session: item_id is null', json('{"user_id": "U10001", "interactions": [{"item_id": null, "rating": 5}]}'), 400, 'invalid_request'],
  ['session: unknown key in an interaction', json('{"user_id": "U10001", "interactions": [{"item_id": "TECH1001", "rating": 5, "at": 1}]}'), 400, 'invalid_request'],
  ['session: interactions is an object', json('{"user_id": "U10001", "interactions": {"TECH1001": 5}}'), 400, 'invalid_request'],
  ['session: interactions is a list of pairs', json('{"user_id": "U10001", "interactions": [["TECH1001", 5]]}'), 400, 'invalid_request'],
  ['session: over 1000 interactions', json(JSON.stringify({ user_id: 'U10001', interactions: Array.from({ length: 1001 }, () => ({ item_id: 'TECH1001', rating: 5 })) })), 400, 'invalid_request'],
  ['interaction without rating', json('{"interactions": [{"item_id": "TECH1001"}]}'), 400, 'invalid_request'],
  ['interaction rating is a string', json('{"interactions": [{"item_id": "TECH1001", "rating": "5"}]}'), 400, 'invalid_request'],
  ['interaction rating overflows f32', json('{"interactions": [{"item_id": "TECH1001", "rating": 1e39}]}'), 400, 'invalid_request'],
  ['interactions is an object', json('{"interactions": {"TECH1001": 5}}'), 400, 'invalid_request'],
  ['body over 64 KiB', json(big), 413, 'payload_too_large'],
  ['Content-Type text/plain', json('{"user_id": "U10001"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
  ['Content-Type form', json('user_id=U10001', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
  ['no Content-Type', { method: 'POST', path: '/recommend', body: new Uint8Array(Buffer.from('{"user_id":"U10001"}')), headers: {} }, 415, 'unsupported_media_type'],
  ['GET /recommend', { method: 'GET', path: '/recommend' }, 405, 'method_not_allowed'],
  ['PUT /recommend', { method: 'PUT', path: '/recommend', body: '{}' }, 405, 'method_not_allowed'],
  ['DELETE /health', { method: 'DELETE', path: '/health' }, 405, 'method_not_allowed'],
  ['POST /health', { method: 'POST', path: '/health', body: '{}' }, 405, 'method_not_allowed'],
  ['PATCH /users', { method: 'PATCH', path: '/users', body: '{}' }, 405, 'method_not_allowed'],
  ['POST /items/TECH1001/similar', { method: 'POST', path: '/items/TECH1001/similar', body: '{}' }, 405, 'method_not_allowed'],
  ['unknown route', { path: '/recommendations' }, 404, 'not_found'],
  ['trailing slash', { path: '/recommend/' }, 404, 'not_found'],
  ['extra path segment', { path: '/items/TECH1001/similar/more' }, 404, 'not_found'],
  ['unknown item', { path: '/items/NOSUCHITEM/similar' }, 404, 'unknown_item'],
  ['similar n=0', { path: '/items/TECH1001/similar?n=0' }, 400, 'invalid_request'],
  ['similar n=abc', { path: '/items/TECH1001/similar?n=abc' }, 400, 'invalid_request'],
  ['similar n=101', { path: '/items/TECH1001/similar?n=101' }, 400, 'invalid_request'],
  ['GET recommend n=-1', { path: '/recommend/U10001?n=-1' }, 400, 'invalid_request'],
  ['GET recommend n empty', { path: '/recommend/U10001?n=' }, 400, 'invalid_request'],
  ['GET recommend exclude_rated=maybe', { path: '/recommend/U10001?exclude_rated=maybe' }, 400, 'invalid_request'],
  ['users limit=0', { path: '/users?limit=0' }, 400, 'invalid_request'],
  ['users limit=1001', { path: '/users?limit=1001' }, 400, 'invalid_request'],
  ['users limit=1.5', { path: '/users?limit=1.5' }, 400, 'invalid_request'],
  // Undecodable percent-encoding in a query string is a 400, not ignored.
  ['users cursor=%%%', { path: '/users?cursor=%%%' }, 400, 'invalid_request'],
  ['users cursor with a broken escape', { path: '/users?cursor=U1%2' }, 400, 'invalid_request'],
  ['users cursor with invalid UTF-8', { path: '/users?cursor=%FF%FE' }, 400, 'invalid_request'],
  ['similar n=%zz', { path: '/items/TECH1001/similar?n=%zz' }, 400, 'invalid_request'],
  ['path with invalid UTF-8', { path: '/items/%FF%FE/similar' }, 400, 'invalid_request'],
  ['path with a broken escape', { path: '/recommend/U1%2' }, 400, 'invalid_request'],
];

describe('bad requests', { skip: MODE !== 'open' }, () => {
  test('the table has at least 30 rows', () => assert.ok(TABLE.length >= 30));

  for (const [name, req, status, code] of TABLE) {
    test(`${status} ${code}: ${name}`, async () => {
      const r = await call(req.path, { method: req.method ?? 'GET', headers: req.headers ?? { 'content-type': 'application/json' }, body: req.body });
      assertError(r, status, code);
      if (status === 405) assert.match(r.res.headers.get('allow') ?? '', /OPTIONS/);
      assert.ok(r.res.headers.get('server-timing'), 'errors carry Server-Timing too');
    });
  }

  test('413 is decided before reading: a chunked 200 KiB body', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent++ < 200) c.enqueue(chunk);
        else c.close();
      },
    });
    const r = await call('/recommend', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' });
    assertError(r, 413, 'payload_too_large');
  });

  test('the Worker is still healthy after all of them', async () => {
    const r = await post('/recommend', { user_id: 'U10001', top_n: 3 });
    assert.equal(r.res.status, 200);
    assert.equal((await call('/health')).json.status, 'healthy');
  });
});
