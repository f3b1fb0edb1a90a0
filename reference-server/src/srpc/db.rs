//! The store: a map from object name to the stored value, shared by every connection.
//!
//! Keys follow Python's `dict` equality, because the lab's server keys a `dict` by whatever JSON
//! value arrived as `obj`: `1`, `1.0` and `true` are one key, `0`, `-0.0` and `false` are another,
//! and `NaN` never finds itself. Values are stored already serialised, since every later GET
//! sends them back in exactly that form.
//!
//! A `std::sync::Mutex` is right here: the critical section is one hash-map operation with no
//! `.await` inside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::json::Value;

/// A hashable object name, normalised so that equal Python keys are equal here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Null,
    Str(Vec<u16>),
    /// An integer, a bool, or an integral float, as canonical decimal text.
    Integral(String),
    /// A float that is not integral (including infinities), by its bits.
    Float(u64),
    /// NaN is unequal to everything, itself included.
    NaN,
}

impl Key {
    /// The key a JSON value names, or `None` for lists and objects, which are unhashable.
    pub fn from_value(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Integral(if *b { "1" } else { "0" }.to_owned()),
            Value::Int(s) => Key::Integral(s.to_string()),
            Value::Float(f) if f.is_nan() => Key::NaN,
            Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
                let text = format!("{:.0}", f.abs());
                Key::Integral(if *f < 0.0 && text != "0" {
                    format!("-{text}")
                } else {
                    text
                })
            }
            Value::Float(f) => Key::Float(f.to_bits()),
            Value::Str(units) => Key::Str(units.clone()),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }
}

/// The shared store. Cloning is cheap and shares the same data.
#[derive(Debug, Clone, Default)]
pub struct Db {
    inner: Arc<Mutex<HashMap<Key, Arc<[u8]>>>>,
}

impl Db {
    pub fn new() -> Db {
        Db::default()
    }

    /// Stores the serialised value. A NaN key is never stored: no later GET could find it.
    pub fn put(&self, key: Key, serialized: Arc<[u8]>) {
        if key == Key::NaN {
            return;
        }
        self.lock().insert(key, serialized);
    }

    pub fn get(&self, key: &Key) -> Option<Arc<[u8]>> {
        self.lock().get(key).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<[u8]>>> {
        // A panic while holding the lock cannot leave the map half-updated (each operation is a
        // single insert or lookup), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn key(text: &str) -> Option<Key> {
        Key::from_value(&parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn python_equal_keys_are_equal() {
        assert_eq!(key("1"), key("1.0"));
        assert_eq!(key("1"), key("true"));
        assert_eq!(key("0"), key("-0.0"));
        assert_eq!(key("0"), key("false"));
        assert_eq!(key("1e20"), key("100000000000000000000"));
        assert_eq!(key("-2.0"), key("-2"));
        assert_ne!(key("9007199254740993"), key("9007199254740992.0"));
        assert_ne!(key("\"1\""), key("1"));
        assert_ne!(key("null"), key("0"));
        assert_ne!(key("0.5"), key("1"));
        assert_eq!(key("[1]"), None);
        assert_eq!(key("{}"), None);
    }
}
