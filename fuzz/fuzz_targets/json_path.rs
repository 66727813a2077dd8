//! `atlas_network_peering::error::json_path_at` on any bytes and any position, including the positions serde_json
//! reports for the bytes (the way the sdk calls it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use atlas_network_peering::error::json_path_at;
use atlas_network_peering::types::{ApiError, ContainerPage, PeerPage};

fn check(raw: &[u8], line: usize, column: usize) -> String {
    let path = json_path_at(raw, line, column);
    assert!(path.starts_with('/'), "{path:?} at {line}:{column}");
    assert_eq!(path, json_path_at(raw, line, column), "deterministic");
    path
}

fuzz_target!(|data: &[u8]| {
    let mut positions = vec![
        (0, 0),
        (1, 0),
        (1, 1),
        (1, data.len() + 1),
        (usize::MAX, usize::MAX),
        (usize::MAX, 0),
    ];
    // A position that depends on the data, so that every line and column gets visited.
    let h = data.iter().fold(0usize, |h, &b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    positions.push((h % lines + 1, (h >> 16) % (data.len() + 2)));
    // Where serde_json stops on these bytes, as the sdk's decode errors do.
    let errors = [
        serde_json::from_slice::<PeerPage>(data).err(),
        serde_json::from_slice::<ContainerPage>(data).err(),
        serde_json::from_slice::<ApiError>(data).err(),
        serde_json::from_slice::<serde_json::Value>(data).err(),
    ];
    positions.extend(errors.iter().flatten().map(|e| (e.line(), e.column())));
    for (line, column) in positions {
        check(data, line, column);
    }
});
