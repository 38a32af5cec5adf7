//! Typed, validated reads of safetensors tensors (shared by the model and its optional parts).

use std::borrow::Cow;

use safetensors::{Dtype, SafeTensors};

use crate::{Error, Result};

pub(crate) fn tensor<'a>(
    st: &SafeTensors<'a>,
    name: &'static str,
) -> Result<Option<safetensors::tensor::TensorView<'a>>> {
    match st.tensor(name) {
        Ok(t) => Ok(Some(t)),
        Err(safetensors::SafeTensorError::TensorNotFound(_)) => Ok(None),
        Err(e) => Err(Error::Format(e.to_string())),
    }
}

pub(crate) fn dtype_name(d: Dtype) -> String {
    format!("{d:?}")
}

/// Reads a tensor of `dtype` with exactly `shape`, zero-copy when aligned.
pub(crate) fn typed<'a, T: bytemuck::Pod>(
    st: &SafeTensors<'a>,
    name: &'static str,
    dtype: Dtype,
    shape: &[usize],
) -> Result<Option<Cow<'a, [T]>>> {
    let Some(view) = tensor(st, name)? else {
        return Ok(None);
    };
    if view.dtype() != dtype {
        return Err(Error::Dtype { name, expected: dtype_name_static(dtype), got: dtype_name(view.dtype()) });
    }
    if view.shape() != shape {
        return Err(Error::Shape { name, expected: shape.to_vec(), got: view.shape().to_vec() });
    }
    let data = view.data();
    Ok(Some(match bytemuck::try_cast_slice::<u8, T>(data) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytemuck::pod_collect_to_vec(data)),
    }))
}

/// Reads a float tensor stored as F32 (zero-copy when aligned) or, when `f16_ok`, as F16
/// (widened exactly to f32). Every value must be finite.
pub(crate) fn floats<'a>(
    st: &SafeTensors<'a>,
    name: &'static str,
    shape: &[usize],
    f16_ok: bool,
) -> Result<Option<Cow<'a, [f32]>>> {
    let values = match tensor(st, name)? {
        Some(view) if view.dtype() == Dtype::F16 && f16_ok => {
            match typed::<u16>(st, name, Dtype::F16, shape)? {
                None => None,
                Some(bits) => {
                    if let Some(i) = bits.iter().position(|&b| !half::f16::from_bits(b).is_finite()) {
                        return Err(Error::Invalid(format!("`{name}` holds a non-finite value at {i}")));
                    }
                    Some(Cow::Owned(bits.iter().map(|&b| widen_f16(b)).collect()))
                }
            }
        }
        Some(view) if view.dtype() == Dtype::F16 => {
            return Err(Error::Dtype { name, expected: "F32", got: dtype_name(view.dtype()) });
        }
        _ => typed::<f32>(st, name, Dtype::F32, shape)?,
    };
    if let Some(v) = &values {
        check_finite(name, v)?;
    }
    Ok(values)
}

/// Reads an index tensor stored as U32 (zero-copy when aligned) or, when `narrow_ok` (format
/// v5), as U8 or U16, widened to u32: the queries read one table type however it is stored.
pub(crate) fn indices<'a>(
    st: &SafeTensors<'a>,
    name: &'static str,
    shape: &[usize],
    narrow_ok: bool,
) -> Result<Option<Cow<'a, [u32]>>> {
    let Some(view) = tensor(st, name)? else {
        return Ok(None);
    };
    let width = match view.dtype() {
        Dtype::U32 => return typed::<u32>(st, name, Dtype::U32, shape),
        Dtype::U8 if narrow_ok => 1,
        Dtype::U16 if narrow_ok => 2,
        d @ (Dtype::U8 | Dtype::U16) => {
            return Err(Error::Invalid(format!(
                "`{name}` is {}: narrow index tables come with format version 5",
                dtype_name(d)
            )));
        }
        d => return Err(Error::Dtype { name, expected: "U32", got: dtype_name(d) }),
    };
    if view.shape() != shape {
        return Err(Error::Shape { name, expected: shape.to_vec(), got: view.shape().to_vec() });
    }
    // Little-endian, as every integer of the artifact.
    let widen = |b: &[u8]| b.iter().rev().fold(0u32, |acc, &byte| acc << 8 | u32::from(byte));
    Ok(Some(Cow::Owned(view.data().chunks_exact(width).map(widen).collect())))
}

/// The exact f32 value of finite f16 bits (the loader refuses infinities and NaNs), in a form
/// the compiler vectorises: the exponent and mantissa shifted into f32 position read as
/// `value · 2⁻¹¹²` (subnormals included), so one exact multiplication by 2¹¹² restores it.
#[inline(always)]
pub(crate) fn widen_f16(bits: u16) -> f32 {
    let magnitude = f32::from_bits(u32::from(bits & 0x7fff) << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(magnitude.to_bits() | (u32::from(bits & 0x8000) << 16))
}

pub(crate) fn dtype_name_static(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "F32",
        Dtype::U32 => "U32",
        Dtype::U8 => "U8",
        Dtype::I8 => "I8",
        Dtype::F16 => "F16",
        _ => "other",
    }
}

pub(crate) fn required<T>(name: &'static str, v: Option<T>) -> Result<T> {
    v.ok_or(Error::MissingTensor(name))
}

/// The shape of a 1-D tensor whose length is not known in advance.
pub(crate) fn len_1d(st: &SafeTensors<'_>, name: &'static str) -> Result<usize> {
    let view = required(name, tensor(st, name)?)?;
    match view.shape() {
        [n] => Ok(*n),
        other => Err(Error::Shape { name, expected: vec![0], got: other.to_vec() }),
    }
}

pub(crate) fn check_finite(name: &'static str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::Invalid(format!("`{name}` holds a non-finite value at {i}"))),
    }
}

pub(crate) fn check_indices(name: &'static str, values: &[u32], bound: usize) -> Result<()> {
    match values.iter().position(|&v| v as usize >= bound) {
        None => Ok(()),
        Some(i) => Err(Error::Invalid(format!("`{name}`[{i}] = {} is out of range (< {bound})", values[i]))),
    }
}

/// Indices below a bound, each marked at most once: checks that a list names every index once
/// (a permutation, when it is as long as the bound).
pub(crate) struct Marks(Vec<bool>);

impl Marks {
    pub(crate) fn new(bound: usize) -> Self {
        Self(vec![false; bound])
    }

    /// Marks `i`; false if it is out of range or already marked.
    pub(crate) fn mark(&mut self, i: usize) -> bool {
        match self.0.get_mut(i) {
            Some(seen) if !*seen => {
                *seen = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::widen_f16;

    #[test]
    fn widen_f16_is_exact_for_every_finite_value() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            if h.is_finite() {
                assert_eq!(widen_f16(bits).to_bits(), h.to_f32().to_bits(), "{bits:#06x}");
            }
        }
    }
}
