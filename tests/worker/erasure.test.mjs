// Deleting a user (catalogue mode: the fixture bundled, D1 with the migrations applied, a local
// Queue, AVAILABILITY_REFRESH_SECONDS=1). run.sh sets:
//   EDGEREC_ADMIN_TOKEN  the ADMIN_TOKEN it wrote to .dev.vars
//   EDGEREC_REFRESH      AVAILABILITY_REFRESH_SECONDS of the config it started the Worker with
//   EDGEREC_D1_SQLITE    the local D1 database's SQLite file, read here
// The fixture carries no `erased_through`, so every deletion applies to it. The user deleted here
// is one no other test uses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertError, untraced, d1, eventually } from './lib.mjs';

const AUTH = { authorization: `Bearer ${process.env.EDGEREC_ADMIN_TOKEN ?? ''}` };
const REFRESH_S = Number(process.env.EDGEREC_REFRESH ?? '1');
const USER = 'U11501';

const del = (id, headers = AUTH) => call(`/admin/users/${id}`, { method: 'DELETE', headers });
const deletions = async (query = '') => {
  const r = await call(`/admin/deletions?limit=5000${query}`, { headers: AUTH });
  assert.equal(r.res.status, 200, r.text);
  return r.text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
};
const storedEvents = (user) => d1('SELECT event_id, timestamp FROM events WHERE user_id = ? ORDER BY seq', user);
const ids = (json) => json.recommendations.map((r) => r.item_id);

describe('deleting a user', { skip: MODE !== 'catalogue' }, () => {
  test('bad requests are 4xx and change nothing', async () => {
    const before = await deletions();
    assertError(await del(USER, {}), 401, 'unauthorized');
    assertError(await del(USER, { authorization: 'Bearer wrong' }), 401, 'unauthorized');
    assertError(await del(''), 400, 'invalid_request');
    assertError(await del('x'.repeat(257)), 400, 'invalid_request');
    assertError(await del('%FF'), 400, 'invalid_request');
    assertError(await call(`/admin/users/${USER}`, { headers: AUTH }), 405, 'method_not_allowed');
    assertError(await call('/admin/users', { method: 'DELETE', headers: AUTH }), 404, 'not_found');
    assertError(await call('/admin/deletions'), 401, 'unauthorized');
    assertError(await call('/admin/deletions?after=-1', { headers: AUTH }), 400, 'invalid_request');
    assertError(await call('/admin/deletions?limit=0', { headers: AUTH }), 400, 'invalid_request');
    assert.deepEqual(await deletions(), before);
  });

  test('an unknown user: 204 each time, one line in the log with the latest seq', async () => {
    const who = `nobody-${Date.now()}`;
    const first = await del(encodeURIComponent(who));
    assert.equal(first.res.status, 204, first.text);
    assert.equal(first.text, '');
    const second = await del(encodeURIComponent(who));
    assert.equal(second.res.status, 204, second.text);
    const [a, b] = [first, second].map((r) => Number(r.res.headers.get('x-deletion-seq')));
    assert.ok(b > a, `seq ${b} after ${a}`);
    const lines = (await deletions()).filter((d) => d.user_id === who);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].seq, b);
    assert.deepEqual(await deletions(`&after=${b}`), (await deletions()).filter((d) => d.seq > b));
  });

  test('a known user: events, impressions and lists gone; served as unknown; a return starts anew', async () => {
    const users = (await call('/users?limit=1000')).json;
    assert.ok(users.user_ids.includes(USER));
    const known = (await call(`/recommend/${USER}?n=5`)).json;
    assert.equal(known.fallback, undefined, 'the fixture knows the user');
    const events = [1, 2, 3].map((k) => ({ user_id: USER, item_id: 'TECH1001', behavior: 'click', event_id: `erase-${Date.now()}-${k}` }));
    assert.equal((await post('/events', { events })).res.status, 202);
    await eventually('the events are stored', () => storedEvents(USER).length === 3);
    await eventually('an impression of the user is stored', () => d1('SELECT 1 FROM impressions WHERE user_id = ?', USER).length > 0);

    const r = await del(USER);
    assert.equal(r.res.status, 204, r.text);
    const seq = Number(r.res.headers.get('x-deletion-seq'));
    const [row] = d1('SELECT seq, deleted_at FROM deleted_users WHERE user_id = ?', USER);
    assert.equal(row[0], seq);
    assert.deepEqual(storedEvents(USER), []);
    assert.deepEqual(d1('SELECT 1 FROM impressions WHERE user_id = ? AND served_at <= ?', USER, row[1]), []);

    // Served as unknown within the refresh interval (this isolate was told at once).
    const unknown = (await call('/recommend/NO-SUCH-USER?n=5')).json;
    const gone = await eventually('the user is served as unknown', async () => {
      const got = (await call(`/recommend/${USER}?n=5`)).json;
      return got.fallback === 'popular' && got;
    }, REFRESH_S + 3);
    assert.deepEqual({ ...untraced(gone), user_id: 'NO-SUCH-USER' }, untraced(unknown));
    const posted = (await post('/recommend', { user_id: USER, top_n: 5 })).json;
    assert.equal(posted.fallback, 'popular');
    assert.deepEqual(ids(posted), ids(unknown));
    const clicks = [{ item_id: 'SPRT1003', rating: 5 }];
    const session = (await post('/recommend', { user_id: USER, interactions: clicks, top_n: 5 })).json;
    const visitor = (await post('/recommend', { interactions: clicks, top_n: 5 })).json;
    assert.deepEqual(ids(session), ids(visitor), 'a session is a visitor\'s fold-in');
    const after = (await call('/users?limit=1000')).json;
    assert.ok(!after.user_ids.includes(USER));
    assert.equal(after.total_users, users.total_users - 1);
    assert.deepEqual((await deletions(`&after=${seq - 1}`))[0], { seq, user_id: USER, deleted_at: row[1] });

    // Coming back: an event from before the deletion (late) is dropped, a new one is kept, and
    // the model still serves them as unknown (it was trained before the deletion).
    await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() - row[1])));
    const late = { user_id: USER, item_id: 'TECH1001', behavior: 'view', event_id: `late-${seq}`, timestamp: Math.floor(row[1] / 1000) - 60 };
    const fresh = { user_id: USER, item_id: 'FASH1005', behavior: 'view', event_id: `fresh-${seq}` };
    assert.equal((await post('/events', { events: [late, fresh] })).res.status, 202);
    await eventually('the new event is stored', () => storedEvents(USER).length > 0);
    assert.deepEqual(storedEvents(USER).map((e) => e[0]), [fresh.event_id]);
    assert.equal((await call(`/recommend/${USER}?n=5`)).json.fallback, 'popular');
  });
});
