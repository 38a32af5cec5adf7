//! Item factor storage: plain f32 rows, or compact rows (int8 with one f32 scale per row, or
//! f16) that are dequantised as they are scored.
//!
//! The dequantised value of a stored int8 `q` in a row with scale `s` is `f32::from(q) * s`
//! (one f32 multiplication, exactly rounded on every target) and of an f16 value its exact f32
//! widening, so a compact model scores bit for bit like an f32 model holding the dequantised
//! values, natively and on wasm32 alike.

use std::borrow::Cow;
use std::ops::Range;

use half::f16;
use safetensors::{Dtype, SafeTensors};
use serde::Serialize;

use crate::format::read::{check_finite, dtype_name, floats, required, tensor, typed, widen_f16};
use crate::kernel::{Decoded, dot, for_each_block, for_each_block_int8, for_each_block_with};
use crate::{Error, Result, names};

/// How an artifact stores its item factors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// 32-bit floats (4 bytes per value).
    #[default]
    F32,
    /// Signed bytes in `-127..=127` with one f32 scale per row (1 byte per value).
    Int8,
    /// IEEE half precision (2 bytes per value).
    F16,
}

impl std::str::FromStr for Quantization {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" | "f32" => Ok(Self::F32),
            "int8" => Ok(Self::Int8),
            "f16" => Ok(Self::F16),
            other => Err(Error::InvalidArgument(format!("unknown quantization `{other}` (none|int8|f16)"))),
        }
    }
}

/// Item factors as stored, row-major `[num_items, dim]`.
#[derive(Debug)]
pub(crate) enum ItemFactors<'a> {
    F32(Cow<'a, [f32]>),
    Int8 { values: Cow<'a, [i8]>, scales: Cow<'a, [f32]> },
    F16(Cow<'a, [u16]>),
}

/// Quantises row-major f32 rows (for the builder). Returns the stored bytes' parts: the values
/// and, for int8, the per-row scales.
pub(crate) enum Quantized {
    Int8 { values: Vec<i8>, scales: Vec<f32> },
    F16(Vec<u16>),
}

pub(crate) fn quantize(rows: &[f32], dim: usize, how: Quantization) -> Result<Option<Quantized>> {
    match how {
        Quantization::F32 => Ok(None),
        Quantization::Int8 => {
            let mut values = Vec::with_capacity(rows.len());
            let mut scales = Vec::with_capacity(rows.len() / dim.max(1));
            for (r, row) in rows.chunks_exact(dim).enumerate() {
                let max = row.iter().fold(0f32, |m, &x| m.max(x.abs()));
                // The scale is stored as f16: the nearest f16 at or above max / 127, so no value
                // is clipped, and every value is quantised against the stored scale.
                let scale = f16_at_least(max / 127.0).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "item factor row {r} (largest |value| {max}) is outside the f16 range"
                    ))
                })?;
                scales.push(scale);
                for &x in row {
                    let q = if scale > 0.0 { (x / scale).round().clamp(-127.0, 127.0) } else { 0.0 };
                    values.push(q as i8);
                }
            }
            Ok(Some(Quantized::Int8 { values, scales }))
        }
        Quantization::F16 => to_f16_bits(rows).map(|v| Some(Quantized::F16(v))).map_err(|i| {
            Error::InvalidArgument(format!("item factor {i} (value {}) is outside the f16 range", rows[i]))
        }),
    }
}

/// The least f16 value at or above `x ≥ 0`, as f32; `None` above the f16 range.
fn f16_at_least(x: f32) -> Option<f32> {
    let mut h = f16::from_f32(x);
    if h.to_f32() < x {
        h = f16::from_bits(h.to_bits() + 1);
    }
    h.is_finite().then(|| h.to_f32())
}

