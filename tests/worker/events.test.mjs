// The event path in the real runtime: POST /events -> local Queue -> consumer -> local D1 ->
// GET /admin/events (live mode: run.sh applies the D1 migrations, writes ADMIN_TOKEN to
// worker/.dev.vars, and serves a bundle without a model, since events never need one), and the
// admin routes switched off when no ADMIN_TOKEN is configured (open mode).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MODE, call, post, assertError } from './lib.mjs';

const ADMIN_TOKEN = process.env.EDGEREC_ADMIN_TOKEN ?? '';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
// A prefix for this run's event IDs, so that reruns against the same state never collide.
const RUN = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One page of /admin/events: { r, rows, next }. */
async function page(after, limit) {
  const q = new URLSearchParams();
  if (after !== undefined) q.set('after', String(after));
  if (limit !== undefined) q.set('limit', String(limit));
  const r = await call(`/admin/events?${q}`, { headers: AUTH });
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.res.headers.get('content-type'), 'application/x-ndjson');
  const rows = r.text === '' ? [] : r.text.split('\n').filter((l, i, all) => i < all.length - 1 || l !== '').map((l) => JSON.parse(l));
  assert.ok(r.text === '' || r.text.endsWith('\n'), 'every line ends with a newline');
  return { r, rows, next: Number(r.res.headers.get('x-next-cursor')) };
}

/** Every stored event, paging 5000 at a time. */
async function all() {
  const out = [];
  let after = 0;
  for (;;) {
    const p = await page(after, 5000);
    out.push(...p.rows);
    if (p.rows.length < 5000) return out;
    after = p.next;
  }
}

/** Polls the log until `ids` are all stored (at most 15 s); returns their rows. */
async function stored(ids) {
  const want = new Set(ids);
  const deadline = Date.now() + 15000;
  for (;;) {
    const rows = (await all()).filter((e) => want.has(e.event_id));
    if (new Set(rows.map((e) => e.event_id)).size === want.size) return rows;
    assert.ok(Date.now() < deadline, `not stored within 15 s: ${[...want].filter((id) => !rows.some((e) => e.event_id === id))}`);
    await sleep(200);
  }
}

const ev = (n, extra = {}) => ({ user_id: `${RUN}-U`, item_id: `I${n}`, behavior: 'view', ...extra });

