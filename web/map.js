// The item map of the demo page: every item placed by a 2-D projection of its factors (the
// artifact's, or one the core computes when a large catalogue's artifact leaves it out), with
// the current recommendations and the selected item ringed.
import { $, el, svg } from './dom.js';

const MAP_MAX_DOTS = 5000;

/** Draws the 2-D item map (or says it is empty); remembers each item's dot in
 * `state.mapDots` so highlights can be drawn for any item. */
export function renderMap(state, catDot) {
  const map = state.rec.itemMap();
  const box = $('map');
  if (!map || map.points.length === 0) {
    box.hidden = true;
    $('map-empty').hidden = false;
    return;
  }
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of map.points) {
    [x0, x1, y0, y1] = [Math.min(x0, p.x), Math.max(x1, p.x), Math.min(y0, p.y), Math.max(y1, p.y)];
  }
  const pad = 14;
  const sx = (x) => pad + ((x - x0) / ((x1 - x0) || 1)) * (400 - 2 * pad);
  const sy = (y) => 300 - pad - ((y - y0) / ((y1 - y0) || 1)) * (300 - 2 * pad);
  const base = svg('g', { class: 'dots' });
  const top = svg('g', { class: 'dots-top' });
  // Every item gets a position; very large catalogues draw an even sample of them as dots
  // (highlights are always drawn).
  const stride = Math.max(1, Math.ceil(map.points.length / MAP_MAX_DOTS));
  map.points.forEach((p, k) => {
    const fill = state.categoryColor.get(p.category) ?? '#9ca3af';
    const label = `${p.itemId}${p.category ? ` (${p.category})` : ''}`;
    const pos = { cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), fill, label };
    state.mapDots.set(p.itemId, pos);
    if (k % stride !== 0) return;
    const c = svg('circle', { cx: pos.cx, cy: pos.cy, r: 2.6, fill, 'data-item': p.itemId });
    const title = svg('title');
    title.textContent = label;
    c.append(title);
    base.append(c);
  });
  box.replaceChildren(svg('rect', { class: 'map-bg', x: 0, y: 0, width: 400, height: 300, rx: 10 }), base, top);
  state.mapTop = top;
  $('map-legend').replaceChildren(
    ...map.categories.map((c) => el('li', {}, catDot(c), c)),
    el('li', { class: 'legend-rec' }, el('span', { class: 'ring', 'aria-hidden': 'true' }), 'recommended'),
  );
}

/** Rings the current recommendations and the item whose neighbours are shown. */
export function highlightMap(state) {
  if (!state.mapTop) return;
  const top = state.mapTop;
  top.replaceChildren();
  const ring = (itemId, cls, r) => {
    const dot = state.mapDots.get(itemId);
    if (!dot) return;
    const c = svg('circle', { cx: dot.cx, cy: dot.cy, r, class: cls, fill: dot.fill, 'data-item': itemId });
    const title = svg('title');
    title.textContent = dot.label;
    c.append(title);
    top.append(c);
  };
  for (const item of state.recs?.items ?? []) ring(item.itemId, 'dot-rec', 5.2);
  if (state.similarTo) {
    ring(state.similarTo, 'dot-selected', 8);
    ring(state.similarTo, 'dot-selected-core', 3.4);
  }
}