/// f32 values as f16 bits, each rounded to the nearest f16; `Err(i)` for the first value
/// outside the f16 range.
pub(crate) fn to_f16_bits(values: &[f32]) -> std::result::Result<Vec<u16>, usize> {
    values
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let h = f16::from_f32(x);
            if h.is_finite() { Ok(h.to_bits()) } else { Err(i) }
        })
        .collect()
}

impl<'a> ItemFactors<'a> {
    /// Reads `item_factors` in whichever encoding its dtype names, and validates it.
    pub(crate) fn load(st: &SafeTensors<'a>, num_items: usize, dim: usize) -> Result<Self> {
        let name = names::ITEM_FACTORS;
        let view = required(name, tensor(st, name)?)?;
        let shape = [num_items, dim];
        let scales = || floats(st, names::ITEM_FACTOR_SCALES, &[num_items], true);
        let no_scales = || match tensor(st, names::ITEM_FACTOR_SCALES)? {
            None => Ok(()),
            Some(_) => Err(Error::Invalid(format!(
                "`{}` belongs to int8 item factors, but `{name}` is {}",
                names::ITEM_FACTOR_SCALES,
                dtype_name(view.dtype())
            ))),
        };
        match view.dtype() {
            Dtype::F32 => {
                no_scales()?;
                let v = required(name, typed::<f32>(st, name, Dtype::F32, &shape)?)?;
                check_finite(name, &v)?;
                Ok(Self::F32(v))
            }
            Dtype::I8 => {
                let values = required(name, typed::<i8>(st, name, Dtype::I8, &shape)?)?;
                let scales = required(names::ITEM_FACTOR_SCALES, scales()?)?;
                if let Some(i) = values.iter().position(|&q| q == i8::MIN) {
                    return Err(Error::Invalid(format!("`{name}`[{i}] is -128; int8 rows hold -127..=127")));
                }
                // Every dequantised value is finite: |q·s| ≤ 127·s.
                if let Some(r) = scales.iter().position(|&s| !(s >= 0.0 && (s * 127.0).is_finite())) {
                    return Err(Error::Invalid(format!(
                        "`{}`[{r}] = {} is not a finite scale ≥ 0 (below f32::MAX / 127)",
                        names::ITEM_FACTOR_SCALES,
                        scales[r]
                    )));
                }
                Ok(Self::Int8 { values, scales })
            }
            Dtype::F16 => {
                no_scales()?;
                let v = required(name, typed::<u16>(st, name, Dtype::F16, &shape)?)?;
                if let Some(i) = v.iter().position(|&b| !f16::from_bits(b).is_finite()) {
                    return Err(Error::Invalid(format!("`{name}` holds a non-finite value at {i}")));
                }
                Ok(Self::F16(v))
            }
            other => Err(Error::Dtype { name, expected: "F32, I8 or F16", got: dtype_name(other) }),
        }
    }

    pub(crate) fn quantization(&self) -> Quantization {
        match self {
            Self::F32(_) => Quantization::F32,
            Self::Int8 { .. } => Quantization::Int8,
            Self::F16(_) => Quantization::F16,
        }
    }

    /// Writes the dequantised rows `first..first + out.len() / dim` into `out`. Rows past the
    /// end are left untouched.
    fn dequantize_into(&self, first: usize, dim: usize, out: &mut [f32]) {
        let start = first * dim;
        match self {
            Self::F32(v) => {
                if let Some(src) = v.get(start..start + out.len()) {
                    out.copy_from_slice(src);
                }
            }
            Self::Int8 { values, scales } => {
                let rows = out.chunks_exact_mut(dim).zip(values[start.min(values.len())..].chunks_exact(dim));
                for ((o, q), &s) in rows.zip(&scales[first.min(scales.len())..]) {
                    for (o, &q) in o.iter_mut().zip(q) {
                        *o = f32::from(q) * s;
                    }
                }
            }
            Self::F16(v) => {
                for (o, &b) in out.iter_mut().zip(&v[start.min(v.len())..]) {
                    *o = widen_f16(b);
                }
            }
        }
    }

