//! A tiny ordered parallel map on scoped std threads (no thread-pool dependency).
//!
//! Worker threads get a large stack: the parser and the facts walk recurse with the nesting
//! depth of the source, and generated code can nest very deeply.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

/// Stack size for analysis threads.
pub const ANALYSIS_STACK_SIZE: usize = 64 * 1024 * 1024;

/// Applies `function` to every item on up to `threads` threads; results keep the input order.
pub fn map<T, R, F>(items: &[T], threads: usize, function: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..threads {
            let spawned = thread::Builder::new().stack_size(ANALYSIS_STACK_SIZE).spawn_scoped(scope, || {
                let mut local = Vec::new();
                loop {
                    let idx = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(idx) else { break };
                    local.push((idx, function(item)));
                }
                let mut results = results.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                for (idx, result) in local {
                    results[idx] = Some(result);
                }
            });
            if let Err(error) = spawned {
                tracing::warn!("cannot start an analysis thread: {error}");
            }
        }
    });
    let results = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Items no thread reached (every spawn failed) are computed here, in order.
    results.into_iter().zip(items).map(|(result, item)| result.unwrap_or_else(|| function(item))).collect()
}

/// Like [`map`], but hands out the items `weight` ranks largest first: one big file picked up
/// last would leave the other threads idle at the end of the run. Results keep the input order.
pub fn map_largest_first<T, R, F, W>(items: &[T], threads: usize, weight: W, function: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
    W: Fn(&T) -> u64,
{
    let weights: Vec<u64> = items.iter().map(weight).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&idx| std::cmp::Reverse(weights[idx]));
    let mapped = map(&order, threads, |&idx| function(&items[idx]));
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for (idx, result) in order.into_iter().zip(mapped) {
        slots[idx] = Some(result);
    }
    slots.into_iter().flatten().collect()
}

/// The number of threads to use by default.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled = super::map(&items, 4, |value| value * 2);
        assert_eq!(doubled, items.iter().map(|value| value * 2).collect::<Vec<_>>());
        assert!(super::map(&Vec::<u32>::new(), 4, |value| *value).is_empty());
    }

    #[test]
    fn largest_first_keeps_order() {
        let items: Vec<u64> = (0..500).map(|value| (value * 7919) % 503).collect();
        let started = std::sync::Mutex::new(Vec::new());
        let doubled = super::map_largest_first(
            &items,
            1,
            |value| *value,
            |value| {
                started.lock().unwrap().push(*value);
                value * 2
            },
        );
        assert_eq!(doubled, items.iter().map(|value| value * 2).collect::<Vec<_>>());
        let started = started.into_inner().unwrap();
        assert!(started.windows(2).all(|pair| pair[0] >= pair[1]), "one thread takes the largest first");
    }
}
