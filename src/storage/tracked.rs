//! [`Tracked`]: a `BTreeMap<String, V>` that remembers which entries changed since the last [`Tracked::drain`].
//!
//! Services keep their records in these maps. Reads go through `Deref` to the plain map and cost nothing extra;
//! every mutating method records the entry's key, so the storage layer can persist exactly the records a request
//! changed (and nothing when it changed none) without the handlers knowing that storage exists.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string-keyed map with a dirty set. Serializes exactly like the map it wraps.
#[derive(Debug, Clone)]
pub struct Tracked<V> {
    map: BTreeMap<String, V>,
    dirty: BTreeSet<String>,
}

impl<V> Default for Tracked<V> {
    fn default() -> Self {
        Tracked {
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
        }
    }
}

impl<V> Deref for Tracked<V> {
    type Target = BTreeMap<String, V>;
    fn deref(&self) -> &BTreeMap<String, V> {
        &self.map
    }
}

impl<V> Tracked<V> {
    /// The entry for `key`, marked changed.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let value = self.map.get_mut(key)?;
        if !self.dirty.contains(key) {
            self.dirty.insert(key.to_string());
        }
        Some(value)
    }

    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        self.dirty.insert(key.clone());
        self.map.insert(key, value)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        let old = self.map.remove(key)?;
        self.dirty.insert(key.to_string());
        Some(old)
    }

    /// The entry for `key`, inserted with `make` when missing; marked changed either way.
    pub fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.to_string());
        }
        self.map.entry(key.to_string()).or_insert_with(make)
    }

    /// Every value, each marked changed (O(n): for bulk edits only, never on a request's hot path).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.dirty.extend(self.map.keys().cloned());
        self.map.values_mut()
    }

    /// Every entry, each marked changed (O(n), like [`Tracked::values_mut`]).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut V)> {
        self.dirty.extend(self.map.keys().cloned());
        self.map.iter_mut()
    }

    /// Keeps the entries `keep` accepts; the removed ones are marked changed.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut V) -> bool) {
        let dirty = &mut self.dirty;
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                dirty.insert(k.clone());
            }
            kept
        });
    }

    /// Removes every entry, each marked changed.
    pub fn clear(&mut self) {
        self.dirty.extend(std::mem::take(&mut self.map).into_keys());
    }

    /// Whether any entry changed since the last drain.
    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Marks every entry changed (after a bulk load that must be written out whole).
    pub fn mark_all(&mut self) {
        self.dirty.extend(self.map.keys().cloned());
    }

    /// Forgets what changed (after loading from storage: the records are already there).
    pub fn mark_clean(&mut self) {
        self.dirty.clear();
    }

    /// The changed entries since the last drain: `(key, Some(value))` for present ones, `(key, None)` for removed
    /// ones. Clears the dirty set.
    pub fn drain(&mut self) -> Vec<(String, Option<&V>)> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .map(|key| {
                let value = self.map.get(&key);
                (key, value)
            })
            .collect()
    }
}

impl<'a, V> IntoIterator for &'a Tracked<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::collections::btree_map::Iter<'a, String, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<V> FromIterator<(String, V)> for Tracked<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        Tracked {
            map: iter.into_iter().collect(),
            dirty: BTreeSet::new(),
        }
    }
}

impl<V: Serialize> Serialize for Tracked<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Tracked<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_do_not_mark_and_mutations_do() {
        let mut m: Tracked<u32> = [("a".to_string(), 1), ("b".to_string(), 2)].into_iter().collect();
        assert!(!m.is_dirty());
        assert_eq!(m.get("a"), Some(&1));
        assert_eq!(m.iter().count(), 2);
        assert!(!m.is_dirty());
        *m.get_mut("a").unwrap() = 10;
        m.remove("b");
        m.insert("c".into(), 3);
        assert!(m.get_mut("zz").is_none());
        let drained: Vec<(String, Option<u32>)> = m.drain().into_iter().map(|(k, v)| (k, v.copied())).collect();
        assert_eq!(
            drained,
            vec![("a".into(), Some(10)), ("b".into(), None), ("c".into(), Some(3))]
        );
        assert!(!m.is_dirty());
    }

    #[test]
    fn serializes_as_the_plain_map() {
        let m: Tracked<u32> = [("k".to_string(), 7)].into_iter().collect();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"k":7}"#);
        let back: Tracked<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("k"), Some(&7));
        assert!(!back.is_dirty());
    }
}