    /// Writes the dequantised rows `items[k]` one after another into `out` (`dim` values
    /// each); an out-of-range item leaves its slot untouched.
    pub(crate) fn gather_into(&self, items: &[u32], dim: usize, out: &mut [f32]) {
        for (&i, o) in items.iter().zip(out.chunks_exact_mut(dim)) {
            let i = i as usize;
            if i.checked_add(1).and_then(|end| end.checked_mul(dim)).is_some_and(|end| end <= self.len()) {
                self.dequantize_into(i, dim, o);
            }
        }
    }

    /// Row `item` as f32: borrowed when stored as f32, else dequantised into `buf` (grown to
    /// `dim` values when shorter; untouched for f32 rows). `None` when `item` is out of range.
    #[inline]
    pub(crate) fn row<'s>(&'s self, item: usize, dim: usize, buf: &'s mut Vec<f32>) -> Option<&'s [f32]> {
        let range = item.checked_mul(dim)?..item.checked_add(1)?.checked_mul(dim)?;
        match self {
            Self::F32(v) => v.get(range),
            Self::Int8 { values, .. } if range.end > values.len() => None,
            Self::F16(v) if range.end > v.len() => None,
            _ => {
                if buf.len() < dim {
                    buf.resize(dim, 0.0);
                }
                let out = buf.get_mut(..dim)?;
                self.dequantize_into(item, dim, out);
                Some(out)
            }
        }
    }

    /// `dot(query, row item)` with the row dequantised first: the same bits as the block kernel.
    #[inline]
    pub(crate) fn dot_row(&self, query: &[f32], item: usize, buf: &mut Vec<f32>) -> Option<f32> {
        let dim = query.len();
        self.row(item, dim, buf).map(|r| dot(query, r))
    }

    /// Calls `f(first, dots)` for consecutive blocks of rows, `dots[k] = dot(query, row first+k)`.
    pub(crate) fn for_each_block(&self, query: &[f32], dim: usize, f: impl FnMut(usize, &[f32])) {
        let rows = self.len() / dim.max(1);
        self.for_each_block_in(query, dim, 0..rows, f);
    }

    /// [`Self::for_each_block`] over the rows `rows` only (clamped to the stored rows); compact
    /// rows are dequantised one at a time as they are scored.
    pub(crate) fn for_each_block_in(
        &self,
        query: &[f32],
        dim: usize,
        rows: Range<usize>,
        mut f: impl FnMut(usize, &[f32]),
    ) {
        let end = rows.end.min(self.len() / dim.max(1));
        let start = rows.start.min(end);
        match self {
            Self::F32(v) => {
                for_each_block(query, &v[start * dim..end * dim], dim, |first, dots| f(start + first, dots));
            }
            Self::Int8 { values, scales } => {
                for_each_block_int8(
                    query,
                    &values[start * dim..end * dim],
                    &scales[start..end],
                    dim,
                    |first, dots| f(start + first, dots),
                );
            }
            Self::F16(v) => {
                let decode = |_: usize, row: &[u16], out: &mut [f32]| {
                    for (o, &b) in out.iter_mut().zip(row) {
                        *o = widen_f16(b);
                    }
                };
                let rows = &v[start * dim..end * dim];
                for_each_block_with(&mut Decoded::new(decode), query, rows, dim, |first, dots| {
                    f(start + first, dots)
                });
            }
        }
    }

    /// Number of stored values (`num_items · dim`).
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::Int8 { values, .. } => values.len(),
            Self::F16(v) => v.len(),
        }
    }

    /// All rows, dequantised (borrowed when stored as f32).
    pub(crate) fn to_f32(&self, dim: usize) -> Cow<'_, [f32]> {
        match self {
            Self::F32(v) => Cow::Borrowed(v),
            _ => {
                let mut out = vec![0f32; self.len()];
                self.dequantize_into(0, dim, &mut out);
                Cow::Owned(out)
            }
        }
    }
}
