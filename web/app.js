// EdgeRec demo page: loads the wasm build and a model artifact from this page's own origin,
// then answers every query in the page. The page only displays: all scoring happens in
// edgerec-core (compiled to wasm), through the `Recommender` class of ./pkg.
import init, { Recommender } from './pkg/edgerec_wasm.js';
import { $, el } from './dom.js';
import { highlightMap, renderMap } from './map.js';

const DEFAULT_MODEL = 'models/demo.safetensors';
const SIMILAR_N = 8;
const LIST_LIMIT = 40;
const PALETTE = ['#2563eb', '#e07b00', '#0f9d74', '#c2418f', '#0ea5c6', '#d14b1f', '#7c5cd6', '#6b7280'];

/** What the page exposes for tests and the curious: timings (performance.now(), so
 * milliseconds since navigation start) and the last answers. */
const state = {
  rec: null,
  info: null,
  users: [],
  items: [],
  categoryColor: new Map(),
  mode: 'user',
  userId: null,
  session: [], // item IDs the known user viewed this session, oldest first
  visitor: new Map(), // itemId → rating
  recs: null,
  similarTo: null,
  mapDots: new Map(), // itemId → {cx, cy, fill, label} in map coordinates
  timings: { start: performance.now() },
};
window.edgerec = state;

// ---------------------------------------------------------------- loading

function modelUrl() {
  const param = new URLSearchParams(location.search).get('model');
  $('error-url').textContent = param || DEFAULT_MODEL;
  const url = new URL(param || DEFAULT_MODEL, location.href);
  if (url.origin !== location.origin) {
    throw new Error(`refusing to load a model from another origin (${url.origin}); this page only reads files next to it`);
  }
  return url;
}

