use std::alloc::{GlobalAlloc, Layout};

use proptest::prelude::*;

use super::{Allocator, DIRECT};

/// Every this many bytes, and the first and last page, a block carries a mark of its position.
const STRIDE: usize = 4093;

fn marked(len: usize) -> impl Iterator<Item = usize> {
    let edges = (0..len.min(4096)).chain(len.saturating_sub(4096)..len);
    edges.chain((0..len).step_by(STRIDE))
}

fn mark(i: usize, seed: u8) -> u8 {
    seed.wrapping_add((i % 251) as u8)
}

fn fill(ptr: *mut u8, len: usize, seed: u8) {
    // SAFETY: `ptr` is a live block of at least `len` bytes that nothing else refers to.
    let block = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
    for i in marked(len) {
        block[i] = mark(i, seed);
    }
}

/// Whether the first `kept` bytes of a block `fill` marked at `written` bytes still hold the marks.
fn holds(ptr: *mut u8, written: usize, kept: usize, seed: u8) -> bool {
    // SAFETY: `ptr` is a live block of at least `kept` bytes.
    let block = unsafe { std::slice::from_raw_parts(ptr, kept) };
    marked(written)
        .filter(|&i| i < kept)
        .all(|i| block[i] == mark(i, seed))
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
    assert!(!super::mapped(&layout));
    assert!(super::mapped(
        &Layout::from_size_align(DIRECT, 4096).unwrap()
    ));
    assert!(!super::mapped(
        &Layout::from_size_align(DIRECT - 1, 8).unwrap()
    ));
    // SAFETY: the layout is not zero sized.
    let ptr = unsafe { Allocator.alloc(layout) };
    assert!(!ptr.is_null());
    assert_eq!(ptr as usize % (1 << 16), 0);
    // SAFETY: allocated above with this layout.
    unsafe { Allocator.dealloc(ptr, layout) };
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(DIRECT - 1),
        Just(DIRECT),
        Just(DIRECT + 1),
        1usize..(3 * DIRECT),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A block grown and shrunk through sizes on both sides of DIRECT keeps its bytes, whichever
    /// allocator each step lands in (mimalloc, the kernel, or a move between them).
    #[test]
    fn realloc_keeps_the_bytes_across_the_threshold(
        sizes in proptest::collection::vec(size(), 1..6),
        align in prop_oneof![Just(16usize), Just(4096), Just(8192)],
        seed in any::<u8>(),
    ) {
        let mut layout = Layout::from_size_align(sizes[0], align).unwrap();
        // SAFETY: the layout is not zero sized.
        let mut ptr = unsafe { Allocator.alloc(layout) };
        prop_assert!(!ptr.is_null());
        prop_assert_eq!(ptr as usize % align, 0);
        fill(ptr, layout.size(), seed);
        for &size in &sizes[1..] {
            // SAFETY: `ptr` is live with `layout`; `size` is not zero and fits a layout.
            let resized = unsafe { Allocator.realloc(ptr, layout, size) };
            prop_assert!(!resized.is_null());
            prop_assert_eq!(resized as usize % align, 0);
            let kept = layout.size().min(size);
            prop_assert!(holds(resized, layout.size(), kept, seed), "bytes lost resizing {} to {}", layout.size(), size);
            ptr = resized;
            layout = Layout::from_size_align(size, align).unwrap();
            fill(ptr, size, seed);
        }
        // SAFETY: live with `layout`.
        unsafe { Allocator.dealloc(ptr, layout) };
    }
}
