//! The heap setting every jeat binary starts with.
//!
//! A training or attack step allocates and frees the same large buffers again and again
//! (activations of a WideResNet at batch 128 are 8–34 MB each; the CPU backend's im2col and
//! col2im buffers up to 8 MB). glibc's allocator serves every block above 128 KB–32 MB with its
//! own `mmap` and returns it to the kernel on `free`, so each step pays a page fault for every
//! 4 KB page it touches again, plus the TLB shootdowns of the `munmap`s: 10 % to 17 % of a
//! PGD-10 adversarial-training iteration in the CPU profile (docs/performance.md).
//! [`keep_freed_memory`] makes glibc serve large blocks from its heap and keep freed memory for
//! the next step instead.

/// Serve large allocations from the heap and keep freed memory for reuse (glibc: no `mmap`
/// for large blocks, the heap trimmed only above 2 GiB of free memory at its top). Call it first
/// thing in `main`; it affects allocations made after it. Peak memory stays what the largest step
/// needs; memory freed after that peak is not given back until the process ends. Blocks above
/// 64 MB allocated on threads other than the main one still get their own `mmap` (glibc's
/// per-thread arenas cannot hold them). It does nothing without glibc (musl, macOS, Windows), nor
/// with `JEAT_KEEP_FREED_MEMORY=0` in the environment (glibc's defaults, or what
/// `GLIBC_TUNABLES` sets, then apply).
pub fn keep_freed_memory() {
    if std::env::var_os("JEAT_KEEP_FREED_MEMORY").is_some_and(|v| v == "0") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator parameters; glibc accepts it at any time, from
    // any thread, and these two options take plain integers.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
