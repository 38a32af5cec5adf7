//! What the fixture examples share: a seeded generator, so fixtures need no RNG crate and
//! come out the same on every machine.
#![allow(dead_code)] // each example uses its own part

/// SplitMix64, as 24-bit uniform floats.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Uniform in [0, 1).
    pub fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately standard normal (a sum of uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.next()).sum::<f32>() - 6.0
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f32) as usize).min(n - 1)
    }
    /// `n` draws of `base + scale · normal`.
    pub fn vec(&mut self, n: usize, base: f32, scale: f32) -> Vec<f32> {
        (0..n).map(|_| base + scale * self.normal()).collect()
    }
}
