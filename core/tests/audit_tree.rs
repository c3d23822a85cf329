//! The audit tree half from outside the crate: known answers from the
//! RFC 6962 reference tree, the proof verifiers against an independent
//! recursive implementation of RFC 9162's definitions, and checkpoints as
//! signed notes, including notes and keys made by Go's `sumdb/note`.

use std::sync::OnceLock;

use charter_core::audit::{
    leaf_hash, node_hash, verifier_key, verify_checkpoint, verify_consistency, verify_inclusion, Checkpoint,
    Hash, EMPTY_ROOT, MAX_NOTE_BYTES, MAX_PROOF_HASHES,
};
use charter_core::capability::KeyPair;
use charter_core::ErrorKind;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// An independent reference: RFC 9162 section 2.1 read literally, slices and
// recursion, no stored hashes.

/// The largest power of two smaller than `n` (`n >= 2`), by counting up.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]).
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => node_hash(&mth(&leaves[..split(n)]), &mth(&leaves[split(n)..])),
    }
}

/// PATH(m, D[n]).
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    let (mut proof, sibling) = if m < k {
        (path(m, &leaves[..k]), mth(&leaves[k..]))
    } else {
        (path(m - k, &leaves[k..]), mth(&leaves[..k]))
    };
    proof.push(sibling);
    proof
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), with the empty proof for m = 0.
fn consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if m == 0 {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = split(n);
    let (mut proof, other) = if m <= k {
        (subproof(m, &leaves[..k], whole), mth(&leaves[k..]))
    } else {
        (subproof(m - k, &leaves[k..], false), mth(&leaves[..k]))
    };
    proof.push(other);
    proof
}

