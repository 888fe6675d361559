//! `from_bytes` of both quantizers on arbitrary bytes, truncations and single-byte damage:
//! always an error (or, for damage that keeps a valid blob, a valid quantizer), never a panic.

use ndb_quant::{BinaryConfig, BinaryQuantizer, Int8Config, Int8Quantizer, QuantError};
use proptest::collection::vec;
use proptest::prelude::*;

fn int8_bytes() -> Vec<u8> {
    let sample: Vec<f32> = (0..40).map(|i| (i as f32).sin()).collect();
    Int8Quantizer::fit(&sample, 10, Int8Config::default())
        .unwrap()
        .to_bytes()
}

fn binary_bytes() -> Vec<u8> {
    let sample: Vec<f32> = (0..40).map(|i| (i as f32).cos()).collect();
    BinaryQuantizer::fit(&sample, 10, BinaryConfig::default())
        .unwrap()
        .to_bytes()
}

/// Rewrites the trailing CRC-32C so that damage reaches the field checks.
fn fix_checksum(bytes: &mut [u8]) {
    if bytes.len() >= 4 {
        let body = bytes.len() - 4;
        let crc = crc32c(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
    }
}

/// CRC-32C (Castagnoli, reflected, polynomial 0x82F63B78), written out so the test does not
/// trust the crate's own checksum code.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn decode_both(bytes: &[u8]) {
    let _ = Int8Quantizer::from_bytes(bytes);
    let _ = BinaryQuantizer::from_bytes(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        decode_both(&bytes);
        let mut fixed = bytes.clone();
        fix_checksum(&mut fixed);
        decode_both(&fixed);
    }

    /// Valid headers with random fields (checksum fixed): the field checks run.
    #[test]
    fn random_fields_behind_valid_headers_never_panic(
        tail in vec(any::<u8>(), 0..120),
        which in any::<bool>(),
    ) {
        let mut bytes = if which { b"NQI8\x01".to_vec() } else { b"NQB1\x01".to_vec() };
        bytes.extend_from_slice(&tail);
        fix_checksum(&mut bytes);
        decode_both(&bytes);
    }

    #[test]
    fn damaged_valid_bytes_are_errors_or_valid(at in any::<prop::sample::Index>(), bit in 0u8..8, fix in any::<bool>()) {
        for good in [int8_bytes(), binary_bytes()] {
            let mut bytes = good.clone();
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            if fix {
                fix_checksum(&mut bytes);
            }
            let int8 = Int8Quantizer::from_bytes(&bytes);
            let binary = BinaryQuantizer::from_bytes(&bytes);
            if !fix {
                // Any single flipped bit breaks the checksum.
                prop_assert!(int8.is_err() && binary.is_err());
            }
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    for good in [int8_bytes(), binary_bytes()] {
        for len in 0..good.len() {
            assert!(Int8Quantizer::from_bytes(&good[..len]).is_err());
            assert!(BinaryQuantizer::from_bytes(&good[..len]).is_err());
        }
    }
}

#[test]
fn the_checksum_is_checked_before_the_version() {
    let mut bytes = int8_bytes();
    bytes[4] = 2;
    assert!(matches!(
        Int8Quantizer::from_bytes(&bytes),
        Err(QuantError::ChecksumMismatch { .. })
    ));
    fix_checksum(&mut bytes);
    assert_eq!(
        Int8Quantizer::from_bytes(&bytes),
        Err(QuantError::UnsupportedVersion(2))
    );
    // The other quantizer's bytes are recognized as such.
    assert!(matches!(
        BinaryQuantizer::from_bytes(&int8_bytes()),
        Err(QuantError::Corrupt { offset: 0, .. })
    ));
}

/// A dimension field claiming more than the bytes hold is refused before any allocation.
#[test]
fn a_huge_dimension_is_refused() {
    let mut bytes = int8_bytes();
    bytes[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_checksum(&mut bytes);
    assert!(matches!(
        Int8Quantizer::from_bytes(&bytes),
        Err(QuantError::Corrupt { .. })
    ));
    let mut bytes = binary_bytes();
    bytes[8..12].copy_from_slice(&65_536u32.to_le_bytes());
    fix_checksum(&mut bytes);
    assert!(matches!(
        BinaryQuantizer::from_bytes(&bytes),
        Err(QuantError::Corrupt { .. })
    ));
}
