//! A Rust program built at four x86-64 levels and packed into one fatbin (see Makefile).
//! `rust-fatbin` prints the level this build was compiled for and a checksum that every
//! level computes identically; `rust-fatbin --level` prints only the level.

/// The level the compiler targeted, from the features `-C target-cpu` enabled.
fn compiled_level() -> &'static str {
    if cfg!(all(target_feature = "avx512f", target_feature = "avx512bw", target_feature = "avx512vl")) {
        "x86-64-v4"
    } else if cfg!(all(target_feature = "avx2", target_feature = "bmi2", target_feature = "fma")) {
        "x86-64-v3"
    } else if cfg!(all(target_feature = "sse4.2", target_feature = "popcnt")) {
        "x86-64-v2"
    } else {
        "x86-64"
    }
}

/// The hot loop: a wrapping dot product that the compiler vectorizes with the widest
/// integer multiply the level has (SSE2 emulates it; v2 has pmulld; v3 ymm; v4 zmm).
#[inline(never)]
fn dot(a: &[u32], b: &[u32]) -> u32 {
    a.iter().zip(b).fold(0u32, |sum, (x, y)| sum.wrapping_add(x.wrapping_mul(*y)))
}

fn main() {
    let level = compiled_level();
    if std::env::args().nth(1).as_deref() == Some("--level") {
        println!("{level}");
        return;
    }
    let a: Vec<u32> = (0..1_000_000u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let b: Vec<u32> = (0..1_000_000u32).map(|i| i ^ 0x5bd1_e995).collect();
    let mut checksum = 0u32;
    for round in 0..200u32 {
        checksum = checksum.rotate_left(5) ^ dot(&a, &b).wrapping_add(round);
    }
    println!("level: {level} (avx2: {}, avx512f: {})", cfg!(target_feature = "avx2"), cfg!(target_feature = "avx512f"));
    println!("checksum: {checksum:08x}");
}
