//! Native throughput: s3seal seal/open next to raw AES-256-GCM over the same
//! bytes, in the same run. `make bench` runs it (release profile) and writes
//! one JSON line per figure to `$S3SEAL_BENCH_OUT` (default: stdout only).

use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{AeadInOut, KeyInit};
use s3seal::format::Metadata;
use s3seal::key::{RootKey, Secret};
use s3seal::object::{Opener, Sealer};
use s3seal::stream::SEGMENT_SIZE;

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

    // (a) raw AES-256-GCM, in place, one call per 256 KiB segment.
    let aes = aes_gcm::Aes256Gcm::new_from_slice(&[3u8; 32]).unwrap();
    let mut buf = data.clone();
    let raw = median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                for (i, chunk) in buf.chunks_mut(SEGMENT_SIZE - 16).enumerate() {
                    let mut nonce = [0u8; 12];
                    nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    black_box(
                        aes.encrypt_inout_detached(&nonce.into(), &[], chunk.into())
                            .unwrap(),
                    );
                }
                mbps(TOTAL_SIZE, t.elapsed().as_secs_f64())
            })
            .collect(),
    );
    // (a') raw AES-256-GCM decryption of those same segments, for `open`.
    let tags: Vec<_> = buf
        .chunks_mut(SEGMENT_SIZE - 16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            aes.encrypt_inout_detached(&nonce.into(), &[], chunk.into())
                .unwrap()
        })
        .collect();
    let raw_open = median(
        (0..RUNS)
            .map(|_| {
                let mut copy = buf.clone();
                let t = Instant::now();
                for (i, chunk) in copy.chunks_mut(SEGMENT_SIZE - 16).enumerate() {
                    let mut nonce = [0u8; 12];
                    nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    // Each run decrypts the same ciphertext; a failure would be a bench bug.
                    aes.decrypt_inout_detached(&nonce.into(), &[], chunk.into(), &tags[i])
                        .unwrap();
                }
                mbps(TOTAL_SIZE, t.elapsed().as_secs_f64())
            })
            .collect(),
    );
    drop(buf);

    // (b) s3seal seal through the push API, 4 MiB pushes, output reused.
    let mut sealed = Vec::new();
    let seal = median(
        (0..RUNS)
            .map(|_| {
                let mut stream = Sealer::new(&secret, &meta).unwrap().into_stream();
                let mut out = Vec::with_capacity(PUSH_SIZE + 64 * 1024);
                sealed.clear();
                let t = Instant::now();
                for piece in data.chunks(PUSH_SIZE) {
                    stream.push(piece, &mut out).unwrap();
                    black_box(&out);
                    out.clear();
                }
                stream.finish(&mut out).unwrap();
                let secs = t.elapsed().as_secs_f64();
                sealed.extend_from_slice(&out);
                secs
            })
            .map(|secs| mbps(TOTAL_SIZE, secs))
            .collect(),
    );
    // One full object to open.
    let mut stream = Sealer::new(&secret, &meta).unwrap().into_stream();
    sealed.clear();
    stream.push(&data, &mut sealed).unwrap();
    stream.finish(&mut sealed).unwrap();

    // (c) s3seal open through the push API.
    let open = median(
        (0..RUNS)
            .map(|_| {
                let mut opener = Opener::new(secret.clone());
                let mut out = Vec::with_capacity(PUSH_SIZE + SEGMENT_SIZE);
                let t = Instant::now();
                for piece in sealed.chunks(PUSH_SIZE) {
                    opener.push(piece, &mut out).unwrap();
                    black_box(&out);
                    out.clear();
                }
                opener.finish(&mut out).unwrap();
                mbps(TOTAL_SIZE, t.elapsed().as_secs_f64())
            })
            .collect(),
    );

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