async function fetchModel(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${url.pathname}: ${e.message}`);
  }
  if (!response.ok) {
    throw new Error(`could not fetch ${url.pathname}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function main() {
  const t = state.timings;
  try {
    const url = modelUrl();
    $('error-url').textContent = url.pathname;
    const [bytes] = await Promise.all([fetchModel(url), init()]);
    t.fetched = performance.now();
    state.rec = new Recommender(bytes);
    t.loaded = performance.now();
    state.info = state.rec.info();
    state.modelUrl = url.pathname;
  } catch (e) {
    showError(e);
    return;
  }
  setup();
}

function showError(e) {
  const message = e instanceof Error ? e.message : String(e);
  $('status').hidden = true;
  $('app').hidden = true;
  $('error').hidden = false;
  $('error-message').textContent = message.charAt(0).toUpperCase() + message.slice(1);
  document.body.dataset.state = 'error';
  console.error(e);
}

// ---------------------------------------------------------------- setup

function setup() {
  const { rec, info } = state;
  state.users = rec.users(0, info.numUsers);
  state.items = rec.items(0, info.numItems);
  info.categories.forEach((c, k) => state.categoryColor.set(c, PALETTE[k % PALETTE.length]));

  renderFacts();
  renderCategoryFilter();
  bindControls();

  const wanted = new URLSearchParams(location.search).get('user');
  const first = wanted && state.users.includes(wanted) ? wanted : state.users[0];
  $('status').hidden = true;
  $('app').hidden = false;
  renderUserResults('');
  if (first) {
    selectUser(first, { reveal: false });
  } else {
    // A model with no known users: only the new-visitor mode makes sense.
    $('tab-user').disabled = true;
    setMode('visitor');
  }
  // The first list is in the DOM: the page's "time to first recommendation".
  state.timings.firstRecommendation = performance.now();

  renderMap(state, catDot);
  highlightMap(state);
  renderRateList('');
  document.body.dataset.state = 'ready';
  const t = state.timings;
  $('timings').textContent =
    `Model and wasm fetched in ${ms(t.fetched - t.start)}, model validated in ${ms(t.loaded - t.fetched)}; ` +
    `first recommendation ${ms(t.firstRecommendation)} after navigation start.`;
}

const ms = (x) => (x < 10 ? `${x.toFixed(2)} ms` : `${Math.round(x)} ms`);
const kb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} KB`);
const num = (n) => n.toLocaleString('en-US');

function renderFacts() {
  const { info } = state;
  const facts = [
    ['Users', num(info.numUsers)],
    ['Items', num(info.numItems)],
    ['Factors', `d = ${info.dim}`],
    ['Model', `${info.kind}, ${kb(info.modelBytes)}`],
  ];
  $('model-facts').replaceChildren(
    ...facts.map(([k, v]) => el('div', { class: 'fact' }, el('dt', {}, k), el('dd', {}, v))),
  );
}

function renderCategoryFilter() {
  const box = $('category-filter');
  if (state.info.categories.length === 0) {
    box.hidden = true;
    return;
  }
  for (const c of state.info.categories) {
    const input = el('input', { type: 'checkbox', value: c, checked: true });
    input.checked = true;
    box.append(
      el('label', { class: 'cat-toggle', style: `--cat:${state.categoryColor.get(c)}` }, input, el('span', {}, c)),
    );
  }
}

// ---------------------------------------------------------------- queries

function options() {
  const topN = Number($('top-n').value);
  const boxes = [...$('category-filter').querySelectorAll('input')];
  const picked = boxes.filter((b) => b.checked).map((b) => b.value);
  const categories = boxes.length && picked.length < boxes.length ? picked : null;
  return { topN, categories };
}

/** Runs one query, timing it in the page. */
function timed(fn) {
  const start = performance.now();
  const result = fn();
  const elapsed = performance.now() - start;
  $('latency').textContent = `${elapsed < 1 ? elapsed.toFixed(2) : elapsed.toFixed(1)} ms in wasm`;
  state.lastLatencyMs = elapsed;
  return result;
}

function refresh() {
  const { rec } = state;
  const { topN, categories } = options();
  if (categories && categories.length === 0) {
    state.recs = { items: [], source: 'none', reason: null, unknownItems: [] };
    renderRecs('Pick at least one category.');
    return;
  }
  try {
    if (state.mode === 'user') {
      const request = { userId: state.userId, topN, categories };
      // What the user just did shifts their list at once (source "session").
      if (state.session.length) request.interactions = sessionInteractions();
      state.recs = timed(() => rec.recommend(request));
    } else {
      const interactions = [...state.visitor].map(([itemId, rating]) => ({ itemId, rating }));
      state.recs = timed(() => rec.recommendFor({ interactions, topN, categories }));
    }
    renderRecs();
  } catch (e) {
    state.recs = { items: [], source: 'none', reason: null, unknownItems: [] };
    renderRecs(e.message);
  }
}

function selectUser(userId, { focus = false, reveal = true } = {}) {
  if (userId !== state.userId) state.session = [];
  state.userId = userId;
  renderSession();
  $('recs-for').textContent = userId;
  for (const b of $('user-results').querySelectorAll('button')) {
    b.setAttribute('aria-pressed', String(b.dataset.user === userId));
  }
  const rated = state.rec.rated(userId);
  $('rated-count').textContent = `(${rated.length})`;
  const best = [...rated].sort((a, b) => b.rating - a.rating || a.index - b.index);
  $('rated-list').replaceChildren(
    ...best.slice(0, LIST_LIMIT).map((r) => el('li', {}, itemButton(r, { trailing: stars(r.rating) }))),
    ...(best.length > LIST_LIMIT ? [el('li', { class: 'more' }, `and ${best.length - LIST_LIMIT} more`)] : []),
  );
  refresh();
  if (focus) $('recs-heading').focus();
  else if (reveal && matchMedia('(max-width: 720px)').matches) {
    // One column on a phone: bring the new list into view.
    $('recs-heading').scrollIntoView({ block: 'start' });
  }
}

function setMode(mode) {
  if (mode === 'user' && !state.userId) return;
  state.mode = mode;
  for (const [tab, pane, m] of [['tab-user', 'pane-user', 'user'], ['tab-visitor', 'pane-visitor', 'visitor']]) {
    const on = m === mode;
    $(tab).setAttribute('aria-selected', String(on));
    $(tab).tabIndex = on ? 0 : -1;
    $(pane).hidden = !on;
  }
  document.body.dataset.mode = mode;
  $('recs-for').textContent = mode === 'user' ? state.userId : 'you';
  refresh();
}

function rate(itemId, rating) {
  if (state.visitor.get(itemId) === rating) state.visitor.delete(itemId);
  else state.visitor.set(itemId, rating);
  renderRateList($('item-search').value, { keepFocus: `${itemId}:${rating}` });
  renderMyRatings();
  refresh();
}

/** A click on an item, as a known user's session interaction: a click is a strong signal, so
 * it counts as the top of the rating scale (rating models) or one behaviour (ranking models). */
function sessionInteractions() {
  const { info } = state;
  const rating = info.kind === 'rating' ? (info.ratingRange?.[1] ?? 5) : 1;
  return state.session.map((itemId) => ({ itemId, rating }));
}

/** Records that the known user viewed an item (moved to the end if seen before). */
function view(itemId) {
  state.session = [...state.session.filter((id) => id !== itemId), itemId];
  renderSession();
  refresh();
}

function showSimilar(itemId) {
  state.similarTo = itemId;
  let similar;
  try {
    similar = state.rec.similar(itemId, SIMILAR_N);
  } catch (e) {
    $('similar-note').textContent = e.message;
    $('similar-list').replaceChildren();
    return;
  }
  const item = state.items.find((i) => i.itemId === itemId);
  $('similar-heading').replaceChildren('Similar to ', el('span', { class: 'similar-target' }, itemId));
  $('similar-note').textContent = item?.category
    ? `Nearest neighbours of a ${item.category} item, by cosine similarity of item factors.`
    : 'Nearest neighbours by cosine similarity of item factors.';
  $('similar-list').replaceChildren(
    ...similar.map((s) => el('li', {}, itemButton(s, { score: s.score, scoreMax: 1, scoreLabel: 'cosine' }))),
  );
  highlightMap(state);
}

// ---------------------------------------------------------------- rendering

function catDot(category) {
  return el('span', { class: 'cat-dot', style: `--cat:${state.categoryColor.get(category) ?? '#9ca3af'}`, 'aria-hidden': 'true' });
}

function stars(rating) {
  const full = Math.max(0, Math.min(5, Math.round(rating)));
  return el('span', { class: 'stars-text', 'aria-label': `rated ${rating}` }, '★'.repeat(full) + '☆'.repeat(5 - full));
}

/** A focusable item: clicking it shows similar items. */
function itemButton(item, { rank, score, scoreMax, scoreMin = 0, scoreLabel = 'score', trailing } = {}) {
  const label = [item.itemId, item.category, score != null ? `${scoreLabel} ${score.toFixed(2)}` : null]
    .filter(Boolean)
    .join(', ');
  const parts = [
    rank != null ? el('span', { class: 'rank', 'aria-hidden': 'true' }, String(rank)) : null,
    catDot(item.category),
    el('span', { class: 'item-id' }, item.itemId),
    item.category ? el('span', { class: 'item-cat' }, item.category) : null,
  ];
  if (score != null) {
    const width = Math.max(2, Math.min(100, ((score - scoreMin) / ((scoreMax - scoreMin) || 1)) * 100));
    parts.push(
      el('span', { class: 'score-bar', 'aria-hidden': 'true' }, el('span', { style: `width:${width.toFixed(1)}%` })),
      el('span', { class: 'score' }, score.toFixed(2)),
    );
  }
  if (trailing) parts.push(trailing);
  return el(
    'button',
    { type: 'button', class: 'item', dataset: { item: item.itemId }, 'aria-label': `${label}. Show similar items` },
    ...parts,
  );
}

/** Each listed item's reasons: the user's (or the visitor's) items behind its score, from the
 * core's `explain()`; none for the popular fallback. */
function reasons() {
  const { recs, rec } = state;
  if (recs.source === 'popular' || recs.source === 'none' || !recs.items.length) return recs.items.map(() => []);
  const request = { itemIds: recs.items.map((i) => i.itemId) };
  if (state.mode === 'user') {
    request.userId = state.userId;
    if (state.session.length) request.interactions = sessionInteractions();
  } else {
    request.interactions = [...state.visitor].map(([itemId, rating]) => ({ itemId, rating }));
  }
  try {
    return rec.explain(request);
  } catch {
    return recs.items.map(() => []);
  }
}

function because(reasons) {
  if (!reasons.length) return null;
  const all = reasons.map((r) => `${r.itemId} (${Math.round(r.share * 100)} %)`).join(', ');
  return el('span', { class: 'because', title: `What this score rests on: ${all}` }, `because you viewed ${reasons[0].itemId}`);
}

function renderRecs(problem) {
  const { recs, info } = state;
  const list = $('recs-list');
  const scores = recs.items.map((i) => i.score);
  const [lo, hi] = info.ratingRange ?? [Math.min(0, ...scores), Math.max(...scores, 1e-9)];
  const why = reasons();
  list.replaceChildren(
    ...recs.items.map((item, k) =>
      el('li', {}, itemButton(item, { rank: k + 1, score: item.score, scoreMin: lo, scoreMax: hi, scoreLabel: info.kind === 'rating' ? 'predicted rating' : 'score' }), because(why[k] ?? [])),
    ),
  );
  list.dataset.source = recs.source;
  const note = $('recs-note');
  note.className = 'note';
  if (problem) {
    note.textContent = problem;
    note.classList.add('note-warn');
  } else if (recs.source === 'personalized') {
    note.textContent = `Personalised from ${state.userId}'s learned factors${info.kind === 'rating' ? '; scores are predicted ratings' : ''}.`;
  } else if (recs.source === 'session') {
    const n = state.session.length;
    const how = info.recency ? 'through the model\'s recency component' : 'by fold-in';
    note.textContent = `Personalised for ${state.userId}, shifted at once ${how} by the ${n} item${n === 1 ? '' : 's'} viewed this session, without retraining.`;
    note.classList.add('note-live');
  } else if (recs.source === 'fold_in') {
    note.textContent = `Folded in from your ${state.visitor.size} rating${state.visitor.size === 1 ? '' : 's'}, without retraining.`;
    note.classList.add('note-live');
  } else {
    note.textContent = state.mode === 'visitor' && state.visitor.size === 0
      ? 'Most popular items. Rate a few to make them yours.'
      : `Most popular items (${recs.reason}).`;
  }
  highlightMap(state);
}

