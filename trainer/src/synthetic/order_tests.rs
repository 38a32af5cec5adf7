use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::synthetic::generator::{GenConfig, GenSummary, Generator, Record};

fn sequential(users: usize, items: usize, interactions: usize, seed: u64) -> GenConfig {
    GenConfig { users, items, interactions, seed, order: Order::Sequential }
}

fn collect(config: GenConfig) -> (Arc<Generator>, Vec<Record>, GenSummary) {
    let generator = Arc::new(Generator::new(config).expect("valid config"));
    let mut records = generator.records();
    let rows: Vec<Record> = records.by_ref().collect();
    let summary = records.summary();
    (generator, rows, summary)
}

/// Each user's items in generation order (which is time order).
fn histories(rows: &[Record], users: usize) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); users];
    for r in rows {
        out[r.user as usize].push(r.item);
    }
    out
}

/// HR@10 on each user's last item (users with at least 3 rows) of most-popular and of a
/// first-order "next item" model: the most frequent successors of the user's last training
/// item in the other users' training histories, then most-popular. Both skip items the user
/// has.
fn hit_rates(histories: &[Vec<u32>], items: usize) -> (f64, f64) {
    let mut popularity = vec![0u32; items];
    let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
    for h in histories.iter().filter(|h| h.len() >= 3) {
        let train = &h[..h.len() - 1];
        for &i in train {
            popularity[i as usize] += 1;
        }
        for w in train.windows(2) {
            *pairs.entry((w[0], w[1])).or_default() += 1;
        }
    }
    let mut by_popularity: Vec<u32> = (0..items as u32).collect();
    by_popularity.sort_by_key(|&i| (std::cmp::Reverse(popularity[i as usize]), i));
    let (mut popular_hits, mut markov_hits, mut users) = (0usize, 0usize, 0usize);
    for h in histories.iter().filter(|h| h.len() >= 3) {
        let (train, target) = (&h[..h.len() - 1], h[h.len() - 1]);
        let last = train[train.len() - 1];
        let mut own: HashMap<u32, u32> = HashMap::new();
        for w in train.windows(2).filter(|w| w[0] == last) {
            *own.entry(w[1]).or_default() += 1;
        }
        let mut next: Vec<(u32, u32)> = pairs
            .iter()
            .filter(|((from, _), _)| *from == last)
            .map(|(&(_, to), &n)| (to, n - own.get(&to).copied().unwrap_or(0)))
            .filter(|&(_, n)| n > 0)
            .collect();
        next.sort_by_key(|&(to, n)| (std::cmp::Reverse(n), std::cmp::Reverse(popularity[to as usize]), to));
        let top = |ranked: &mut dyn Iterator<Item = u32>| -> bool {
            let mut chosen: Vec<u32> = Vec::new();
            for i in ranked {
                if !train.contains(&i) && !chosen.contains(&i) {
                    chosen.push(i);
                    if chosen.len() == 10 {
                        break;
                    }
                }
            }
            chosen.contains(&target)
        };
        users += 1;
        popular_hits += usize::from(top(&mut by_popularity.iter().copied()));
        markov_hits +=
            usize::from(top(&mut next.iter().map(|&(to, _)| to).chain(by_popularity.iter().copied())));
    }
    (popular_hits as f64 / users as f64, markov_hits as f64 / users as f64)
}

#[test]
fn sequential_rows_are_the_same_for_a_seed_and_differ_from_independent() {
    let config = sequential(60, 48, 3000, 7);
    let (_, a, _) = collect(config);
    let (_, b, _) = collect(config);
    assert_eq!(a, b);
    assert_eq!(a.len(), 3000);
    let (_, other_seed, _) = collect(GenConfig { seed: 8, ..config });
    assert_ne!(a, other_seed);
    let (_, independent, _) = collect(GenConfig { order: Order::Independent, ..config });
    assert_ne!(a, independent);
}

#[test]
fn successors_are_few_distinct_and_in_the_own_cluster() {
    let (generator, _, _) = collect(sequential(10, 120, 10, 3));
    let transitions = generator.transitions.as_ref().expect("sequential order has transitions");
    for (i, item) in generator.items.iter().enumerate() {
        let next = transitions.successors(i as u32);
        assert_eq!(next.len(), SUCCESSORS, "a 10-item cluster gives every item three successors");
        for (k, &j) in next.iter().enumerate() {
            assert_ne!(j, i as u32);
            assert!(!next[..k].contains(&j));
            let other = &generator.items[j as usize];
            assert_eq!((other.category, other.cluster), (item.category, item.cluster));
        }
    }
    // Tiny clusters: at most the other members, never the item itself.
    let (generator, _, _) = collect(sequential(3, 14, 10, 3));
    let transitions = generator.transitions.as_ref().expect("sequential order has transitions");
    for i in 0..14 {
        assert!(!transitions.successors(i).contains(&i));
    }
}

