//! Typed, validated reads of safetensors tensors (shared by the model and its optional parts).

use std::borrow::Cow;

use safetensors::{Dtype, SafeTensors};

use crate::format::strings::StrTable;
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
                    Some(Cow::Owned(bits.iter().map(|&b| crate::model::factors::widen_f16(b)).collect()))
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

pub(crate) fn str_table<'a>(
    st: &SafeTensors<'a>,
    bytes: &'static str,
    offsets: &'static str,
    n: Option<usize>,
    order: Option<Cow<'a, [u32]>>,
) -> Result<Option<StrTable<'a>>> {
    let Some(bytes_view) = tensor(st, bytes)? else {
        if tensor(st, offsets)?.is_some() {
            return Err(Error::MissingTensor(bytes));
        }
        return Ok(None);
    };
    if bytes_view.dtype() != Dtype::U8 {
        return Err(Error::Dtype { name: bytes, expected: "U8", got: dtype_name(bytes_view.dtype()) });
    }
    if bytes_view.shape().len() != 1 {
        return Err(Error::Shape {
            name: bytes,
            expected: vec![bytes_view.data().len()],
            got: bytes_view.shape().to_vec(),
        });
    }
    let count = match n {
        Some(n) => n,
        None => len_1d(st, offsets)?.checked_sub(1).ok_or(Error::Invalid(format!("`{offsets}` is empty")))?,
    };
    let offs = required(offsets, typed::<u32>(st, offsets, Dtype::U32, &[count + 1])?)?;
    StrTable::new(bytes, bytes_view.data(), offs, order).map(Some)
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
