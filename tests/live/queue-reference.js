// The reference point of bench/live.sh: the least any Worker can do for POST /events under
// `wrangler dev` (read the body, send it to the local queue as one text message, answer 202),
// with a consumer that only acknowledges. Its throughput against its own trivial route (405) is
// the ceiling that the local queue itself leaves; EdgeRec's Worker is measured against the same.
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method !== 'POST' || pathname !== '/events') {
      return Response.json({ error: { code: 'method_not_allowed' } }, { status: 405 });
    }
    await env.EVENTS.send(await request.text(), { contentType: 'text' });
    return Response.json({ accepted: 1 }, { status: 202 });
  },
  async queue(batch) {
    batch.ackAll();
  },
};