fn numbered_leaves(n: usize) -> Vec<Hash> {
    (0..n as u32).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

// ---------------------------------------------------------------------------
// Small codecs, as the test has no hex or base64 crate of its own.

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hash(text: &str) -> Hash {
    hex(text).try_into().unwrap()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64, for inputs known to be well formed.
fn unbase64(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = bits << 6 | BASE64.iter().position(|&b| b == c).unwrap() as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Known answers.

/// The leaf inputs of the RFC 6962 reference tree (certificate-transparency
/// `merkletree_test.cc`, carried on by transparency-dev/merkle).
const REFERENCE_LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Its published roots for sizes 1 to 8.
const REFERENCE_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_leaves() -> Vec<Hash> {
    REFERENCE_LEAVES.iter().map(|leaf| leaf_hash(&hex(leaf))).collect()
}

#[test]
fn empty_root_is_sha256_of_the_empty_string() {
    assert_eq!(to_hex(&EMPTY_ROOT), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(mth(&[]), EMPTY_ROOT);
}

#[test]
fn reference_tree_roots() {
    let prefixes =
        ["6e340b9c", "fac54203", "aeb6bcfe", "d37ee418", "4e3bbb1f", "76e67dad", "ddb89be4", "5dc9da79"];
    let leaves = reference_leaves();
    for n in 1..=8 {
        let root = to_hex(&mth(&leaves[..n]));
        assert_eq!(root, REFERENCE_ROOTS[n - 1], "size {n}");
        assert!(root.starts_with(prefixes[n - 1]), "size {n}: {root}");
    }
    assert_eq!(to_hex(&leaves[0]), REFERENCE_ROOTS[0], "a one-leaf tree's root is its leaf hash");
}

#[test]
fn reference_tree_inclusion_proofs() {
    // (index, size, path), published with the reference tree (1-based there).
    let vectors: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let leaves = reference_leaves();
    for (index, size, expected) in vectors {
        let expected: Vec<Hash> = expected.iter().map(|h| hash(h)).collect();
        assert_eq!(path(index as usize, &leaves[..size as usize]), expected, "{index} in {size}");
        let root = hash(REFERENCE_ROOTS[size as usize - 1]);
        verify_inclusion(&leaves[index as usize], index, size, &expected, &root).unwrap();
    }
}

#[test]
fn reference_tree_consistency_proofs() {
    // (old size, new size, proof), published with the reference tree.
    let vectors: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let leaves = reference_leaves();
    for (old, new, expected) in vectors {
        let expected: Vec<Hash> = expected.iter().map(|h| hash(h)).collect();
        assert_eq!(consistency(old as usize, &leaves[..new as usize]), expected, "{old} to {new}");
        let (old_root, new_root) =
            (hash(REFERENCE_ROOTS[old as usize - 1]), hash(REFERENCE_ROOTS[new as usize - 1]));
        verify_consistency(old, new, &old_root, &new_root, &expected).unwrap();
        if old < new {
            let e = verify_consistency(old, new, &new_root, &old_root, &expected).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BadSignature, "{e}");
        }
    }
}

// ---------------------------------------------------------------------------
// The verifiers against the reference, exhaustively for small trees.

#[test]
fn every_reference_proof_up_to_64_leaves_verifies() {
    let leaves = numbered_leaves(64);
    let roots: Vec<Hash> = (0..=64).map(|n| mth(&leaves[..n])).collect();
    for n in 0..=64usize {
        for i in 0..n {
            let proof = path(i, &leaves[..n]);
            verify_inclusion(&leaves[i], i as u64, n as u64, &proof, &roots[n]).unwrap();
        }
        for m in 0..=n {
            let proof = consistency(m, &leaves[..n]);
            verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &proof).unwrap();
        }
    }
}

#[test]
fn proof_errors_say_why() {
    let leaves = numbered_leaves(5);
    let root = mth(&leaves);
    let proof = path(2, &leaves);
    let kind = |r: charter_core::Result<()>| r.unwrap_err().kind();
    assert_eq!(kind(verify_inclusion(&leaves[2], 5, 5, &proof, &root)), ErrorKind::InvalidArgument);
    assert_eq!(kind(verify_inclusion(&leaves[2], 2, 5, &proof[..2], &root)), ErrorKind::Malformed);
    assert_eq!(
        kind(verify_inclusion(&leaves[2], 2, 5, &[proof.clone(), proof.clone()].concat(), &root)),
        ErrorKind::Malformed
    );
    assert_eq!(kind(verify_inclusion(&leaves[3], 2, 5, &proof, &root)), ErrorKind::BadSignature);
    let too_many = vec![root; MAX_PROOF_HASHES + 1];
    assert_eq!(kind(verify_inclusion(&leaves[2], 2, 5, &too_many, &root)), ErrorKind::Malformed);
    assert_eq!(kind(verify_consistency(5, 4, &root, &root, &[])), ErrorKind::InvalidArgument);
    assert_eq!(kind(verify_consistency(2, 5, &root, &root, &too_many)), ErrorKind::Malformed);
}

fn leaves_and_index() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=300).prop_flat_map(|n| (Just(n), 0..n))
}

