//! A freed large block leaves the process at once, whichever thread frees it. Alone in its own
//! test binary: it reads the process's mappings, which other tests running in parallel would
//! change.
#![cfg(target_os = "linux")]

use std::alloc::{GlobalAlloc, Layout};

use chatrix_alloc::{Allocator, DIRECT};

/// Whether every byte of `[start, start + len)` is mapped in this process, from /proc/self/maps.
/// (The kernel may merge a mapping with its neighbours, so this follows ranges, not starts.)
fn all_mapped(start: usize, len: usize) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let ranges: Vec<(usize, usize)> = maps
        .lines()
        .filter_map(|line| {
            let (from, to) = line.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(from, 16).ok()?,
                usize::from_str_radix(to, 16).ok()?,
            ))
        })
        .collect();
    let (mut cursor, end) = (start, start + len);
    while cursor < end {
        match ranges.iter().find(|(s, e)| *s <= cursor && cursor < *e) {
            Some(&(_, e)) => cursor = e,
            None => return false,
        }
    }
    true
}

#[test]
fn a_large_block_freed_on_another_thread_is_unmapped_at_once() {
    let layout = Layout::from_size_align(30 << 20, 1).unwrap();
    assert!(layout.size() >= DIRECT);
    // SAFETY: the layout is not zero sized.
    let ptr = unsafe { Allocator.alloc(layout) };
    assert!(!ptr.is_null());
    assert_eq!(ptr as usize % 4096, 0, "a mapping starts on a page");
    // SAFETY: a live block of `layout.size()` bytes that nothing else refers to.
    unsafe { std::slice::from_raw_parts_mut(ptr, layout.size()) }.fill(0xA5);
    let address = ptr as usize;
    assert!(all_mapped(address, layout.size()));

    // Freed on another thread than the one that allocated it, as a request's body often is. The
    // thread is joined, not signalled, so it allocates nothing that could be mapped in the hole.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // SAFETY: allocated above with this layout, and not used after this.
            unsafe { Allocator.dealloc(address as *mut u8, layout) };
        });
    });
    assert!(
        !all_mapped(address, layout.size()),
        "the block is still mapped after it was freed on another thread"
    );
}
