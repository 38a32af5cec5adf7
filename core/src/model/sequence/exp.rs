//! `exp` in plain f32 arithmetic, for the attention's softmax.
//!
//! `f32::exp` calls the platform's libm, which differs between native targets and wasm32, so
//! the forward pass would not give the same bits everywhere. This one uses only IEEE-exact
//! operations (multiplication, addition, `floor`, bit casts) in one fixed order: every target
//! computes the same result, within about one ulp of the true value.

/// `log₂(e)`.
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two: the high part has few enough bits that `n · LN2_HI` is exact for every
/// `|n| ≤ 256`, so the reduction `x − n·ln 2` loses nothing.
const LN2_HI: f32 = 0.693_145_75;
/// `ln 2 − LN2_HI`.
const LN2_LO: f32 = 1.428_606_8e-6;
/// Above this `exp` overflows f32.
const MAX_ARG: f32 = 88.722_83;
/// Below this `exp` rounds to 0 in f32 (half the least subnormal is `e^−103.97`).
const MIN_ARG: f32 = -104.0;

/// `eˣ` in f32, the same bits on every target.
///
/// `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`; `eʳ` is its Taylor polynomial to degree 7 (truncation
/// below 6e-9 relative), written as `1 + (r + r²·(…))` so the only large rounding is the last
/// addition; then the result is scaled by `2ⁿ` through the exponent bits.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x > MAX_ARG {
        return f32::INFINITY;
    }
    if x < MIN_ARG {
        return 0.0;
    }
    let n = (x * LOG2_E + 0.5).floor();
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let poly = 1.0 / 2.0
        + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))));
    let y = 1.0 + (r + r * r * poly);
    // `n` is an integer in -151..=128 here.
    let mut n = n as i32;
    let mut y = y;
    if n < -126 {
        // Scale in two steps so the first stays normal; only the last step rounds.
        y *= pow2(-64);
        n += 64;
    } else if n > 127 {
        y *= 2.0;
        n -= 1;
    }
    y * pow2(n)
}

/// `2ⁿ` for `n` in `-126..=127`, from the exponent bits.
#[inline]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::exp;

    fn rel_err(x: f32) -> f64 {
        let want = f64::from(x).exp();
        (f64::from(exp(x)) - want).abs() / want
    }

    #[test]
    fn exp_is_within_about_one_ulp_over_the_softmax_range() {
        // Every 97th f32 in [-87, 0] (normal results), plus the ends.
        let (lo, hi) = (-87.0f32, 0.0f32);
        let mut worst: f64 = 0.0;
        let mut x = lo;
        while x < hi {
            worst = worst.max(rel_err(x));
            x = f32::from_bits(x.to_bits() - 97);
        }
        worst = worst.max(rel_err(hi)).max(rel_err(lo));
        assert!(worst < 2e-7, "worst relative error {worst:e}");
    }

    #[test]
    fn exp_handles_the_subnormal_tail_and_the_edges() {
        // Down to -88 the result is subnormal: the error is then bounded by the spacing of
        // subnormals (2⁻¹⁴⁹) rather than relative to the value.
        let mut x = -87.0f32;
        while x > -103.0 {
            let want = f64::from(x).exp();
            assert!((f64::from(exp(x)) - want).abs() <= 2f64.powi(-149), "x = {x}");
            x -= 0.013;
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-200.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert!(rel_err(88.0) < 2e-7 && rel_err(1.0) < 2e-7 && rel_err(20.5) < 2e-7);
    }
}
