//! The gateway's global allocator: mimalloc, with blocks of `DIRECT` bytes (4 MiB) and more mapped
//! straight from the kernel and unmapped the moment they are freed. On other systems than Linux
//! (a developer's Mac), plain mimalloc.
//!
//! Why not mimalloc alone: a request body of several megabytes is one mimalloc "huge" page. When
//! the last reference to it drops on another worker thread than the one that allocated it (a tokio
//! task moves between workers), mimalloc v3 only queues the block on that page, and the page is
//! not released until its owning thread next collects; `mi_huge_page_alloc` never looks at the
//! queue. So a 30 MB request after a 30 MB request sometimes held both buffers, and peak RSS
//! jumped from 1.7 to 2.7 times the body at random (bench/focus.py, `--big-requests 3`). A
//! mapping is returned by `munmap` on whichever thread frees it, so the figure is the same on every
//! run. Growing such a block is `mremap`, which moves page tables instead of copying bytes.
//!
//! Small blocks — nearly every allocation a request makes — stay with mimalloc, which bench/run
//! measured well ahead of glibc's malloc for them.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{Allocator, DIRECT};

#[cfg(not(target_os = "linux"))]
pub use mimalloc::MiMalloc as Allocator;
