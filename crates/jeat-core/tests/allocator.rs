//! `keep_freed_memory` changes where glibc puts large blocks: after it, a 64 MB buffer comes
//! from the heap (and stays there when freed) instead of from its own `mmap`. One test in its
//! own binary without the test harness, on the main thread as the `jeat` binary's own
//! allocations are (the setting is process-wide, and the harness's worker threads use glibc's
//! per-thread arenas, whose heaps are capped at 64 MB).

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    large_buffers_come_from_the_heap_and_stay_there();
    println!("allocator: ok");
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn large_buffers_come_from_the_heap_and_stay_there() {
    const BYTES: usize = 64 << 20;
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let mmapped_bytes = || unsafe { libc::mallinfo2() }.hblkhd;
    let heap_bytes = || unsafe { libc::mallinfo2() }.arena;

    let before = mmapped_bytes();
    let buffer = std::hint::black_box(vec![1u8; BYTES]);
    assert!(
        mmapped_bytes() >= before + BYTES,
        "with glibc's defaults a 64 MB block is mmapped (the premise of this test)"
    );
    drop(buffer);

    jeat_core::allocator::keep_freed_memory();
    let before = mmapped_bytes();
    let buffer = std::hint::black_box(vec![1u8; BYTES]);
    assert!(
        mmapped_bytes() < before + BYTES,
        "the 64 MB block was mmapped after keep_freed_memory"
    );
    let heap_with_buffer = heap_bytes();
    assert!(
        heap_with_buffer >= BYTES,
        "the heap does not hold the block"
    );
    drop(buffer);
    assert!(
        heap_bytes() >= heap_with_buffer,
        "freeing the block gave heap memory back to the kernel"
    );
}
