//! The gateway's global allocator: mimalloc, with blocks of `DIRECT` bytes (4 MiB) and more mapped
//! straight from the kernel and unmapped the moment they are freed. On other systems than Linux
//! (a developer's Mac), plain mimalloc.
//!
//! Why not mimalloc alone: with it, three 30 MB requests in a row through the native path peaked
//! at 2.7 times the body in two runs of six (1.7 times in the others): the next body did not
//! always land on the memory the previous one had freed, and that memory was still resident.
//! With one worker thread it did not happen (`TOKIO_WORKER_THREADS=1`: 1.69 times);
//! `MIMALLOC_PURGE_DELAY=0` did not help; the mechanism inside mimalloc was not pinned down. A
//! mapping is returned by `munmap` on whichever thread frees it, so nothing of a freed body stays
//! resident: 1.71–1.78 times in all eleven runs since (bench/sections/native.md). Growing such a
//! block is `mremap`, which moves page tables instead of copying bytes. The cost is a fresh
//! mapping's page faults for every block of 4 MiB or more: about 40 ms more per 30 MB request on
//! the benchmark's VM, measured in the same place.
//!
//! Small blocks — nearly every allocation a request makes — stay with mimalloc, which bench/run
//! measured well ahead of glibc's malloc for them.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{Allocator, DIRECT};

#[cfg(not(target_os = "linux"))]
pub use mimalloc::MiMalloc as Allocator;
