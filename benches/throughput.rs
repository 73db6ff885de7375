//! Native throughput: s3seal seal/open next to raw AES-256-GCM over the same
//! bytes, in the same run. `make bench` runs it (release profile) and writes
//! one JSON line per figure to `$S3SEAL_BENCH_OUT` (default: stdout only).

use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{AeadInOut, KeyInit};
use s3seal::format::Metadata;
use s3seal::stream::SEGMENT_SIZE;
use s3seal::{Opener, Sealer};
use s3seal::{RootKey, Secret};

const TOTAL_SIZE: usize = 256 << 20;
const PUSH_SIZE: usize = 4 << 20;
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn main() {
    let data: Vec<u8> = (0..TOTAL_SIZE)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let secret = Secret::Root(RootKey::from_bytes([9; 32]));
    let meta = Metadata {
        name: "bench.bin".into(),
        media_type: "application/octet-stream".into(),
        size: Some(TOTAL_SIZE as u64),
    };

    let aes = aes_gcm::Aes256Gcm::new_from_slice(&[3u8; 32]).unwrap();
    let nonce_of = |i: usize| {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
        nonce
    };
    // Ciphertext and tags for raw decryption, and one full object to open.
    let mut ciphertext = data.clone();
    let tags: Vec<_> = ciphertext
        .chunks_mut(SEGMENT_SIZE - 16)
        .enumerate()
        .map(|(i, chunk)| {
            aes.encrypt_inout_detached(&nonce_of(i).into(), &[], chunk.into())
                .unwrap()
        })
        .collect();
    let mut sealed = Vec::new();
    let mut stream = Sealer::new(&secret, &meta).unwrap().into_stream();
    stream.push(&data, &mut sealed).unwrap();
    stream.finish(&mut sealed).unwrap();

    // Each round times all four back to back, so a slow spell of this
    // shared machine falls on raw and s3seal alike rather than on one of
    // them (timed in separate blocks, the ratios swung 0.97-1.55x).
    let (mut raw, mut raw_open, mut seal, mut open) = (vec![], vec![], vec![], vec![]);
    let mut buf = data.clone();
    let mut out = Vec::with_capacity(PUSH_SIZE + SEGMENT_SIZE);
    for _ in 0..RUNS {
        // (a) raw AES-256-GCM, in place, one call per 256 KiB segment.
        let t = Instant::now();
        for (i, chunk) in buf.chunks_mut(SEGMENT_SIZE - 16).enumerate() {
            black_box(
                aes.encrypt_inout_detached(&nonce_of(i).into(), &[], chunk.into())
                    .unwrap(),
            );
        }
        raw.push(mbps(TOTAL_SIZE, t.elapsed().as_secs_f64()));

        // (a') raw AES-256-GCM decryption of the same segments, for `open`.
        buf.copy_from_slice(&ciphertext);
        let t = Instant::now();
        for (i, chunk) in buf.chunks_mut(SEGMENT_SIZE - 16).enumerate() {
            // The same ciphertext every round; a failure would be a bench bug.
            aes.decrypt_inout_detached(&nonce_of(i).into(), &[], chunk.into(), &tags[i])
                .unwrap();
        }
        raw_open.push(mbps(TOTAL_SIZE, t.elapsed().as_secs_f64()));

        // (b) s3seal seal through the push API, 4 MiB pushes, output reused.
        let mut stream = Sealer::new(&secret, &meta).unwrap().into_stream();
        out.clear();
        let t = Instant::now();
        for piece in data.chunks(PUSH_SIZE) {
            stream.push(piece, &mut out).unwrap();
            black_box(&out);
            out.clear();
        }
        stream.finish(&mut out).unwrap();
        seal.push(mbps(TOTAL_SIZE, t.elapsed().as_secs_f64()));

        // (c) s3seal open through the push API.
        let mut opener = Opener::new(secret.clone());
        out.clear();
        let t = Instant::now();
        for piece in sealed.chunks(PUSH_SIZE) {
            opener.push(piece, &mut out).unwrap();
            black_box(&out);
            out.clear();
        }
        opener.finish(&mut out).unwrap();
        open.push(mbps(TOTAL_SIZE, t.elapsed().as_secs_f64()));
    }
    drop(buf);
    let (raw, raw_open, seal, open) = (median(raw), median(raw_open), median(seal), median(open));

    let lines = [
        format!(
            "{{\"figure\":\"native_raw_aes_256_gcm_mbps\",\"value\":{raw:.0},\"bytes\":{TOTAL_SIZE}}}"
        ),
        format!(
            "{{\"figure\":\"native_raw_aes_256_gcm_open_mbps\",\"value\":{raw_open:.0},\"bytes\":{TOTAL_SIZE}}}"
        ),
        format!("{{\"figure\":\"native_seal_mbps\",\"value\":{seal:.0},\"bytes\":{TOTAL_SIZE}}}"),
        format!("{{\"figure\":\"native_open_mbps\",\"value\":{open:.0},\"bytes\":{TOTAL_SIZE}}}"),
        format!(
            "{{\"figure\":\"native_seal_cost_vs_raw\",\"value\":{:.3}}}",
            raw / seal
        ),
        format!(
            "{{\"figure\":\"native_open_cost_vs_raw\",\"value\":{:.3}}}",
            raw_open / open
        ),
    ];
    for line in &lines {
        println!("{line}");
    }
    if let Ok(path) = std::env::var("S3SEAL_BENCH_OUT") {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }
}
