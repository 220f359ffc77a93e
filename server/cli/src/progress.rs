//! A progress bar for long runs, on stderr and only when stderr is a terminal: logs, pipes and
//! CI output stay clean, and stdout (the report) is never touched.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs shorter than this show nothing.
const SHOW_AFTER: Duration = Duration::from_millis(300);
const REDRAW_EVERY: Duration = Duration::from_millis(80);
const WIDTH: usize = 30;

/// A bar is on the terminal's last line (so a log line must erase it first).
static BAR_SHOWN: AtomicBool = AtomicBool::new(false);

/// The writer for log lines: stderr, after erasing a progress bar that is on screen (the next
/// redraw brings it back below the log line).
pub fn log_writer() -> std::io::Stderr {
    if BAR_SHOWN.swap(false, Ordering::Relaxed) {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
    std::io::stderr()
}

/// Counts finished items of one phase.
pub struct Progress {
    done: AtomicUsize,
}

impl Progress {
    /// Wraps a per-item function so that each call counts as one finished item.
    pub fn counting<'a, T, R>(&'a self, function: impl Fn(&T) -> R + Sync + 'a) -> impl Fn(&T) -> R + Sync + 'a {
        move |item| {
            let result = function(item);
            self.done.fetch_add(1, Ordering::Relaxed);
            result
        }
    }
}

/// Runs `work`, drawing `label [====    ] done/total` on stderr while it runs (when stderr is a
/// terminal and the phase takes long enough to be worth a bar). The line is erased afterwards.
pub fn run<R>(label: &str, total: usize, work: impl FnOnce(&Progress) -> R) -> R {
    let progress = Progress { done: AtomicUsize::new(0) };
    if total == 0 || !std::io::stderr().is_terminal() {
        return work(&progress);
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let start = Instant::now();
            let mut drawn = false;
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(REDRAW_EVERY);
                if start.elapsed() < SHOW_AFTER || finished.load(Ordering::Relaxed) {
                    continue;
                }
                let done = progress.done.load(Ordering::Relaxed).min(total);
                let _ = write!(std::io::stderr().lock(), "\r{}", bar(label, done, total));
                BAR_SHOWN.store(true, Ordering::Relaxed);
                drawn = true;
            }
            if drawn && BAR_SHOWN.swap(false, Ordering::Relaxed) {
                // Erase the line so the report starts on a clean one.
                let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            }
        });
        let result = work(&progress);
        finished.store(true, Ordering::Relaxed);
        result
    })
}

fn bar(label: &str, done: usize, total: usize) -> String {
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH).min(WIDTH);
    format!("{label} [{}{}] {done}/{total} files", "=".repeat(filled), " ".repeat(WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_in_proportion() {
        assert_eq!(bar("Checking", 0, 10), format!("Checking [{}] 0/10 files", " ".repeat(WIDTH)));
        assert_eq!(bar("Checking", 5, 10), format!("Checking [{}{}] 5/10 files", "=".repeat(15), " ".repeat(15)));
        assert_eq!(bar("Checking", 10, 10), format!("Checking [{}] 10/10 files", "=".repeat(WIDTH)));
    }

    #[test]
    fn counting_counts_each_call() {
        let progress = Progress { done: AtomicUsize::new(0) };
        let double = progress.counting(|x: &u32| x * 2);
        assert_eq!([1, 2, 3].iter().map(&double).collect::<Vec<_>>(), vec![2, 4, 6]);
        assert_eq!(progress.done.load(Ordering::Relaxed), 3);
    }
}
