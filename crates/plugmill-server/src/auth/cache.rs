//! [`TokenCache`]: what verified tokens said, so that a caller sending the same token on
//! every request pays for its verification once.
//!
//! - keyed by the SHA-256 of the token: the cache holds no token, and no other token can
//!   find an entry;
//! - an entry is valid until the token's `exp`, and never longer than the cache's maximum
//!   age, so an expired token is refused again and a revoked key stops working soon;
//! - an entry remembers the identity provider's key generation ([`super::Verifier::key_generation`]):
//!   when the keys are fetched again, every token is verified again with them;
//! - bounded: when full, expired entries go first, then all of them (verifying again is
//!   the only cost).
//!
//! Only successful verifications are remembered: a refused token is checked again each time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// One remembered verification.
struct Entry<V> {
    value: V,
    valid_until: Instant,
    generation: u64,
}

/// Verified tokens and what they said.
pub struct TokenCache<V> {
    entries: Mutex<HashMap<[u8; 32], Entry<V>>>,
    capacity: usize,
    max_age: Duration,
}

impl<V: Clone> TokenCache<V> {
    /// A cache of at most `capacity` tokens (0: it remembers nothing), each for at most
    /// `max_age`.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            max_age,
        }
    }

    /// What `token` said when it was verified, if that is still valid under key `generation`.
    pub fn get(&self, token: &str, generation: u64) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let key = digest(token);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(&key)?;
        if entry.generation == generation && Instant::now() < entry.valid_until {
            return Some(entry.value.clone());
        }
        entries.remove(&key);
        None
    }

    /// Remembers that `token` said `value`, until `expires` (its `exp`, seconds since the
    /// epoch) and at most the maximum age.
    pub fn insert(&self, token: &str, value: V, expires: Option<u64>, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        let now_unix = jsonwebtoken::get_current_timestamp();
        let Some(left) = expires.and_then(|exp| exp.checked_sub(now_unix)) else {
            return;
        };
        let now = Instant::now();
        let valid_until = now + self.max_age.min(Duration::from_secs(left));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| entry.valid_until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            digest(token),
            Entry {
                value,
                valid_until,
                generation,
            },
        );
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_an_hour() -> Option<u64> {
        Some(jsonwebtoken::get_current_timestamp() + 3600)
    }

    #[test]
    fn a_token_is_remembered_until_its_generation_changes() {
        let cache = TokenCache::new(10, Duration::from_secs(60));
        cache.insert("token-a", 1, in_an_hour(), 0);
        assert_eq!(cache.get("token-a", 0), Some(1));
        assert_eq!(cache.get("token-b", 0), None);
        assert_eq!(cache.get("token-a", 1), None, "the keys changed");
        assert_eq!(cache.get("token-a", 0), None, "and the entry is gone");
    }

    #[test]
    fn an_entry_lives_no_longer_than_the_token_or_the_maximum_age() {
        let cache = TokenCache::new(10, Duration::from_millis(50));
        cache.insert("short-lived", 1, in_an_hour(), 0);
        assert_eq!(cache.get("short-lived", 0), Some(1));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cache.get("short-lived", 0), None, "past the maximum age");

        let cache = TokenCache::new(10, Duration::from_secs(60));
        let now = jsonwebtoken::get_current_timestamp();
        cache.insert("expired", 1, Some(now - 1), 0);
        cache.insert("no-exp", 1, None, 0);
        assert_eq!(cache.get("expired", 0), None);
        assert_eq!(cache.get("no-exp", 0), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = TokenCache::new(3, Duration::from_secs(60));
        for i in 0..10 {
            cache.insert(&format!("token-{i}"), i, in_an_hour(), 0);
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.get("token-9", 0), Some(9));
        let off = TokenCache::new(0, Duration::from_secs(60));
        off.insert("token", 1, in_an_hour(), 0);
        assert_eq!(off.get("token", 0), None);
    }
}