#[test]
fn sequential_timestamps_strictly_increase_and_show_the_sessions() {
    let (_, rows, _) = collect(sequential(200, 120, 10_000, 5));
    let mut sessions = 0;
    for pair in rows.windows(2).filter(|w| w[0].user == w[1].user) {
        let gap = pair[1].timestamp - pair[0].timestamp;
        assert!(gap > 0, "{pair:?}");
        // Within a session at most 10 minutes, between sessions at least an hour.
        assert!(gap <= 600 || gap >= 3600, "{pair:?}");
        sessions += usize::from(gap >= 3600);
    }
    assert!(rows.iter().all(|r| (START_TIME..START_TIME + TIME_SPAN).contains(&r.timestamp)));
    // Mean session length about 5.
    let mean = rows.len() as f64 / (sessions + 200) as f64;
    assert!((3.5..6.5).contains(&mean), "mean session length {mean}");
}

#[test]
fn a_user_with_more_sessions_than_fit_still_gets_increasing_times() {
    let (_, rows, _) = collect(sequential(1, 5, 20_000, 1));
    assert!(rows.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
}

/// The share of rows in the user's own category, and the most popular item's count over the
/// median item's.
fn group_share_and_tail(config: GenConfig) -> (f64, f64, GenSummary) {
    let (generator, rows, summary) = collect(config);
    let own = rows
        .iter()
        .filter(|r| generator.users[r.user as usize].group == generator.items[r.item as usize].category)
        .count();
    let mut counts = vec![0usize; config.items];
    for r in &rows {
        counts[r.item as usize] += 1;
    }
    counts.sort_unstable();
    let tail = counts[config.items - 1] as f64 / counts[config.items / 2].max(1) as f64;
    (own as f64 / rows.len() as f64, tail, summary)
}

#[test]
fn sequential_data_keeps_the_ratings_groups_and_long_tail() {
    let config = sequential(400, 240, 20_000, 42);
    let (own, tail, summary) = group_share_and_tail(config);
    let (own_i, tail_i, summary_i) = group_share_and_tail(GenConfig { order: Order::Independent, ..config });
    eprintln!("own share {own:.3} vs {own_i:.3}; top/median {tail:.1} vs {tail_i:.1}");
    assert!((0.6..0.68).contains(&summary.oracle_rmse), "{summary:?}");
    assert!((summary.mean_rating - summary_i.mean_rating).abs() < 0.1, "{summary:?} {summary_i:?}");
    assert!(own > 0.5 && own > own_i - 0.05, "own-category share {own:.3}, independent {own_i:.3}");
    // Transitions ignore popularity, so the tail is flatter, but still a long tail.
    assert!(tail > 3.0 && tail > 0.5 * tail_i, "top item / median item {tail:.1}, independent {tail_i:.1}");
}

/// The point of the order: a first-order next-item model wins on sequential data, and only there.
#[test]
fn a_first_order_model_beats_most_popular_only_on_sequential_data() {
    let config = sequential(400, 240, 20_000, 42);
    let (_, rows, _) = collect(config);
    let (popular, markov) = hit_rates(&histories(&rows, 400), 240);
    assert!(markov >= 2.0 * popular, "sequential: HR@10 first-order {markov:.3}, most popular {popular:.3}");
    let (_, rows, _) = collect(GenConfig { order: Order::Independent, ..config });
    let (popular_i, markov_i) = hit_rates(&histories(&rows, 400), 240);
    eprintln!(
        "HR@10 sequential: first-order {markov:.3} popular {popular:.3}; independent: {markov_i:.3} {popular_i:.3}"
    );
    assert!(
        markov >= 1.5 * markov_i,
        "independent: HR@10 first-order {markov_i:.3}, most popular {popular_i:.3}"
    );
}

#[test]
fn about_half_of_the_rows_are_transitions() {
    for config in
        [sequential(400, 240, 20_000, 42), GenConfig { order: Order::Sequential, ..GenConfig::default() }]
    {
        let (generator, rows, _) = collect(config);
        let transitions = generator.transitions.as_ref().expect("sequential order has transitions");
        let followed = rows
            .windows(2)
            .filter(|w| w[0].user == w[1].user && w[1].timestamp - w[0].timestamp <= 600)
            .filter(|w| transitions.successors(w[0].item).contains(&w[1].item))
            .count();
        let share = followed as f64 / rows.len() as f64;
        assert!((0.35..0.6).contains(&share), "{share:.3} of the rows follow a transition");
    }
}