fn leaves_and_old_size() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=300).prop_flat_map(|n| (Just(n), 1..=n))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// An inclusion proof is for one leaf at one index in one tree: any
    /// flipped bit, other index or other tree (with its own root) fails.
    #[test]
    fn inclusion_proofs_bind_leaf_index_and_tree(
        (n, i) in leaves_and_index(),
        other in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let leaves = numbered_leaves(n + 1);
        let root = mth(&leaves[..n]);
        let proof = path(i, &leaves[..n]);
        prop_assert!(verify_inclusion(&leaves[i], i as u64, n as u64, &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut flipped = proof.clone();
            flipped[bit % proof.len()][bit / 8 % 32] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&leaves[i], i as u64, n as u64, &flipped, &root).is_err());
        }
        let j = other.index(n);
        if j != i {
            prop_assert!(verify_inclusion(&leaves[i], j as u64, n as u64, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaves[j], i as u64, n as u64, &proof, &root).is_err());
        }
        let bigger = mth(&leaves[..n + 1]);
        prop_assert!(verify_inclusion(&leaves[i], i as u64, n as u64 + 1, &proof, &bigger).is_err());
    }

    /// A consistency proof is for one pair of trees: any flipped bit, or
    /// another old or new tree (with its own root), fails.
    #[test]
    fn consistency_proofs_bind_both_trees(
        (n, m) in leaves_and_old_size(),
        other in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let leaves = numbered_leaves(n + 1);
        let (old, new) = (mth(&leaves[..m]), mth(&leaves[..n]));
        let proof = consistency(m, &leaves[..n]);
        prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &proof).is_ok());
        if !proof.is_empty() {
            let mut flipped = proof.clone();
            flipped[bit % proof.len()][bit / 8 % 32] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &flipped).is_err());
        }
        let t = other.index(n) + 1;
        if t != m {
            prop_assert!(verify_consistency(t as u64, n as u64, &mth(&leaves[..t]), &new, &proof).is_err());
        }
        let bigger = mth(&leaves);
        prop_assert!(verify_consistency(m as u64, n as u64 + 1, &old, &bigger, &proof).is_err());
    }

    /// Hostile sizes, indices and proofs give errors, never panics.
    #[test]
    fn verifiers_are_total(
        a in any::<u64>(),
        b in any::<u64>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..=70),
        x in any::<[u8; 32]>(),
        y in any::<[u8; 32]>(),
    ) {
        let _ = verify_inclusion(&x, a, b, &proof, &y);
        let _ = verify_inclusion(&x, a % 1024, b % 1024, &proof, &y);
        let _ = verify_consistency(a, b, &x, &y, &proof);
        let _ = verify_consistency(a % 1024, b % 1024, &x, &y, &proof);
    }
}

// ---------------------------------------------------------------------------
// Checkpoints.

fn log_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate().unwrap())
}

fn checkpoint() -> Checkpoint {
    Checkpoint { origin: "charter.example/audit".into(), size: 8, root: hash(REFERENCE_ROOTS[7]) }
}

fn signed() -> (String, String) {
    let note = checkpoint().sign(log_key()).unwrap();
    (note, verifier_key("charter.example/audit", &log_key().public_key()).unwrap())
}

fn kind_of(note: &str, key: &str) -> ErrorKind {
    verify_checkpoint(note, key).unwrap_err().kind()
}

