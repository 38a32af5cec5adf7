//! serde helpers shared by the request bodies (`POST /recommend`, `POST /events`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `T` read from a JSON object only: serde's derive would also read a struct from an array of
/// its field values (`["U10001", 5]`), which the API does not accept.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

/// A present field: `Some(None)` for `null`, `Some(Some(value))` otherwise. Use with
/// `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>` field, so that
/// a left-out field (`None`) and a `null` can be told apart.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An integer as JSON Schema counts one: any number with no fractional part, so `58`, `58.0` and
/// `5.8e1` are all 58 (the OpenAPI document says `"type": "integer"`, and a client that sends
/// `58.0` follows it). Fractions, and floats beyond 2^53 (where they stop being exact), are
/// errors; the caller checks the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i128);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(i128::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(i128::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Int, E> {
                const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
                if v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT {
                    Ok(Int(v as i128))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(IntVisitor)
    }
}
