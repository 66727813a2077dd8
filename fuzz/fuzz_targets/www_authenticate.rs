//! `atlas_network_peering::auth::digest::Challenge::parse` on any text; what it accepts must sign, and the
//! signed header must read back with the challenge's own parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use atlas_network_peering::auth::digest::{Challenge, Credentials, DigestSession, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let challenge = match Challenge::parse(&value) {
        Ok(challenge) => challenge,
        Err(error) => {
            // Messages quote at most a short piece of the header.
            assert!(error.to_string().len() < 400, "{error}");
            return;
        }
    };
    assert!(!challenge.nonce().is_empty());
    assert!(value.len() <= MAX_HEADER_LEN);

    let credentials = Credentials::new("public-key", "private-key");
    let header = challenge
        .authorization(
            &credentials,
            "GET",
            "/api/atlas/v1.0/groups/x/peers?pageNum=2",
            7,
            "0a1b2c3d4e5f6a7b",
        )
        .expect("a parsed challenge signs valid inputs");
    assert!(header.starts_with("Digest username=\"public-key\", realm=\""));
    // The Authorization header uses the challenge grammar: it must read back as the same
    // realm, nonce, opaque, algorithm and qop.
    if header.len() <= MAX_HEADER_LEN {
        let back = Challenge::parse(&header)
            .unwrap_or_else(|e| panic!("the signed header does not parse: {e}\n{header}"));
        assert_eq!(back.realm(), challenge.realm());
        assert_eq!(back.nonce(), challenge.nonce());
        assert_eq!(back.opaque(), challenge.opaque());
        assert_eq!(back.algorithm(), challenge.algorithm());
        assert_eq!(back.qop(), challenge.qop());
    }

    // The session path: store, sign twice, the nonce count grows.
    let session = DigestSession::new(credentials);
    assert_eq!(
        session
            .set_challenge_from_header(&value)
            .expect("parsed once already"),
        challenge.stale()
    );
    let first = session.authorization("GET", "/a").expect("signs");
    let second = session.authorization("GET", "/a").expect("signs");
    if challenge.qop().is_some() {
        assert!(first.contains(", nc=00000001, ") && second.contains(", nc=00000002, "));
    } else {
        assert_eq!(
            first, second,
            "without qop the header depends on nothing else"
        );
    }
});
