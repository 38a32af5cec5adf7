// Shared helpers for the Worker's end-to-end tests. run.sh starts `wrangler dev` and sets:
//   EDGEREC_URL   base URL of the running Worker
//   EDGEREC_MODE  one of MODES (see tests/worker/run.sh for what each serves)
//   EDGEREC_API_KEY, EDGEREC_ALLOWED_ORIGIN  for keyed mode
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

export const BASE = process.env.EDGEREC_URL ?? 'http://127.0.0.1:8787';
export const MODES = ['open', 'keyed', 'corrupt', 'missing', 'r2', 'live', 'catalogue', 'experiment', 'models', 'r2key', 'scale', 'demo'];
export const MODE = process.env.EDGEREC_MODE ?? 'open';
if (!MODES.includes(MODE)) {
  throw new Error(`EDGEREC_MODE=${MODE} is not one of ${MODES.join(', ')}: no test would run`);
}
export const API_KEY = process.env.EDGEREC_API_KEY ?? '';
export const ALLOWED_ORIGIN = process.env.EDGEREC_ALLOWED_ORIGIN ?? '';

/** fetch against the Worker; returns { res, text, json } (json is undefined if not JSON).
 *
 * A request sent on a kept-alive connection that workerd has just closed as idle fails with
 * "other side closed" before workerd reads it. The tests block the event loop with
 * execFileSync (wrangler, the trainer, sqlite), so the client cannot see the close in time, and
 * under load the race is real. Such a request never reached the Worker, so it is sent once more
 * on a fresh connection, and the retry is logged. */
export async function call(path, init = {}) {
  let res;
  try {
    res = await fetch(BASE + path, { redirect: 'manual', ...init });
  } catch (e) {
    if (e?.cause?.code !== 'UND_ERR_SOCKET' || !String(e.cause.message).includes('other side closed')) throw e;
    console.log(`# ${init.method ?? 'GET'} ${path}: the kept-alive connection was closed; sent again`);
    res = await fetch(BASE + path, { redirect: 'manual', ...init });
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { res, text, json };
}

/** POST a JSON body (a string is sent as is). */
export function post(path, body, headers = {}) {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Asserts the error body shape {"error":{"code","message"}} and the status. */
export function assertError(r, status, code) {
  assert.equal(r.res.status, status, `status for ${r.res.url}: ${r.text}`);
  assert.match(r.res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(typeof r.json?.error?.code, 'string', r.text);
  assert.equal(typeof r.json?.error?.message, 'string', r.text);
  assert.deepEqual(Object.keys(r.json), ['error']);
  if (code) assert.equal(r.json.error.code, code, r.text);
}

/** An answer without what traces it (its recommendation_id, model_version and variant), for
 * comparing two answers' lists. */
export function untraced(json) {
  const { recommendation_id: _id, model_version: _version, variant: _variant, ...rest } = json;
  return rest;
}

/** Asserts the seed's recommendation shape. */
export function assertRecommendations(json, n) {
  assert.deepEqual(Object.keys(json).slice(0, 3), ['user_id', 'recommendations', 'total_count']);
  assert.equal(json.total_count, json.recommendations.length);
  if (n !== undefined) assert.equal(json.total_count, n);
  json.recommendations.forEach((r, i) => {
    // The seed's keys, in its order; `because` follows them only when `explain` asked for it.
    const keys = Object.keys(r);
    assert.deepEqual(keys, ['rank', 'item_id', 'predicted_rating', ...(keys.length === 4 ? ['because'] : [])]);
    assert.equal(r.rank, i + 1);
    assert.equal(typeof r.item_id, 'string');
    assert.equal(typeof r.predicted_rating, 'number');
    assert.ok(Math.abs(r.predicted_rating * 1e4 - Math.round(r.predicted_rating * 1e4)) < 1e-6, 'four decimals');
  });
  // The seed ranks by predicted_rating, so its clients read rank 1 as the highest.
  json.recommendations.slice(1).forEach((r, i) => {
    const above = json.recommendations[i];
    assert.ok(r.predicted_rating <= above.predicted_rating,
      `rank ${r.rank} has predicted_rating ${r.predicted_rating}, above rank ${above.rank}'s ${above.predicted_rating}`);
  });
}

/** Rows of a read-only query on the local D1 database (EDGEREC_D1_SQLITE, set by run.sh in the
 * modes that have D1). */
export function d1(sql, ...params) {
  const script = 'import json, sqlite3, sys\ncon = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)\n'
    + 'print(json.dumps(con.execute(sys.argv[2], sys.argv[3:]).fetchall()))';
  return JSON.parse(execFileSync('python3', ['-c', script, process.env.EDGEREC_D1_SQLITE, sql, ...params], { encoding: 'utf8' }));
}

/** Polls `check` until it returns something truthy (returned); fails after `seconds`. */
export async function eventually(what, check, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