function renderUserResults(query) {
  const q = query.trim().toLowerCase();
  const matches = q ? state.users.filter((u) => u.toLowerCase().includes(q)) : state.users;
  $('user-count').textContent = q
    ? `${num(matches.length)} of ${num(state.users.length)} users match`
    : `${num(state.users.length)} users`;
  $('user-results').replaceChildren(
    ...matches.slice(0, 24).map((u) =>
      el('li', {}, el('button', { type: 'button', class: 'chip', dataset: { user: u }, 'aria-pressed': String(u === state.userId) }, u)),
    ),
  );
  return matches;
}

function renderRateList(query, { keepFocus } = {}) {
  const q = query.trim().toLowerCase();
  let candidates;
  if (q) {
    candidates = state.items.filter((i) => i.itemId.toLowerCase().includes(q) || (i.category ?? '').toLowerCase() === q);
  } else {
    // The most popular items, as the core orders them.
    candidates = state.rec.recommendFor({ interactions: [], topN: Math.min(24, state.info.numItems), excludeRated: false }).items;
  }
  $('rate-list').replaceChildren(
    ...candidates.slice(0, 24).map((item) => {
      const current = state.visitor.get(item.itemId) ?? 0;
      const starButtons = [1, 2, 3, 4, 5].map((r) =>
        el('button', {
          type: 'button',
          class: `star${r <= current ? ' on' : ''}`,
          dataset: { rate: item.itemId, value: String(r) },
          'aria-pressed': String(r === current),
          'aria-label': `Rate ${item.itemId} ${r} of 5`,
        }, '★'),
      );
      return el('li', { class: 'rate-row' },
        itemButton(item),
        el('span', { class: 'star-group', role: 'group', 'aria-label': `Your rating of ${item.itemId}` }, ...starButtons));
    }),
  );
  if (keepFocus) {
    const [id, value] = keepFocus.split(':');
    $('rate-list').querySelector(`[data-rate="${CSS.escape(id)}"][data-value="${value}"]`)?.focus();
  }
}

