//! Lowering the CPU priority of background threads, so that maintenance work (graph builds,
//! merges) yields the processor to searches and writers.

/// The nice value background threads run at (0 is normal, 19 the lowest priority).
pub const BACKGROUND_NICE: i32 = 10;

/// Lower the calling thread's CPU priority to [`BACKGROUND_NICE`]. On Linux the nice value is
/// a per-thread attribute, so this affects only the calling thread; elsewhere it does nothing.
/// Lowering one's own priority needs no privilege.
pub fn lower_current_thread_priority() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        #[expect(unsafe_code, reason = "an FFI call to setpriority(2); see SAFETY")]
        // SAFETY: setpriority takes plain integers and touches no memory of ours; `who == 0`
        // names the calling thread (Linux/NPTL keeps nice values per thread).
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn lowers_only_the_calling_thread() {
        let child = std::thread::spawn(|| {
            super::lower_current_thread_priority().unwrap();
            #[expect(unsafe_code, reason = "reading the nice value back")]
            // SAFETY: getpriority takes plain integers.
            unsafe {
                libc::getpriority(libc::PRIO_PROCESS, 0)
            }
        })
        .join()
        .unwrap();
        assert!(child >= super::BACKGROUND_NICE, "child nice {child}");
        #[expect(unsafe_code, reason = "reading the nice value back")]
        // SAFETY: getpriority takes plain integers.
        let mine = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        assert!(
            mine < child,
            "the calling thread kept its priority: {mine} vs {child}"
        );
    }
}
