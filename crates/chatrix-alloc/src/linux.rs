//! The Linux allocator: see the crate's documentation.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;
use std::ptr;

use rustix::mm::{MapFlags, MremapFlags, ProtFlags};

/// Blocks at least this large are mapped directly. mimalloc gives blocks above 512 KiB a page of
/// their own; 4 MiB keeps the common Claude Code request (up to a few MB of text) on mimalloc,
/// whose freed memory is reused without new page faults until it is purged, and moves
/// image-sized bodies to the kernel.
pub const DIRECT: usize = 4 << 20;

/// A mapping is page aligned; any alignment up to the smallest page size is therefore met.
const MAPPED_ALIGN: usize = 4096;

/// The global allocator (`#[global_allocator]` in src/main.rs).
pub struct Allocator;

/// Whether a block of this layout is (or was) mapped rather than mimalloc's.
fn mapped(layout: &Layout) -> bool {
    layout.size() >= DIRECT && layout.align() <= MAPPED_ALIGN
}

/// A fresh mapping of `len` bytes, or null if the kernel refuses.
fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address the kernel chooses aliases nothing.
    unsafe {
        rustix::mm::mmap_anonymous(
            ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    }
    .map_or(ptr::null_mut(), |p| p.cast())
}

/// # Safety
/// `ptr` and `len` are a mapping [`map`] returned (or [`remap`] moved), not yet unmapped.
unsafe fn unmap(ptr: *mut u8, len: usize) {
    // SAFETY: the caller passes a live mapping of exactly this length.
    // A failure would leave the pages mapped: a leak, never a use of freed memory.
    let _ = unsafe { rustix::mm::munmap(ptr.cast::<c_void>(), len) };
}

/// # Safety
/// As [`unmap`]; on success the old range is gone.
unsafe fn remap(ptr: *mut u8, len: usize, new_len: usize) -> *mut u8 {
    // SAFETY: the caller passes a live mapping of exactly `len` bytes; MAYMOVE lets the kernel
    // choose the new address, so nothing else is overwritten.
    unsafe { rustix::mm::mremap(ptr.cast::<c_void>(), len, new_len, MremapFlags::MAYMOVE) }
        .map_or(ptr::null_mut(), |p| p.cast())
}

// SAFETY: every block is freed by the allocator that made it: a layout's size and alignment
// decide which one (`mapped`), and Rust passes `dealloc` and `realloc` the layout the block was
// allocated with. A mapping is page aligned, zero filled, and at least `size` bytes long.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            map(layout.size())
        } else {
            // SAFETY: the caller's contract for `alloc`, passed on.
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            // A fresh anonymous mapping is already zero.
            map(layout.size())
        } else {
            // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(&layout) {
            // SAFETY: this layout was mapped by `alloc`, `alloc_zeroed` or `realloc`.
            unsafe { unmap(ptr, layout.size()) }
        } else {
            // SAFETY: this layout came from mimalloc.
            unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises `new_size`, with the block's alignment, is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (mapped(&layout), mapped(&new_layout)) {
            // SAFETY: the block came from mimalloc and stays there; the caller's contract.
            (false, false) => unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) },
            // SAFETY: the block is a live mapping of `layout.size()` bytes.
            (true, true) => unsafe { remap(ptr, layout.size(), new_size) },
            // Across the threshold: a block in the other allocator, the bytes copied.
            _ => {
                // SAFETY: `new_layout` is valid (above), and `realloc`'s caller promises `new_size > 0`.
                let new_ptr = unsafe { self.alloc(new_layout) };
                if !new_ptr.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least the smaller size long.
                    unsafe { ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size)) };
                    // SAFETY: `ptr` was allocated with `layout` and is not used again.
                    unsafe { self.dealloc(ptr, layout) };
                }
                new_ptr
            }
        }
    }
}

#[cfg(test)]
#[path = "linux_tests.rs"]
mod tests;
