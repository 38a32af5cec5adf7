//! The int8 row scorer on wasm32 with SIMD: rows decoded inside the dot product.

use core::arch::wasm32::*;

use super::{Decoded, RowScorer, STEP};

/// int8 rows with one scale per row: the common dimensions (multiples of [`STEP`]) decode
/// inside the dot product; other lengths are [`Decoded`] as on every other target.
pub(super) struct Int8Rows<'s, F> {
    pub(super) scales: &'s [f32],
    pub(super) decoded: Decoded<F>,
}

impl<F: Fn(usize, &[i8], &mut [f32])> RowScorer<i8> for Int8Rows<'_, F> {
    #[inline(always)]
    fn fixed<const D: usize>(&mut self, query: &[f32; D], r: usize, row: &[i8; D]) -> f32 {
        const { assert!(D.is_multiple_of(STEP), "the in-register decode steps through whole 16-lane chunks") };
        dot(query, row, self.scales.get(r).copied().unwrap_or(0.0))
    }

    #[inline(always)]
    fn any(&mut self, query: &[f32], r: usize, row: &[i8]) -> f32 {
        self.decoded.any(query, r, row)
    }
}

/// [`super::dot`]`(query, decoded row)`, lane for lane and addition for addition: the
/// decoded lanes are `f32::from(q) * scale` (an exact conversion, then the same
/// multiplication), and the four accumulators and the final sums are [`super::dot`]'s.
#[inline(always)]
fn dot<const D: usize>(query: &[f32; D], row: &[i8; D], scale: f32) -> f32 {
    let s = f32x4_splat(scale);
    let mut acc = [f32x4_splat(0.0); 4];
    for (x, q) in query.as_chunks::<STEP>().0.iter().zip(row.as_chunks::<STEP>().0) {
        let q = i8x16(
            q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14],
            q[15],
        );
        let (lo, hi) = (i16x8_extend_low_i8x16(q), i16x8_extend_high_i8x16(q));
        let ints = [
            i32x4_extend_low_i16x8(lo),
            i32x4_extend_high_i16x8(lo),
            i32x4_extend_low_i16x8(hi),
            i32x4_extend_high_i16x8(hi),
        ];
        for v in 0..4 {
            let y = f32x4_mul(f32x4_convert_i32x4(ints[v]), s);
            let x = f32x4(x[4 * v], x[4 * v + 1], x[4 * v + 2], x[4 * v + 3]);
            acc[v] = f32x4_add(acc[v], f32x4_mul(x, y));
        }
    }
    let sum = f32x4_add(f32x4_add(f32x4_add(acc[0], acc[1]), acc[2]), acc[3]);
    let lanes = [
        f32x4_extract_lane::<0>(sum),
        f32x4_extract_lane::<1>(sum),
        f32x4_extract_lane::<2>(sum),
        f32x4_extract_lane::<3>(sum),
    ];
    // `dot`'s tail over no elements, added as it adds it.
    let tail: f32 = core::iter::empty::<f32>().sum();
    ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) + tail
}
