//! Proportions with 95 % intervals: Wilson's score interval for one rate, and Newcombe's hybrid
//! score interval (his method 10, built from the two Wilson intervals) for the difference of
//! two independent rates. Both stay inside [0, 1] (and [−1, 1]) and behave at 0 and n, where
//! the normal approximation does not.

use super::Rate;

/// z for a two-sided 95 % interval.
const Z: f64 = 1.959_963_984_540_054;

/// `k` successes in `n` trials, with Wilson's interval; `None` when `n` is 0.
pub fn wilson(k: u64, n: u64) -> Option<Rate> {
    if n == 0 {
        return None;
    }
    let (k, n) = (k.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some(Rate { rate: p, low: (centre - half).max(0.0), high: (centre + half).min(1.0) })
}

/// The difference `a − b` of two independent rates, with Newcombe's hybrid score interval.
pub fn difference(a: Rate, b: Rate) -> Rate {
    let d = a.rate - b.rate;
    let low = d - ((a.rate - a.low).powi(2) + (b.high - b.rate).powi(2)).sqrt();
    let high = d + ((a.high - a.rate).powi(2) + (b.rate - b.low).powi(2)).sqrt();
    Rate { rate: d, low: low.max(-1.0), high: high.min(1.0) }
}

#[cfg(test)]
mod tests {
    use super::{Rate, difference, wilson};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), table I: 81/263 gives 0.2553 to 0.3662; 15/148 gives 0.0624 to 0.1605.
        let r = wilson(81, 263).expect("n > 0");
        assert!(close(r.low, 0.2553) && close(r.high, 0.3662), "{r:?}");
        let r = wilson(15, 148).expect("n > 0");
        assert!(close(r.low, 0.0624) && close(r.high, 0.1605), "{r:?}");
        // At the edges it stays inside [0, 1].
        let r = wilson(0, 10).expect("n > 0");
        assert!(r.low == 0.0 && close(r.high, 0.2775), "{r:?}");
        assert!(wilson(10, 10).is_some_and(|r| close(r.high, 1.0) && r.high <= 1.0));
        assert_eq!(wilson(3, 0), None);
    }

    #[test]
    fn newcombe_matches_the_published_difference() {
        // Newcombe (1998), table II example (56/70 against 48/80): 0.2000, from 0.0524 to 0.3339.
        let d = difference(wilson(56, 70).expect("n"), wilson(48, 80).expect("n"));
        assert!(close(d.rate, 0.2) && close(d.low, 0.0524) && close(d.high, 0.3339), "{d:?}");
        let same = Rate { rate: 0.1, low: 0.08, high: 0.12 };
        let d = difference(same, same);
        assert!(d.low < 0.0 && d.high > 0.0);
    }
}
