//! Helpers shared by integration tests (each test file that needs them declares `mod common;`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Abort the whole test binary if a test is still running after `limit` (a deadlock, or a
/// writer stuck behind background work, must fail rather than stall CI). Set the returned flag
/// when the test is done. `what` names the suspected cause in the message.
pub fn watchdog(limit: Duration, what: &'static str) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    std::thread::spawn(move || {
        let start = Instant::now();
        while !flag.load(Ordering::Relaxed) {
            if start.elapsed() > limit {
                eprintln!("test still running after {limit:?}: {what}");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    done
}
