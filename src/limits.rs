//! Limits on work that one request can make expensive for every other: key generation (RSA-4096 takes seconds of a
//! core) runs at most one job per core at a time, and a request waits for its turn at most [`GENERATION_WAIT`];
//! past that it gets the cloud's throttling error instead of an unbounded delay (16 parallel RSA-4096 CreateKey
//! calls used to take up to 24 s each).

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long a request waits for a key-generation slot.
pub const GENERATION_WAIT: Duration = Duration::from_secs(20);

/// The request waited [`GENERATION_WAIT`] without getting a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A bounded queue in front of slow, CPU-bound jobs.
pub struct Limiter {
    slots: Semaphore,
    wait: Duration,
}

impl Limiter {
    pub fn new(slots: usize, wait: Duration) -> Self {
        Limiter {
            slots: Semaphore::new(slots.max(1)),
            wait,
        }
    }

    /// Runs `job` on the blocking pool once a slot is free, or answers [`Busy`] after the wait. `Err(Busy)` also
    /// when the job panicked (its caller answers an error either way).
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = tokio::time::timeout(self.wait, self.slots.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let out = tokio::task::spawn_blocking(job).await.map_err(|_| Busy);
        drop(permit);
        out
    }
}

/// The limiter every service's key generation shares (the cores are shared): one slot per core.
pub fn key_generation() -> &'static Limiter {
    static LIMITER: OnceLock<Limiter> = OnceLock::new();
    LIMITER.get_or_init(|| {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Limiter::new(cores, GENERATION_WAIT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_answers_busy_after_the_wait() {
        let limiter = std::sync::Arc::new(Limiter::new(1, Duration::from_millis(20)));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter
                    .run(move || {
                        let _ = started_tx.send(());
                        let _ = release_rx.recv();
                        1
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        assert_eq!(limiter.run(|| 2).await, Err(Busy), "the only slot is taken");
        release_tx.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Ok(1));
        assert_eq!(limiter.run(|| 3).await, Ok(3), "free again");
    }
}
