use std::alloc::{GlobalAlloc, Layout};
use std::sync::mpsc;

use proptest::prelude::*;

use super::{Allocator, DIRECT};

const MIB: usize = 1 << 20;

/// Whether every byte of `[ptr, ptr + len)` is mapped in this process, from /proc/self/maps.
/// (The kernel may merge a mapping with its neighbours, so this follows ranges, not starts.)
fn all_mapped(ptr: *mut u8, len: usize) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let ranges: Vec<(usize, usize)> = maps
        .lines()
        .filter_map(|line| {
            let (start, end) = line.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect();
    let (mut cursor, end) = (ptr as usize, ptr as usize + len);
    while cursor < end {
        match ranges.iter().find(|(s, e)| *s <= cursor && cursor < *e) {
            Some(&(_, e)) => cursor = e,
            None => return false,
        }
    }
    true
}

fn pattern(i: usize, seed: u8) -> u8 {
    seed.wrapping_add((i % 251) as u8)
}

fn fill(ptr: *mut u8, len: usize, seed: u8) {
    // SAFETY: `ptr` is a live block of at least `len` bytes that nothing else refers to.
    let block = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
    for (i, byte) in block.iter_mut().enumerate() {
        *byte = pattern(i, seed);
    }
}

fn holds(ptr: *mut u8, len: usize, seed: u8) -> bool {
    // SAFETY: `ptr` is a live block of at least `len` bytes, written by `fill`.
    let block = unsafe { std::slice::from_raw_parts(ptr, len) };
    block
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern(i, seed))
}

#[test]
fn a_large_block_is_its_own_mapping_and_is_gone_when_freed_on_another_thread() {
    let layout = Layout::from_size_align(30 * MIB + 4096, 1).unwrap();
    // SAFETY: the layout is not zero sized.
    let ptr = unsafe { Allocator.alloc(layout) };
    assert!(!ptr.is_null());
    assert_eq!(ptr as usize % 4096, 0, "a mapping starts on a page");
    assert!(all_mapped(ptr, layout.size()));
    fill(ptr, layout.size(), 7);

    // Freed on another thread than the one that allocated it, as a request's body often is.
    let (done, freed) = mpsc::channel();
    let address = ptr as usize;
    std::thread::spawn(move || {
        // SAFETY: allocated above with this layout, and not used after this.
        unsafe { Allocator.dealloc(address as *mut u8, layout) };
        done.send(()).unwrap();
    });
    freed.recv().unwrap();
    // Other tests may map smaller blocks meanwhile, inside the range but never over all of it.
    assert!(
        !all_mapped(address as *mut u8, layout.size()),
        "the block is still mapped after it was freed on another thread"
    );
}

#[test]
fn a_large_zeroed_block_is_zero() {
    let layout = Layout::from_size_align(DIRECT, 64).unwrap();
    // SAFETY: the layout is not zero sized.
    let ptr = unsafe { Allocator.alloc_zeroed(layout) };
    assert!(!ptr.is_null());
    // SAFETY: a live block of `layout.size()` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
    assert!(bytes.iter().all(|&b| b == 0));
    // SAFETY: allocated above with this layout.
    unsafe { Allocator.dealloc(ptr, layout) };
}

#[test]
fn an_alignment_beyond_a_page_stays_with_mimalloc() {
    let layout = Layout::from_size_align(DIRECT, 1 << 16).unwrap();
    // SAFETY: the layout is not zero sized.
    let ptr = unsafe { Allocator.alloc(layout) };
    assert!(!ptr.is_null());
    assert_eq!(ptr as usize % (1 << 16), 0);
    // SAFETY: allocated above with this layout.
    unsafe { Allocator.dealloc(ptr, layout) };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A vector grown and shrunk through sizes on both sides of DIRECT keeps its bytes, whichever
    /// allocator each step lands in (mimalloc, the kernel, or a move between them).
    #[test]
    fn realloc_keeps_the_bytes_across_the_threshold(
        sizes in proptest::collection::vec(1usize..(3 * DIRECT), 1..6),
        seed in any::<u8>(),
    ) {
        let mut layout = Layout::from_size_align(sizes[0], 16).unwrap();
        // SAFETY: the layout is not zero sized.
        let mut ptr = unsafe { Allocator.alloc(layout) };
        prop_assert!(!ptr.is_null());
        fill(ptr, layout.size(), seed);
        for &size in &sizes[1..] {
            // SAFETY: `ptr` is live with `layout`; `size` is not zero and fits a layout.
            let grown = unsafe { Allocator.realloc(ptr, layout, size) };
            prop_assert!(!grown.is_null());
            let kept = layout.size().min(size);
            prop_assert!(holds(grown, kept, seed), "bytes lost resizing {} to {}", layout.size(), size);
            ptr = grown;
            layout = Layout::from_size_align(size, 16).unwrap();
            fill(ptr, size, seed);
        }
        // SAFETY: live with `layout`.
        unsafe { Allocator.dealloc(ptr, layout) };
    }
}
