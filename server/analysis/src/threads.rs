//! The one thread pool (rayon's global pool) that parsing, indexing and checking run on.
//!
//! Its threads get a large stack: the parser and the facts walk recurse with the nesting depth
//! of the source, and generated code can nest very deeply.

/// Stack size for analysis threads (the pool's and the server's blocking threads).
pub const ANALYSIS_STACK_SIZE: usize = 64 * 1024 * 1024;

/// The environment variable that sets the number of threads when `--threads` does not.
pub const THREADS_VARIABLE: &str = "ASYNCSENSE_NUM_THREADS";

/// Sets up the global pool with `requested` threads, else `ASYNCSENSE_NUM_THREADS`, else one
/// per core; returns the number of threads. Call it once, before any parallel work: rayon
/// starts its default pool (with small stacks) on first use.
pub fn configure_pool(requested: Option<usize>) -> usize {
    let from_environment = std::env::var(THREADS_VARIABLE).ok().and_then(|value| match value.trim().parse::<usize>() {
        Ok(threads) if threads > 0 => Some(threads),
        _ => {
            tracing::warn!("{THREADS_VARIABLE}={value:?} is not a positive number; using one thread per core");
            None
        }
    });
    let threads = requested
        .filter(|threads| *threads > 0)
        .or(from_environment)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(ANALYSIS_STACK_SIZE)
        .thread_name(|idx| format!("asyncsense-{idx}"))
        .build_global();
    if let Err(error) = built {
        tracing::debug!("the thread pool is already set up: {error}");
    }
    rayon::current_num_threads()
}
