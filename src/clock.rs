//! The controllable clock. Every service asks it for "now" instead of the system clock, so tests can move time
//! (deletion windows, rotation periods, expiry) without waiting. It starts at the system time with no offset.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time plus an adjustable offset, shared by all services of one server.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch, as the services see it.
    pub fn now_ms(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        system + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Seconds since the Unix epoch (fractional), the unit AWS JSON timestamps use.
    pub fn now_secs_f64(&self) -> f64 {
        self.now_ms() as f64 / 1000.0
    }

    /// Whole seconds since the Unix epoch, the unit Key Vault attributes use.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward (or back, with a negative value) by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Sets the clock so that "now" is `epoch_ms`.
    pub fn set_ms(&self, epoch_ms: i64) {
        let current = self.now_ms() - self.offset_ms.load(Ordering::Relaxed);
        self.offset_ms.store(epoch_ms - current, Ordering::Relaxed);
    }

    /// How far the clock is from the system time, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Back to the system time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_and_set_move_now() {
        let clock = Clock::new();
        let before = clock.now_ms();
        clock.advance_ms(86_400_000);
        assert!(clock.now_ms() - before >= 86_400_000);
        clock.set_ms(1_000_000);
        assert!((clock.now_ms() - 1_000_000).abs() < 1000);
        clock.reset();
        assert!((clock.now_ms() - before).abs() < 60_000);
    }
}
