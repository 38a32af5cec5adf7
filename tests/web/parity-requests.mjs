// The requests the parity test asks both the native core and the wasm build, for the fixture
// model (`cargo run -p edgerec-core --example fixture`, default arguments). Run as a script it
// prints them as JSON for `cargo run -p edgerec-wasm --example parity`.

// Fixture IDs: user u is `U${10001 + 3u + u % 2}`; item i is `${group}${1000 + 2⌊i/3⌋ + 1}`.
const user = (u) => `U${10001 + u * 3 + (u % 2)}`;
const item = (i) => `${['TECH', 'FASH', 'SPRT'][i % 3]}${1000 + Math.floor(i / 3) * 2 + 1}`;

export function parityRequests() {
  const requests = [];
  for (let u = 0; u < 1000; u += 37) {
    requests.push({ method: 'recommend', args: { userId: user(u), topN: 10 } });
  }
  requests.push(
    { method: 'recommend', args: { userId: user(1), topN: 1 } },
    { method: 'recommend', args: { userId: user(2), topN: 50, excludeRated: false } },
    { method: 'recommend', args: { userId: user(3), topN: 20, categories: ['fashion'] } },
    { method: 'recommend', args: { userId: user(4), topN: 15, categories: ['tech', 'sports'], excludeItems: [item(0), item(3), 'NOT-AN-ITEM'] } },
    { method: 'recommend', args: { userId: user(999), topN: 1000 } },
    { method: 'recommend', args: { userId: 'U99999', topN: 5 } },
    { method: 'recommend', args: { userId: user(5), topN: 0 } },
    { method: 'recommend', args: { userId: user(5), categories: ['food'] } },
  );
  const visitors = [
    [[item(0), 5], [item(3), 4]],
    [[item(1), 5], [item(4), 5], [item(7), 1]],
    [[item(2), 3], [item(599), 5], ['NOT-AN-ITEM', 4]],
    [['NOT-AN-ITEM', 4]],
    [],
    Array.from({ length: 40 }, (_, k) => [item(k * 7), 1 + (k % 5)]),
  ];
  for (const v of visitors) {
    const interactions = v.map(([itemId, rating]) => ({ itemId, rating }));
    requests.push({ method: 'recommendFor', args: { interactions, topN: 10 } });
  }
  requests.push({ method: 'recommendFor', args: { interactions: [{ itemId: item(2), rating: 5 }], topN: 5, categories: ['sports'], excludeRated: false } });
  // Sessions: a known user plus what they just did (oldest first), through recommend().
  const sessions = [
    [user(0), [[item(1), 5], [item(4), 5]]],
    [user(1), [[item(2), 1]]],
    [user(2), [[item(0), 5], [item(3), 4], ['NOT-AN-ITEM', 4], [item(0), 2]]],
    [user(3), Array.from({ length: 30 }, (_, k) => [item(k * 11 + 1), 1 + (k % 5)])],
    [user(4), [['NOT-AN-ITEM', 4]]],
    [user(5), []],
    ['U99999', [[item(2), 5], [item(5), 5]]],
    ['U99999', []],
  ];
  for (const [userId, s] of sessions) {
    const interactions = s.map(([itemId, rating]) => ({ itemId, rating }));
    requests.push({ method: 'recommend', args: { userId, interactions, topN: 10 } });
  }
  const clicks = [{ itemId: item(7), rating: 5 }, { itemId: item(10), rating: 3 }];
  requests.push(
    { method: 'recommend', args: { userId: user(6), interactions: clicks, topN: 20, excludeRated: false } },
    { method: 'recommend', args: { userId: user(7), interactions: clicks, topN: 10, categories: ['sports'], excludeItems: [item(2)] } },
    { method: 'recommend', args: { userId: user(8), interactions: clicks, topN: 0 } },
    { method: 'recommend', args: { userId: user(8), interactions: [{ itemId: item(1), rating: 1e39 }] } },
  );
  for (const i of [0, 1, 2, 100, 599]) requests.push({ method: 'similar', args: { itemId: item(i), n: 10 } });
  requests.push({ method: 'similar', args: { itemId: 'NOT-AN-ITEM', n: 10 } });
  requests.push({ method: 'similar', args: { itemId: item(5), n: 1001 } });
  return requests;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(JSON.stringify(parityRequests(), null, 1));
}
