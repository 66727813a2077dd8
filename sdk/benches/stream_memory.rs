//! Peak memory while streaming peers with `client.peers(..)`: 10, 20 and 40 full pages of 500
//! entries from a local server, read one item at a time. The peak must not grow with the
//! number of pages (the stream holds one page at a time).
//!
//! Run: `cargo bench -p atlas-network-peering --bench stream_memory` (a plain binary, not criterion: it prints a
//! table). Results and how to read them: docs/PERFORMANCE.md.
//!
//! Two measures, each reset before every listing:
//! - **peak heap**: a counting global allocator (this binary only) tracks the bytes live at
//!   any moment; the peak above the level at the start of the listing is what the listing
//!   needed. It counts every thread of the process, the server's included (the server's pages
//!   are rendered before any listing starts, so they are part of the starting level).
//! - **VmHWM**: the kernel's resident-set high-water mark, reset by writing `5` to
//!   `/proc/self/clear_refs`. Coarser (pages, allocator caching), shown as a cross-check.
//!
//! A control run collects the same listings into a `Vec` instead: its peak does grow with the
//! page count, which shows the measure would catch a stream that kept pages.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
use futures_util::StreamExt;

use common::{PAGE_SIZE, PageServer};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
    ALLOCATED.fetch_add(by as u64, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated around it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A field of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`), if the kernel has it.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets the resident-set high-water mark to the current RSS; false where not allowed.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Measure {
    items: usize,
    requests: u64,
    seconds: f64,
    peak_heap: usize,
    retained_heap: isize,
    allocated: u64,
    allocations: u64,
    hwm_kib: Option<u64>,
    rss_before_kib: Option<u64>,
}

fn measure(
    rt: &tokio::runtime::Runtime,
    server: &PageServer,
    listing: impl Future<Output = usize>,
) -> Measure {
    let hwm_reset = reset_hwm();
    let rss_before_kib = status_kib("VmRSS");
    let requests = server.requests();
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let allocated = ALLOCATED.load(Ordering::Relaxed);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let began = Instant::now();
    let items = rt.block_on(listing);
    let seconds = began.elapsed().as_secs_f64();
    Measure {
        items,
        requests: server.requests() - requests,
        seconds,
        peak_heap: PEAK.load(Ordering::Relaxed).saturating_sub(start),
        retained_heap: LIVE.load(Ordering::Relaxed) as isize - start as isize,
        allocated: ALLOCATED.load(Ordering::Relaxed) - allocated,
        allocations: ALLOCATIONS.load(Ordering::Relaxed) - allocations,
        hwm_kib: if hwm_reset { status_kib("VmHWM") } else { None },
        rss_before_kib,
    }
}

fn paging() -> Paging {
    Paging::new().items_per_page(PAGE_SIZE as u32)
}

/// Reads the listing one item at a time and keeps nothing (what a consumer should do).
async fn stream_items(client: atlas_network_peering::Client, pages: usize) -> usize {
    let mut items = client.peers(&PageServer::group(pages), paging());
    let mut n = 0;
    while let Some(peer) = items.next().await {
        std::hint::black_box(peer.unwrap());
        n += 1;
    }
    n
}

/// The control: the same listing collected into one `Vec`.
async fn collect_items(client: atlas_network_peering::Client, pages: usize) -> usize {
    let all: Vec<_> = client
        .peers(&PageServer::group(pages), paging())
        .collect()
        .await;
    let n = all.len();
    std::hint::black_box(all);
    n
}

fn kib(bytes: usize) -> String {
    format!("{:.0}", bytes as f64 / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench` (and any filter); this binary takes no options.
    const LENGTHS: [usize; 3] = [10, 20, 40];
    const ROUNDS: usize = 5;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // 2 pages for the warm-up, then the measured lengths.
    let server = PageServer::start(&[2, LENGTHS[0], LENGTHS[1], LENGTHS[2]]);
    let client = atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url)
            .unwrap()
            .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none()),
    )
    .unwrap();

    // Warm-up: connection pool, lazily built statics (regexes, TLS provider), thread stacks.
    for _ in 0..2 {
        rt.block_on(stream_items(client.clone(), 2));
    }

    println!(
        "pages   items  round  requests  peak heap KiB  retained KiB  allocated MiB  allocations  VmHWM-VmRSS KiB  items/s"
    );
    let mut peaks: Vec<(usize, usize)> = Vec::new();
    let mut collected: Vec<(usize, usize)> = Vec::new();
    for (label, collect) in [
        ("stream (one item at a time)", false),
        ("control: collect into Vec", true),
    ] {
        println!("-- {label}");
        for pages in LENGTHS {
            for round in 1..=ROUNDS {
                let m = if collect {
                    measure(&rt, &server, collect_items(client.clone(), pages))
                } else {
                    measure(&rt, &server, stream_items(client.clone(), pages))
                };
                assert_eq!(m.items, pages * PAGE_SIZE);
                assert_eq!(m.requests, pages as u64);
                let hwm = match (m.hwm_kib, m.rss_before_kib) {
                    (Some(h), Some(r)) => format!("{}", h.saturating_sub(r)),
                    _ => "n/a".to_owned(),
                };
                println!(
                    "{pages:>5}  {:>6}  {round:>5}  {:>8}  {:>13}  {:>12}  {:>13.1}  {:>11}  {:>15}  {:>7.0}",
                    m.items,
                    m.requests,
                    kib(m.peak_heap),
                    m.retained_heap / 1024,
                    m.allocated as f64 / (1024.0 * 1024.0),
                    m.allocations,
                    hwm,
                    m.items as f64 / m.seconds,
                );
                if collect {
                    collected.push((pages, m.peak_heap));
                } else {
                    peaks.push((pages, m.peak_heap));
                }
            }
        }
    }
    println!(
        "page body: {} bytes (page 2 of a listing); size_of::<Peer>() = {} bytes; process VmRSS now {} KiB",
        common::peer_page(2, PAGE_SIZE, true, None).len(),
        std::mem::size_of::<atlas_network_peering::models::Peer>(),
        status_kib("VmRSS").unwrap_or(0)
    );
    let range_in = |v: &[(usize, usize)], n: usize| {
        let of_n = || v.iter().filter(|p| p.0 == n).map(|p| p.1);
        (of_n().min().unwrap(), of_n().max().unwrap())
    };
    let range = |n: usize| range_in(&peaks, n);
    for n in LENGTHS {
        let (low, high) = range(n);
        println!(
            "stream peak heap at {n:>2} pages: {} to {} KiB over {ROUNDS} rounds",
            kib(low),
            kib(high)
        );
    }
    let (_, small) = range(LENGTHS[0]);
    let (_, large) = range(LENGTHS[2]);
    println!(
        "worst round at {} pages against {} pages: {:+.1}%",
        LENGTHS[2],
        LENGTHS[0],
        (large as f64 / small as f64 - 1.0) * 100.0
    );
    let (c_small, _) = range_in(&collected, LENGTHS[0]);
    let (c_large, _) = range_in(&collected, LENGTHS[2]);
    println!(
        "control (collect): {} KiB at {} pages, {} KiB at {} pages: {} KiB more per page",
        kib(c_small),
        LENGTHS[0],
        kib(c_large),
        LENGTHS[2],
        kib((c_large - c_small) / (LENGTHS[2] - LENGTHS[0]))
    );
}
