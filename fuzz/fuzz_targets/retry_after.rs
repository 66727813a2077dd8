//! The sdk's `Retry-After` reading on any text and any clock.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use atlas_network_peering::fuzzing::parse_retry_after;

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes pick the clock (any second up to the year 9999 and a bit past it);
    // the rest is the header value.
    let (clock, text) = data.split_at(data.len().min(8));
    let mut seconds = [0u8; 8];
    seconds[..clock.len()].copy_from_slice(clock);
    let now = UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(seconds) % 300_000_000_000);
    let value = String::from_utf8_lossy(text);
    let parsed = parse_retry_after(&value, now);

    let trimmed = value.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        // delta-seconds: that many seconds, saturating at u64::MAX.
        let digits = trimmed.trim_start_matches('0');
        let expected = if digits.len() > 20 {
            u64::MAX
        } else {
            digits
                .parse::<u128>()
                .unwrap_or(0)
                .min(u128::from(u64::MAX)) as u64
        };
        assert_eq!(parsed, Some(Duration::from_secs(expected)), "{value:?}");
    } else if let Some(wait) = parsed {
        // An HTTP date: the wait ends at that date, or now when it has passed.
        let at = httpdate::parse_http_date(trimmed).expect("only digits or a date are accepted");
        let expected = at.duration_since(now).unwrap_or(Duration::ZERO);
        assert_eq!(wait, expected, "{value:?}");
        // A formatted date reads back as itself.
        let formatted = httpdate::fmt_http_date(at);
        assert_eq!(
            parse_retry_after(&formatted, now),
            Some(wait),
            "{formatted:?}"
        );
    }
});
