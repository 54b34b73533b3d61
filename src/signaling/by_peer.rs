//! A map by peer id for the few people of a room: a `Vec` of pairs, in the order they came. A room
//! holds at most eight people, and each `BTreeMap` instance costs kilobytes of wasm.

use loopback_signal::PeerId;

/// Values by peer id, oldest first.
#[derive(Clone, Debug)]
pub struct ByPeer<T>(Vec<(PeerId, T)>);

impl<T> Default for ByPeer<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> ByPeer<T> {
    pub fn get(&self, peer: PeerId) -> Option<&T> {
        self.0.iter().find(|(p, _)| *p == peer).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, peer: PeerId) -> Option<&mut T> {
        self.0.iter_mut().find(|(p, _)| *p == peer).map(|(_, v)| v)
    }

    pub fn contains(&self, peer: PeerId) -> bool {
        self.get(peer).is_some()
    }

    /// Puts `value` in for `peer`; returns what it replaces.
    pub fn insert(&mut self, peer: PeerId, value: T) -> Option<T> {
        match self.get_mut(peer) {
            Some(old) => Some(std::mem::replace(old, value)),
            None => {
                self.0.push((peer, value));
                None
            }
        }
    }

    pub fn remove(&mut self, peer: PeerId) -> Option<T> {
        let at = self.0.iter().position(|(p, _)| *p == peer)?;
        Some(self.0.remove(at).1)
    }

    /// Keeps only the entries `keep` says.
    pub fn retain(&mut self, mut keep: impl FnMut(PeerId, &mut T) -> bool) {
        self.0.retain_mut(|(p, v)| keep(*p, v));
    }

    pub fn ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.0.iter().map(|(p, _)| *p)
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (PeerId, &T)> {
        self.0.iter().map(|(p, v)| (*p, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everything, taken out.
    pub fn drain(&mut self) -> impl Iterator<Item = (PeerId, T)> + '_ {
        self.0.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_map_in_arrival_order() {
        let mut map = ByPeer::default();
        assert_eq!(map.insert(5, "a"), None);
        assert_eq!(map.insert(2, "b"), None);
        assert_eq!(map.insert(5, "c"), Some("a"));
        assert_eq!(map.ids().collect::<Vec<_>>(), vec![5, 2]);
        assert_eq!(map.get(5), Some(&"c"));
        assert!(map.contains(2) && !map.contains(9));
        assert_eq!(map.remove(5), Some("c"));
        assert_eq!(map.remove(5), None);
        map.retain(|peer, _| peer != 2);
        assert!(map.is_empty());
    }
}
