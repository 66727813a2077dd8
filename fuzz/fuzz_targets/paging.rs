//! The listing streams (`atlas_network_peering::pagination`) against a local server whose pages the fuzzer
//! chooses, compared with the documented paging rules. See `fuzz/harness/paging.rs`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use atlas_network_peering::types::CloudProvider;

#[path = "../harness/paging.rs"]
mod paging;

use paging::{EntrySpec, IdSpec, LinkSpec, LinksSpec, Listing, PageSpec, Reply, Scenario};

fn scenario(u: &mut Unstructured<'_>) -> Result<Scenario> {
    let listing = *u.choose(&[Listing::AllContainers, Listing::Containers, Listing::Peers])?;
    let items_per_page = match u.int_in_range(0u8..=15)? {
        0 => 0,
        1 => 501,
        2 => 500,
        n => u32::from(n % 5 + 1),
    };
    let provider = match u.int_in_range(0u8..=7)? {
        0 => Some(CloudProvider::Aws),
        1 => Some(CloudProvider::Gcp),
        2 => Some(CloudProvider::Azure),
        3 => Some(CloudProvider::Unknown("TENANT".into())),
        _ => None,
    };
    let items = u.arbitrary()?;
    let include_count = u.ratio(3u8, 4)?;
    let bad_group_id = u.ratio(1u8, 32)?;
    let mut replies = Vec::new();
    for _ in 0..u.int_in_range(0u8..=6)? {
        replies.push(reply(u)?);
    }
    Ok(Scenario {
        listing,
        items,
        items_per_page,
        include_count,
        provider,
        bad_group_id,
        replies,
    })
}

fn reply(u: &mut Unstructured<'_>) -> Result<Reply> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => {
            let status = *u.choose(&[400u16, 401, 404, 409, 429, 500, 502, 503])?;
            Reply::Status(status, small_bytes(u)?)
        }
        1 => Reply::Body(small_bytes(u)?),
        _ => Reply::Page(page(u)?),
    })
}

fn small_bytes(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let len = u.int_in_range(0usize..=64)?;
    Ok(u.bytes(len)?.to_vec())
}

fn page(u: &mut Unstructured<'_>) -> Result<PageSpec> {
    let mut entries = Vec::new();
    for _ in 0..u.int_in_range(0u8..=6)? {
        let id = match u.int_in_range(0u8..=7)? {
            0 => IdSpec::Remove,
            1 => IdSpec::NotHex,
            2 | 3 => IdSpec::Keep,
            n => IdSpec::Pool(usize::from(n)),
        };
        entries.push(EntrySpec {
            template: usize::from(u.arbitrary::<u8>()?),
            id,
        });
    }
    let links = match u.int_in_range(0u8..=5)? {
        0 => LinksSpec::Absent,
        1 => LinksSpec::Null,
        _ => {
            let mut links = Vec::new();
            for _ in 0..u.int_in_range(0u8..=4)? {
                links.push(LinkSpec {
                    rel: optional_index(u)?,
                    href: optional_index(u)?,
                });
            }
            LinksSpec::List(links)
        }
    };
    let total_count = match u.int_in_range(0u8..=7)? {
        0 | 1 => None,
        2 => Some(i64::from(u.arbitrary::<i32>()?)),
        3 => Some(*u.choose(&[-1i64, i64::from(i32::MAX) + 1, i64::MIN])?),
        n => Some(i64::from(n) * 2 - 8 + i64::from(u.int_in_range(0u8..=3)?)),
    };
    Ok(PageSpec {
        entries,
        links,
        total_count,
    })
}

fn optional_index(u: &mut Unstructured<'_>) -> Result<Option<usize>> {
    Ok(if u.ratio(1u8, 8)? {
        None
    } else {
        Some(usize::from(u.arbitrary::<u8>()?))
    })
}

/// The model checks the documented count rule (the first page's `totalCount` only), which the
/// code follows; `FUZZ_PAGING_COUNT=any` checks the older "latest count of any page" rule.
fn count_rule() -> paging::CountRule {
    static RULE: OnceLock<paging::CountRule> = OnceLock::new();
    *RULE.get_or_init(|| match std::env::var("FUZZ_PAGING_COUNT").as_deref() {
        Ok("any") => paging::CountRule::AnyPage,
        _ => paging::CountRule::FirstPage,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(s) = scenario(&mut u) {
        match count_rule() {
            paging::CountRule::AnyPage => paging::run(&s),
            rule => paging::run_with(&s, rule),
        }
    }
});
