// The API key and a restricted CORS origin list (keyed mode: run.sh writes worker/.dev.vars
// with API_KEY and ALLOWED_ORIGINS before starting wrangler dev).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, API_KEY, ALLOWED_ORIGIN, call, post, assertError } from './lib.mjs';

describe('API key on', { skip: MODE !== 'keyed' }, () => {
  test('GET /users without Authorization is 401', async () => {
    const r = await call('/users');
    assertError(r, 401, 'unauthorized');
    assert.equal(r.res.headers.get('www-authenticate'), 'Bearer');
  });

  test('GET /users with a wrong key is 401', async () => {
    assertError(await call('/users', { headers: { authorization: `Bearer ${API_KEY}x` } }), 401, 'unauthorized');
    assertError(await call('/users', { headers: { authorization: `Basic ${API_KEY}` } }), 401, 'unauthorized');
    assertError(await call('/users', { headers: { authorization: 'Bearer ' } }), 401, 'unauthorized');
  });

  test('GET /users with the key is 200', async () => {
    const r = await call('/users?limit=5', { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(r.res.status, 200);
    assert.equal(r.json.user_ids.length, 5);
  });

  test('the key guards /users only', async () => {
    assert.equal((await post('/recommend', { user_id: 'U10001' })).res.status, 200);
    assert.equal((await call('/health')).res.status, 200);
  });
});

describe('CORS with an origin list', { skip: MODE !== 'keyed' }, () => {
  test('an allowed origin is echoed, with Vary: Origin', async () => {
    const r = await post('/recommend', { user_id: 'U10001' }, { origin: ALLOWED_ORIGIN });
    assert.equal(r.res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.match(r.res.headers.get('vary') ?? '', /Origin/);
  });

  test('another origin gets no CORS headers, and its preflight is refused', async () => {
    const r = await post('/recommend', { user_id: 'U10001' }, { origin: 'https://evil.example' });
    assert.equal(r.res.status, 200);
    assert.equal(r.res.headers.get('access-control-allow-origin'), null);
    const pre = await call('/recommend', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assertError(pre, 403, 'origin_not_allowed');
  });

  test('the allowed origin\'s preflight passes', async () => {
    const pre = await call('/users', {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(pre.res.status, 204);
    assert.equal(pre.res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.match(pre.res.headers.get('access-control-allow-headers'), /Authorization/);
  });
});