describe('events, live', { skip: MODE !== 'live' }, () => {
  test('events need no model: /recommend is 503 here, /events is 202', async () => {
    assertError(await post('/recommend', { user_id: 'U10001' }), 503, 'model_unavailable');
    const r = await post('/events', { events: [ev(0, { event_id: `${RUN}-nomodel` })] });
    assert.equal(r.res.status, 202, r.text);
  });

  test('202 with the count and the IDs in order; stored with stored_at >= received_at', async () => {
    const before = Date.now();
    const r = await post('/events', {
      events: [
        { user_id: `${RUN}-U1`, item_id: 'TECH1001', behavior: 'purchase', rating: 4, timestamp: '2026-12-01T10:00:00.5+01:00', event_id: `${RUN}-a` },
        { user_id: `${RUN}-U1`, item_id: 'TECH1002', rating: 2.5, timestamp: 1764583200 },
        { user_id: `${RUN}-U2`, item_id: 'TECH1003', behavior: 'click' },
      ],
    });
    const after = Date.now();
    assert.equal(r.res.status, 202, r.text);
    assert.equal(r.json.accepted, 3);
    assert.equal(r.json.event_ids.length, 3);
    assert.equal(r.json.event_ids[0], `${RUN}-a`);
    for (const id of r.json.event_ids.slice(1)) assert.match(id, /^ev-[0-9a-f]{32}$/);
    assert.notEqual(r.json.event_ids[1], r.json.event_ids[2]);

    const rows = await stored(r.json.event_ids);
    const byId = Object.fromEntries(rows.map((e) => [e.event_id, e]));
    const a = byId[`${RUN}-a`];
    assert.deepEqual(Object.keys(a), ['seq', 'event_id', 'user_id', 'item_id', 'behavior', 'rating', 'timestamp', 'received_at', 'stored_at']);
    assert.deepEqual([a.user_id, a.item_id, a.behavior, a.rating, a.timestamp], [`${RUN}-U1`, 'TECH1001', 'purchase', 4, 1796115600]);
    const b = byId[r.json.event_ids[1]];
    assert.deepEqual([b.behavior, b.rating, b.timestamp], [null, 2.5, 1764583200]);
    const c = byId[r.json.event_ids[2]];
    assert.deepEqual([c.behavior, c.rating], ['click', null]);
    assert.ok(Math.abs(c.timestamp - Math.floor(before / 1000)) <= 2, 'a missing timestamp is the accept time');
    for (const e of rows) {
      assert.ok(e.received_at >= before - 1000 && e.received_at <= after + 1000, `received_at ${e.received_at} in [${before}, ${after}]`);
      assert.ok(e.stored_at >= e.received_at, `stored_at ${e.stored_at} >= received_at ${e.received_at}`);
      assert.equal(a.received_at, e.received_at, 'one batch, one received_at');
    }
  });

  test('an event_id posted twice, in one batch and again later, is stored once', async () => {
    const id = `${RUN}-dup`;
    const first = await post('/events', { events: [ev(1, { event_id: id, rating: 1 }), ev(2, { event_id: id, rating: 5 })] });
    assert.equal(first.res.status, 202, first.text);
    assert.deepEqual(first.json.event_ids, [id, id]);
    await stored([id]);
    const again = await post('/events', { events: [ev(3, { event_id: id }), ev(4, { event_id: `${RUN}-dup-marker` })] });
    assert.equal(again.res.status, 202, again.text);
    await stored([`${RUN}-dup-marker`]);
    const rows = (await all()).filter((e) => e.event_id === id);
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0].item_id, rows[0].rating], ['I1', 1], 'the first delivery wins');
  });

  test('paging: oldest first, after/limit, X-Next-Cursor', async () => {
    const start = (await all()).at(-1)?.seq ?? 0;
    const ids = Array.from({ length: 7 }, (_, i) => `${RUN}-page-${i}`);
    const r = await post('/events', { events: ids.map((id, i) => ev(i, { event_id: id })) });
    assert.equal(r.res.status, 202, r.text);
    await stored(ids);
    const seen = [];
    let after = start;
    const sizes = [];
    for (;;) {
      const p = await page(after, 3);
      sizes.push(p.rows.length);
      if (p.rows.length === 0) {
        assert.equal(p.next, after, 'an empty page gives back its cursor');
        break;
      }
      assert.equal(p.next, p.rows.at(-1).seq);
      for (const row of p.rows) assert.ok(row.seq > after);
      seen.push(...p.rows);
      after = p.next;
      if (p.rows.length < 3) break;
    }
    const mine = seen.filter((e) => e.event_id.startsWith(`${RUN}-page-`));
    assert.deepEqual(mine.map((e) => e.event_id), ids, 'in the order posted');
    const seqs = seen.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.ok(sizes.slice(0, -1).every((n) => n === 3), `${sizes}`);
    // The defaults: after=0, limit=1000.
    const first = await page();
    assert.ok(first.rows.length >= 7 && first.rows.length <= 1000);
    assert.equal(first.rows[0].seq, (await page(0, 1)).rows[0].seq);
  });

  test('a full batch of 500 is split into messages of 100, and all of it is stored', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `${RUN}-bulk-${i}`);
    const r = await post('/events', { events: ids.map((id, i) => ev(i, { event_id: id })) });
    assert.equal(r.res.status, 202, r.text);
    assert.equal(r.json.accepted, 500);
    assert.equal((await stored(ids)).length, 500);
  });

  test('events with long escaped IDs are split by size, and stored intact', async () => {
    // About 3 KB of queue message per event: under the count limit, over the size limit.
    const user = '\u0001'.repeat(200) + RUN;
    const item = '\u0002'.repeat(256);
    const ids = Array.from({ length: 70 }, (_, i) => `${RUN}-wide-${i}`);
    const r = await post('/events', { events: ids.map((id) => ({ user_id: user, item_id: item, rating: 3, event_id: id })) });
    assert.equal(r.res.status, 202, r.text);
    const rows = await stored(ids);
    assert.ok(rows.every((e) => e.user_id === user && e.item_id === item));
  });

  test('the admin token: 401 without it or with a wrong one', async () => {
    for (const headers of [{}, { authorization: `Bearer ${ADMIN_TOKEN}x` }, { authorization: `Basic ${ADMIN_TOKEN}` }, { authorization: 'Bearer ' }]) {
      const r = await call('/admin/events', { headers });
      assertError(r, 401, 'unauthorized');
      assert.equal(r.res.headers.get('www-authenticate'), 'Bearer');
    }
  });

  test('bad cursors and limits are 400s', async () => {
    for (const q of ['after=-1', 'after=abc', 'after=', 'after=1.5', 'limit=0', 'limit=5001', 'limit=1e3', 'limit=%zz', 'after=99999999999999999999']) {
      assertError(await call(`/admin/events?${q}`, { headers: AUTH }), 400, 'invalid_request');
    }
  });

  test('methods: POST /events and GET /admin/events only', async () => {
    const r = await call('/events');
    assertError(r, 405, 'method_not_allowed');
    assert.equal(r.res.headers.get('allow'), 'POST, OPTIONS');
    const a = await call('/admin/events', { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{}' });
    assertError(a, 405, 'method_not_allowed');
    assert.equal(a.res.headers.get('allow'), 'GET, HEAD, OPTIONS');
    assert.equal((await call('/events', { method: 'OPTIONS' })).res.status, 204);
  });

  // Each bad batch starts with a good event whose ID marks it as rejected; none may be stored.
  let n = 0;
  const rejected = () => ({ user_id: 'U', item_id: 'I', behavior: 'view', event_id: `${RUN}-rejected-${n++}` });
  const batch = (...bad) => JSON.stringify({ events: [rejected(), ...bad] });
  const U = { user_id: 'U', item_id: 'I' };
  const future = Math.floor(Date.now() / 1000) + 2 * 86400;
  const long = 'x'.repeat(256);
  // [name, body, status, code, message pattern]
  const TABLE = [
    ['501 events', JSON.stringify({ events: Array.from({ length: 501 }, rejected) }), 413, 'payload_too_large'],
    ['body over 512 KiB', JSON.stringify({ events: [rejected(), { ...U, behavior: 'view', event_id: 'x', pad: ' '.repeat(530000) }] }), 413, 'payload_too_large'],
    ['over the queue limit per send', JSON.stringify({ events: Array.from({ length: 450 }, (_, i) => ({ user_id: long, item_id: long, behavior: 'view', event_id: `${RUN}-rejected-q${i}` })) }), 413, 'payload_too_large', /queue/],
    ['no events', '{"events": []}', 400, 'invalid_request', /events/],
    ['events missing', '{}', 400, 'invalid_request', /events/],
    ['events is null', '{"events": null}', 400, 'invalid_request', /null/],
    ['events is an object', '{"events": {}}', 400, 'invalid_request'],
    ['a bare list', JSON.stringify([rejected()]), 400, 'invalid_request'],
    ['unknown top-level field', JSON.stringify({ events: [rejected()], source: 'web' }), 400, 'invalid_request'],
    ['broken JSON', '{"events": [', 400, 'invalid_json'],
    ['user_id is a number', batch({ ...U, user_id: 7, behavior: 'view' }), 400, 'invalid_request', /^events\[1\]\.user_id/],
    ['item_id is a list', batch({ ...U, item_id: ['I'], behavior: 'view' }), 400, 'invalid_request', /^events\[1\]\.item_id/],
    ['user_id missing', batch({ item_id: 'I', behavior: 'view' }), 400, 'invalid_request', /^events\[1\]\.user_id/],
    ['user_id empty', batch({ ...U, user_id: '', behavior: 'view' }), 400, 'invalid_request', /events\[1\]\.user_id/],
    ['user_id over 256 bytes', batch({ ...U, user_id: 'u'.repeat(257), behavior: 'view' }), 400, 'invalid_request', /events\[1\]\.user_id/],
    ['unknown behavior', batch({ ...U, behavior: 'like' }), 400, 'invalid_request', /^events\[1\]\.behavior: unknown variant `like`/],
    ['behavior in capitals', batch({ ...U, behavior: 'VIEW' }), 400, 'invalid_request', /^events\[1\]\.behavior/],
    ['neither behavior nor rating', batch({ ...U }), 400, 'invalid_request', /^events\[1\]: .*behavior/],
    ['rating 0', batch({ ...U, rating: 0 }), 400, 'invalid_request', /^events\[1\]\.rating/],
    ['rating above 5', batch({ ...U, rating: 5.5 }), 400, 'invalid_request', /^events\[1\]\.rating/],
    ['rating is a string', batch({ ...U, rating: '5' }), 400, 'invalid_request', /^events\[1\]\.rating/],
    ['timestamp garbage', batch({ ...U, behavior: 'view', timestamp: 'yesterday' }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp without a zone', batch({ ...U, behavior: 'view', timestamp: '2026-12-01T10:00:00' }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp negative', batch({ ...U, behavior: 'view', timestamp: -1 }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp before 1970', batch({ ...U, behavior: 'view', timestamp: '1969-12-31T23:59:59Z' }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp two days ahead', batch({ ...U, behavior: 'view', timestamp: future }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp a float', batch({ ...U, behavior: 'view', timestamp: 1764583200.5 }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp in milliseconds', batch({ ...U, behavior: 'view', timestamp: Date.now() }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['timestamp is a bool', batch({ ...U, behavior: 'view', timestamp: true }), 400, 'invalid_request', /^events\[1\]\.timestamp/],
    ['event_id empty', batch({ ...U, behavior: 'view', event_id: '' }), 400, 'invalid_request', /^events\[1\]\.event_id/],
    ['event_id with a space', batch({ ...U, behavior: 'view', event_id: 'a b' }), 400, 'invalid_request', /^events\[1\]\.event_id/],
    ['event_id over 128 bytes', batch({ ...U, behavior: 'view', event_id: 'e'.repeat(129) }), 400, 'invalid_request', /^events\[1\]\.event_id/],
    ['event_id not ASCII', batch({ ...U, behavior: 'view', event_id: 'é' }), 400, 'invalid_request', /^events\[1\]\.event_id/],
    ['event_id a number', batch({ ...U, behavior: 'view', event_id: 5 }), 400, 'invalid_request', /^events\[1\]\.event_id/],
    ['unknown field', batch({ ...U, behavior: 'view', session: 's1' }), 400, 'invalid_request', /^events\[1\]\.session/],
    ['an event is a string', batch('U,I,view'), 400, 'invalid_request', /^events\[1\]: /],
    ['an event is a list', batch(['U', 'I', 'view']), 400, 'invalid_request', /^events\[1\]: /],
    ['the third event is bad', JSON.stringify({ events: [rejected(), rejected(), { ...U, behavior: 'view', rating: 9 }, { ...U }] }), 400, 'invalid_request', /^events\[2\]\.rating/],
    ...['user_id', 'item_id', 'behavior', 'rating', 'timestamp', 'event_id'].map((field) => [
      `${field} is null`,
      batch({ ...U, behavior: 'view', rating: 3, timestamp: 1, event_id: 'e', [field]: null }),
      400,
      'invalid_request',
      new RegExp(`^events\\[1\\]\\.${field}: is null`),
    ]),
  ];

  test('the bad-input table has at least 40 rows', () => assert.ok(TABLE.length >= 40, `${TABLE.length}`));

  for (const [name, body, status, code, pattern] of TABLE) {
    test(`POST /events: ${status} ${code}: ${name}`, async () => {
      const r = await post('/events', body);
      assertError(r, status, code);
      if (pattern) assert.match(r.json.error.message, pattern);
    });
  }

  test('content types: 415 for anything but JSON', async () => {
    const body = JSON.stringify({ events: [rejected()] });
    assertError(await call('/events', { method: 'POST', headers: { 'content-type': 'text/plain' }, body }), 415, 'unsupported_media_type');
    assertError(await call('/events', { method: 'POST', body: new TextEncoder().encode(body) }), 415, 'unsupported_media_type');
  });

  test('413 is decided before reading: a chunked 600 KiB body', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent++ < 600) c.enqueue(chunk);
        else c.close();
      },
    });
    const r = await call('/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' });
    assertError(r, 413, 'payload_too_large');
  });

  test('nothing of a rejected batch was stored', async () => {
    const sentinel = `${RUN}-after-rejects`;
    assert.equal((await post('/events', { events: [ev(9, { event_id: sentinel })] })).res.status, 202);
    await stored([sentinel]);
    await sleep(1500); // past the consumer's batch timeout (1 s)
    const leaked = (await all()).filter((e) => e.event_id.startsWith(`${RUN}-rejected-`));
    assert.deepEqual(leaked, []);
    assert.ok(n > 500, 'the table did send marked events');
  });
});

describe('events, admin routes off', { skip: MODE !== 'open' }, () => {
  test('GET /admin/events is 404 when no ADMIN_TOKEN is configured, token or not', async () => {
    assertError(await call('/admin/events'), 404, 'not_found');
    assertError(await call('/admin/events?after=0&limit=10', { headers: { authorization: 'Bearer anything' } }), 404, 'not_found');
  });
});
