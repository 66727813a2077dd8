//! The sdk's Digest handling (`http-auth` reading the challenge, the sdk keeping it) on any
//! `WWW-Authenticate` text: nothing panics, and what it takes it answers with a header that
//! names the user and counts the nonce.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let Some(header) = atlas_network_peering::fuzzing::answer_challenge(&value) else {
        return;
    };
    assert!(header.starts_with("Digest "), "{header}");
    assert!(header.contains("username=\"user\""), "{header}");
    assert!(!header.contains("password"), "{header}");
});
