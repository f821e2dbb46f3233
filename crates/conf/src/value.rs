//! The parse tree: typed values with positions, and ordered maps.

use std::collections::HashMap;
use std::fmt;

use crate::chars::eq_fold;
use crate::Pos;

/// A configuration value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `true`/`false`/`yes`/`no`/`on`/`off` (any case, unquoted).
    Bool(bool),
    /// An integer, with any size suffix already applied (`1k` is 1000,
    /// `1kb`/`1ki`/`1kib` are 1024, and so on up to `e`/`eb`).
    Int(i64),
    /// A number with a fractional part, like `0.5`.
    Float(f64),
    /// Any string: quoted, unquoted, block, or an IP-like `1.2.3.4:5`.
    String(String),
    /// A Zulu ISO 8601 datetime such as `2016-05-04T18:53:41Z`, kept as text.
    DateTime(String),
    /// An array of values.
    Array(Vec<Spanned>),
    /// A map of values.
    Map(Map),
}

impl Value {
    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is a [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as a float, if this is a [`Value::Float`] or a [`Value::Int`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The map, if this is a [`Value::Map`].
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Spanned]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The datetime text, if this is a [`Value::DateTime`].
    pub fn as_datetime(&self) -> Option<&str> {
        match self {
            Value::DateTime(s) => Some(s),
            _ => None,
        }
    }

    /// The name Go's `%T` prints for the equivalent Go value, for error
    /// messages that must read like nats-server's (`int64`, `string`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::DateTime(_) => "time.Time",
            Value::Array(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
        }
    }

    /// Structural equality that ignores positions (`==` compares them too).
    pub fn equivalent(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.value.equivalent(&y.value))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va.value.equivalent(&vb.value))
            }
            _ => self == other,
        }
    }

    /// Number of values in this tree (this one included).
    pub(crate) fn count(&self) -> usize {
        match self {
            Value::Array(a) => 1 + a.iter().map(|s| s.value.count()).sum::<usize>(),
            Value::Map(m) => 1 + m.iter().map(|(_, s)| s.value.count()).sum::<usize>(),
            _ => 1,
        }
    }

    /// Sets the position of every value in this tree to `pos`.
    pub(crate) fn relocate(&mut self, pos: &Pos) {
        match self {
            Value::Array(a) => a.iter_mut().for_each(|s| s.relocate(pos)),
            Value::Map(m) => m.entries.iter_mut().for_each(|(_, s)| s.relocate(pos)),
            _ => {}
        }
    }
}

/// A value together with where it was defined (see [`Pos`] for which
/// position a map entry or array element carries).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    /// The value.
    pub value: Value,
    /// Where it was defined.
    pub pos: Pos,
}

impl Spanned {
    /// Pairs a value with a position.
    pub fn new(value: Value, pos: Pos) -> Self {
        Spanned { value, pos }
    }

    fn relocate(&mut self, pos: &Pos) {
        self.pos = pos.clone();
        self.value.relocate(pos);
    }
}

/// An ordered map from keys to values.
///
/// Keys keep their case; a key defined twice keeps its first place in the
/// order but takes the later value (Go's "later wins"). Keys differing only
/// in case are distinct entries, as in Go.
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(String, Spanned)>,
    index: HashMap<String, usize>,
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Map::default()
    }

    /// Looks a key up ignoring case (as nats-server matches option names).
    /// If several keys match, the one that comes last in the order wins.
    pub fn get(&self, key: &str) -> Option<&Spanned> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| eq_fold(k, key))
            .map(|(_, v)| v)
    }

    /// Looks a key up with its exact case (as variable references do).
    pub fn get_exact(&self, key: &str) -> Option<&Spanned> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Whether a key is present, ignoring case.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets a key, replacing (in place) and returning any previous value
    /// stored under exactly the same key.
    pub fn insert(&mut self, key: String, value: Spanned) -> Option<Spanned> {
        match self.index.get(&key) {
            Some(&i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Iterates over the entries in definition order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Spanned)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Iterates over the keys in definition order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Consumes the map, yielding its entries in definition order.
    pub fn into_entries(self) -> Vec<(String, Spanned)> {
        self.entries
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a str, &'a Spanned);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Spanned)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Value) -> Spanned {
        Spanned::new(v, Pos::new(1, 0))
    }

    #[test]
    fn map_insert_and_lookup() {
        let mut m = Map::new();
        assert!(m.is_empty());
        m.insert("Port".into(), s(Value::Int(1)));
        m.insert("host".into(), s(Value::String("h".into())));
        let old = m.insert("Port".into(), s(Value::Int(2)));
        assert_eq!(old.unwrap().value, Value::Int(1));
        assert_eq!(m.len(), 2);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["Port", "host"]);
        assert_eq!(m.get("port").unwrap().value.as_i64(), Some(2));
        assert_eq!(m.get("PORT").unwrap().value.as_i64(), Some(2));
        assert!(m.get_exact("port").is_none());
        m.insert("port".into(), s(Value::Int(3)));
        assert_eq!(m.get("Port").unwrap().value.as_i64(), Some(3));
        assert_eq!(m.get_exact("Port").unwrap().value.as_i64(), Some(2));
        assert!(m.contains_key("HOST"));
    }

    #[test]
    fn accessors() {
        assert_eq!(Value::Int(3).as_f64(), Some(3.0));
        assert_eq!(Value::Float(0.5).as_f64(), Some(0.5));
        assert_eq!(Value::Bool(true).as_bool(), Some(true));
        assert_eq!(Value::String("x".into()).as_str(), Some("x"));
        assert_eq!(Value::Int(1).as_str(), None);
        assert_eq!(Value::Array(vec![]).as_array().map(|a| a.len()), Some(0));
        assert!(Value::Map(Map::new()).as_map().is_some());
        assert_eq!(Value::DateTime("x".into()).as_datetime(), Some("x"));
        assert_eq!(
            Value::Map(Map::new()).type_name(),
            "map[string]interface {}"
        );
        assert_eq!(Value::Array(vec![]).type_name(), "[]interface {}");
        let a = Value::Array(vec![s(Value::Int(1))]);
        let b = Value::Array(vec![Spanned::new(Value::Int(1), Pos::new(7, 7))]);
        assert!(a != b && a.equivalent(&b));
        assert!(!a.equivalent(&Value::Array(vec![])));
    }
}