function renderSession() {
  const n = state.session.length;
  $('session-count').textContent = n ? `(${n})` : '';
  $('reset-session').hidden = n === 0;
  const byId = new Map(state.items.map((i) => [i.itemId, i]));
  $('session-list').replaceChildren(
    ...(n
      ? state.session.map((itemId) => el('li', {}, itemButton(byId.get(itemId) ?? { itemId, category: null })))
      : [el('li', { class: 'empty' }, 'Nothing viewed yet.')]),
  );
}

function renderMyRatings() {
  const mine = [...state.visitor];
  $('my-count').textContent = mine.length ? `(${mine.length})` : '';
  $('reset-ratings').hidden = mine.length === 0;
  const byId = new Map(state.items.map((i) => [i.itemId, i]));
  $('my-ratings').replaceChildren(
    ...(mine.length
      ? mine.map(([itemId, rating]) => el('li', {}, itemButton(byId.get(itemId) ?? { itemId, category: null }, { trailing: stars(rating) })))
      : [el('li', { class: 'empty' }, 'No ratings yet.')]),
  );
}

// ---------------------------------------------------------------- events

function bindControls() {
  $('user-search').addEventListener('input', (e) => renderUserResults(e.target.value));
  $('user-search').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const q = e.target.value.trim();
    const exact = state.users.find((u) => u.toLowerCase() === q.toLowerCase());
    const pick = exact ?? renderUserResults(q)[0];
    if (pick) selectUser(pick, { focus: true });
  });
  $('user-results').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-user]');
    if (b) selectUser(b.dataset.user);
  });
  $('item-search').addEventListener('input', (e) => renderRateList(e.target.value));
  $('reset-ratings').addEventListener('click', () => {
    state.visitor.clear();
    renderRateList($('item-search').value);
    renderMyRatings();
    refresh();
  });
  $('reset-session').addEventListener('click', () => {
    state.session = [];
    renderSession();
    refresh();
  });
  $('top-n').addEventListener('change', refresh);
  $('category-filter').addEventListener('change', refresh);

  // Tabs: click, and arrow keys between them (WAI-ARIA tabs pattern).
  for (const id of ['tab-user', 'tab-visitor']) {
    $(id).addEventListener('click', () => setMode(id === 'tab-user' ? 'user' : 'visitor'));
    $(id).addEventListener('keydown', (e) => {
      if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
      e.preventDefault();
      const next = state.mode === 'user' ? 'visitor' : 'user';
      setMode(next);
      $(next === 'user' ? 'tab-user' : 'tab-visitor').focus();
    });
  }

  // Any item anywhere: stars rate it, the item itself shows similar items and, for a known
  // user, counts as viewed in this session (except in the session list itself).
  document.addEventListener('click', (e) => {
    const star = e.target.closest('button[data-rate]');
    if (star) {
      rate(star.dataset.rate, Number(star.dataset.value));
      return;
    }
    const item = e.target.closest('button.item[data-item]');
    if (!item) return;
    showSimilar(item.dataset.item);
    if (state.mode === 'user' && !item.closest('#session-list')) view(item.dataset.item);
  });
  $('map').addEventListener('click', (e) => {
    const dot = e.target.closest('circle[data-item]');
    if (!dot) return;
    showSimilar(dot.dataset.item);
    if (state.mode === 'user') view(dot.dataset.item);
  });
  renderMyRatings();
}

main();