#[test]
fn sign_and_verify_round_trip() {
    let (note, key) = signed();
    assert_eq!(verify_checkpoint(&note, &key).unwrap(), checkpoint());
    assert_eq!(
        checkpoint().body(),
        "charter.example/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    );
    let signature_line = note.strip_prefix(&format!("{}\n", checkpoint().body())).unwrap();
    let encoded = signature_line.strip_prefix("\u{2014} charter.example/audit ").unwrap();
    let encoded = encoded.strip_suffix('\n').unwrap();
    assert!(!encoded.contains('\n'));
    let blob = unbase64(encoded);
    assert_eq!(blob.len(), 4 + 64);
    let key_id = key.split('+').nth(1).unwrap();
    assert_eq!(to_hex(&blob[..4]), key_id, "the signature starts with the key id");
}

#[test]
fn every_size_and_root_round_trips() {
    for size in [0, 1, 255, u64::MAX] {
        let checkpoint = Checkpoint { origin: "o".into(), size, root: [size as u8; 32] };
        let note = checkpoint.sign(log_key()).unwrap();
        let key = verifier_key("o", &log_key().public_key()).unwrap();
        assert_eq!(verify_checkpoint(&note, &key).unwrap(), checkpoint);
    }
}

#[test]
fn verifier_keys_have_the_note_format() {
    let key = verifier_key("charter.example/audit", &log_key().public_key()).unwrap();
    let parts: Vec<&str> = key.splitn(3, '+').collect();
    assert_eq!(parts[0], "charter.example/audit");
    assert_eq!(parts[1].len(), 8);
    assert!(parts[1].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let encoded = unbase64(parts[2]);
    assert_eq!(encoded[0], 0x01, "Ed25519");
    assert_eq!(&encoded[1..], log_key().public_key().as_bytes());
}

/// The key of the example in Go's `golang.org/x/mod/sumdb/note` package
/// documentation, as a signer key (`PRIVATE+KEY+<name>+<id>+<base64(0x01 ||
/// seed)>`) and as a verifier key.
const GO_SIGNER_KEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n\
                       \n\
                       \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn go_key_pair() -> KeyPair {
    // The base64 holds a '+' of its own: it is everything after the id.
    let seed = unbase64(GO_SIGNER_KEY.splitn(5, '+').nth(4).unwrap());
    assert_eq!((seed.len(), seed[0]), (33, 0x01));
    // A PKCS#8 v1 document for an Ed25519 seed (RFC 8410).
    let mut pkcs8 = hex("302e020100300506032b657004220420");
    pkcs8.extend_from_slice(&seed[1..]);
    KeyPair::from_pkcs8(&pkcs8).unwrap()
}

#[test]
fn verifier_key_matches_go() {
    let key = go_key_pair();
    assert_eq!(verifier_key("PeterNeumann", &key.public_key()).unwrap(), GO_VERIFIER_KEY);
}

#[test]
fn go_signatures_verify() {
    // The signature checks out; only then is the text read, and it is not
    // a checkpoint.
    let e = verify_checkpoint(GO_NOTE, GO_VERIFIER_KEY).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    assert!(e.message().contains("has 2 lines"), "{e}");
    let changed = GO_NOTE.replace("cryptography", "cryptographY");
    assert_eq!(kind_of(&changed, GO_VERIFIER_KEY), ErrorKind::BadSignature);
    // And a checkpoint Charter signs with Go's key verifies with Go's key.
    let checkpoint = Checkpoint { origin: "PeterNeumann".into(), ..checkpoint() };
    let note = checkpoint.sign(&go_key_pair()).unwrap();
    assert_eq!(verify_checkpoint(&note, GO_VERIFIER_KEY).unwrap(), checkpoint);
}

/// sum.golang.org's verifier key, built into the `go` command.
const SUM_GOLANG_ORG: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

#[test]
fn sum_golang_org_checkpoints_verify() {
    let notes = [
        (
            "go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n\u{2014} sum.golang.org \
             Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=\n",
            31700353,
            "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=",
        ),
        (
            "go.sum database tree\n65209736\n5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=\n\n\u{2014} sum.golang.org \
             Az3grnbssgK7ubgFX36gVETtNv0U23qxyAhAMai2QUfeGa3nB/akvkMdlUErfcZz7l/R3cVtYspg3dxXABkGZZKdsQ8=\n",
            65209736,
            "5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=",
        ),
    ];
    for (note, size, root) in notes {
        let checkpoint = verify_checkpoint(note, SUM_GOLANG_ORG).unwrap();
        assert_eq!(checkpoint.origin, "go.sum database tree");
        assert_eq!(checkpoint.size, size);
        assert_eq!(checkpoint.root.to_vec(), unbase64(root));
        let rolled_back = note.replacen(&size.to_string(), &(size - 1).to_string(), 1);
        assert_eq!(kind_of(&rolled_back, SUM_GOLANG_ORG), ErrorKind::BadSignature);
    }
}

#[test]
fn another_key_is_refused() {
    let (note, _) = signed();
    let other = KeyPair::generate().unwrap();
    // Same name, other key: the key id differs, so the line is not its own.
    let key = verifier_key("charter.example/audit", &other.public_key()).unwrap();
    let e = verify_checkpoint(&note, &key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature);
    assert!(e.message().contains("no signature by charter.example/audit"), "{e}");
    // Same key, other name.
    let key = verifier_key("charter.example/other", &log_key().public_key()).unwrap();
    assert_eq!(kind_of(&note, &key), ErrorKind::BadSignature);
}

#[test]
fn a_flipped_byte_in_body_or_signature_is_refused() {
    let (note, key) = signed();
    let body_len = checkpoint().body().len();
    let signature_start = note.rfind(' ').unwrap() + 1;
    for at in (0..note.len()).filter(|&at| note.is_char_boundary(at) && note.is_char_boundary(at + 1)) {
        let mut bytes = note.clone().into_bytes();
        bytes[at] = match bytes[at] {
            b'A' => b'B',
            b'\n' => b'x',
            _ => b'A',
        };
        let Ok(changed) = String::from_utf8(bytes) else { continue };
        let e = verify_checkpoint(&changed, &key).unwrap_err();
        // The signature's last base64 symbol (before "=\n") carries two
        // padding bits: a flip there may make the encoding non-canonical,
        // which is MALFORMED, not BAD_SIGNATURE, depending on the key.
        if at < body_len - 1 || at >= signature_start + 6 && at < note.len() - 3 {
            assert_eq!(e.kind(), ErrorKind::BadSignature, "byte {at}: {e}");
        }
    }
}

#[test]
fn a_forged_line_by_the_trusted_key_spoils_the_note() {
    let (note, key) = signed();
    let line = note.lines().last().unwrap();
    let encoded = line.rsplit_once(' ').unwrap().1;
    // Keep the key id (the first 5 base64 digits cover its 4 bytes and a
    // little of the signature), change the signature.
    let mut forged: Vec<u8> = encoded.bytes().collect();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    let forged = format!("\u{2014} charter.example/audit {}\n", String::from_utf8(forged).unwrap());
    let e = verify_checkpoint(&format!("{note}{forged}"), &key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature);
    assert!(e.message().contains("line 2"), "{e}");
}

#[test]
fn unknown_signers_are_ignored() {
    let (note, key) = signed();
    let witness = KeyPair::generate().unwrap();
    let cosigned = checkpoint().sign(&witness).unwrap();
    let cosignature = cosigned.lines().last().unwrap();
    let unknown = "\u{2014} witness.example/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let both = format!("{note}{cosignature}\n{unknown}\n");
    assert_eq!(verify_checkpoint(&both, &key).unwrap(), checkpoint());
    let first = format!("{}\n{unknown}\n{}", checkpoint().body(), &note[checkpoint().body().len() + 1..]);
    assert_eq!(verify_checkpoint(&first, &key).unwrap(), checkpoint());
    let witness_key = verifier_key("charter.example/audit", &witness.public_key()).unwrap();
    assert_eq!(verify_checkpoint(&both, &witness_key).unwrap(), checkpoint());
}

#[test]
fn note_syntax_errors_are_malformed() {
    let (note, key) = signed();
    let body = checkpoint().body();
    let signature = &note[body.len() + 1..];
    let cases = [
        (body.clone() + signature, "no blank line"),
        (format!("{body}\n"), "no signature lines"),
        (note.trim_end().to_string(), "does not end in a newline"),
        (format!("{body}\n{}", signature.replacen('\u{2014}', "-", 1)), "does not start with an em dash"),
        (format!("{body}\n{}", signature.replacen('\u{2014}', "\u{2014}\u{2014}", 1)), "does not start"),
        (format!("{body}\n{}", signature.replacen(' ', "", 1)), "does not start"),
        (format!("{body}\n{}", signature.replacen("audit ", "audit", 1)), "no space after the key name"),
        (format!("{body}\n{}", signature.replacen("audit ", "audit  ", 1)), "not standard base64"),
        (format!("{body}\n{}", signature.replacen('=', "", 1)), "not standard base64"),
        (format!("{body}\n{}", signature.replacen("audit ", "audit !", 1)), "not standard base64"),
        (format!("{body}\n\u{2014} charter.example/audit AAAA\n"), "shorter than a key id"),
        (format!("{body}\n\u{2014}  AAAAAAAA\n"), "key name that is empty"),
        (format!("{body}\n\u{2014} a+b AAAAAAAA\n"), "contains '+'"),
        (note.replacen("audit\n", "audit\t\n", 1), "control character U+0009"),
        (note.replacen("audit\n", "audit\r\n", 1), "control character U+000D"),
        (note.replacen("audit\n", "audit\0\n", 1), "control character U+0000"),
    ];
    for (changed, why) in cases {
        let e = verify_checkpoint(&changed, &key).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{changed:?}: {e}");
        assert!(e.message().contains(why), "{changed:?}: {e}, expected {why:?}");
    }
}

#[test]
fn notes_are_bounded() {
    let (note, key) = signed();
    let unknown = "\u{2014} w AAAAAAAA\n";
    let hundred = format!("{note}{}", unknown.repeat(99));
    assert_eq!(verify_checkpoint(&hundred, &key).unwrap(), checkpoint());
    let e = verify_checkpoint(&format!("{hundred}{unknown}"), &key).unwrap_err();
    assert!(e.message().contains("at most 100 signature lines"), "{e}");
    let huge = format!("{}{note}", "x".repeat(MAX_NOTE_BYTES));
    let e = verify_checkpoint(&huge, &key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.message().contains("at most 65536 bytes"), "{e}");
    let long = Checkpoint { origin: "o".repeat(MAX_NOTE_BYTES), ..checkpoint() };
    assert_eq!(long.sign(log_key()).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn origins_and_names_must_be_key_names() {
    for bad in ["", "two words", "line\nbreak", "a+b", "tab\there", "nbsp\u{a0}"] {
        let checkpoint = Checkpoint { origin: bad.into(), ..checkpoint() };
        let e = checkpoint.sign(log_key()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}: {e}");
        assert!(e.message().starts_with("origin"), "{e}");
        let e = verifier_key(bad, &log_key().public_key()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}: {e}");
    }
}

#[test]
fn every_mangled_verifier_key_is_refused() {
    let (note, _) = signed();
    let key = GO_VERIFIER_KEY;
    let refused = |candidate: &str| {
        let e = verify_checkpoint(&note, candidate).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{candidate:?}: {e}");
    };
    for i in 0..=key.len() {
        for j in i + 1..=key.len() {
            if (i, j) != (0, key.len()) {
                refused(&key[i..j]);
            }
        }
    }
    for i in 0..key.len() {
        let mut bytes = key.as_bytes().to_vec();
        bytes[i] += 1;
        refused(&String::from_utf8(bytes).unwrap());
    }
    refused("PeterNeumann+c74f20a3+AhpcsmQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    refused(&"x".repeat(MAX_NOTE_BYTES + 1));
    refused("");
}

/// Key names and origins: mostly URL-like, sometimes anything that is not
/// a space, '+' or a control character.
fn key_name() -> impl Strategy<Value = String> {
    let simple = prop::collection::vec(prop::sample::select(b"abcxyz019./-_:".to_vec()), 1..40)
        .prop_map(|bytes| String::from_utf8(bytes).unwrap());
    let wide = prop::collection::vec(any::<char>(), 1..20).prop_map(|chars| {
        chars.into_iter().filter(|c| !c.is_whitespace() && !c.is_control() && *c != '+').collect::<String>()
    });
    prop_oneof![3 => simple, 1 => wide.prop_filter("non-empty", |s| !s.is_empty())]
}

/// Text made of the pieces notes are made of, so hostile inputs reach deep
/// into the parser.
fn note_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "\n",
        "\n\n",
        "\u{2014} ",
        "\u{2014}",
        " ",
        "+",
        "=",
        "o",
        "0",
        "7",
        "AAAA",
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "charter.example/audit",
        "\t",
        "é",
        "\u{a0}",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_checkpoint_round_trips(origin in key_name(), size in any::<u64>(), root in any::<[u8; 32]>()) {
        let checkpoint = Checkpoint { origin: origin.clone(), size, root };
        let note = checkpoint.sign(log_key()).unwrap();
        let key = verifier_key(&origin, &log_key().public_key()).unwrap();
        prop_assert_eq!(verify_checkpoint(&note, &key).unwrap(), checkpoint);
    }

    /// No single-byte change to a signed note is accepted.
    #[test]
    fn a_changed_byte_is_never_accepted(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (note, key) = signed();
        let mut bytes = note.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        if let Ok(changed) = String::from_utf8(bytes) {
            prop_assert!(verify_checkpoint(&changed, &key).is_err());
        }
    }

    /// Hostile notes and keys give errors, never panics.
    #[test]
    fn the_parsers_are_total(text in note_like(), key in note_like()) {
        let (note, good_key) = signed();
        let _ = verify_checkpoint(&text, &good_key);
        let _ = verify_checkpoint(&format!("{note}{text}"), &good_key);
        let _ = verify_checkpoint(&format!("{text}{note}"), &good_key);
        let _ = verify_checkpoint(&note, &key);
    }
}
