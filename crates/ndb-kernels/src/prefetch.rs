//! Software prefetch: ask the CPU to start loading a vector that will be read soon (graph
//! search reads vectors at unpredictable addresses, which the hardware prefetcher cannot guess).

/// Cache lines of a vector to prefetch (the hardware prefetcher follows on from there).
#[cfg(target_arch = "x86_64")]
const LINES: usize = 4;
#[cfg(target_arch = "x86_64")]
const LINE_BYTES: usize = 64;

/// Hint that `v` (a vector, a quantized code) will be read soon. Has no effect on results; a
/// no-op where unsupported.
#[inline]
pub fn prefetch<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(v);
        let base = v.as_ptr().cast::<i8>();
        for line in 0..LINES.min(bytes.div_ceil(LINE_BYTES)) {
            // SAFETY: the pointer stays inside `v` (line * 64 < its byte length); a prefetch
            // never faults and never reads memory into a register. SSE is part of the x86_64
            // baseline, so the instruction exists on every x86_64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(line * LINE_BYTES)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetch_accepts_any_slice() {
        super::prefetch::<f32>(&[]);
        super::prefetch(&[7u8; 300]);
        super::prefetch(&[1.0]);
        super::prefetch(&vec![0.0; 1000]);
    }
}
