// A Rust program for the label-normalisation tests: panics with unwinding, trait objects,
// iterators that vectorise differently with -C target-cpu.
use std::collections::HashMap;

trait Score { fn score(&self, x: u64) -> u64; }
struct Linear(u64);
struct Square(u64);
impl Score for Linear { fn score(&self, x: u64) -> u64 { self.0.wrapping_mul(x) } }
impl Score for Square { fn score(&self, x: u64) -> u64 { x.wrapping_mul(x) ^ self.0 } }

fn main() {
    let n: u64 = std::env::args().count() as u64 * 1000;
    let scorers: Vec<Box<dyn Score>> = vec![Box::new(Linear(7)), Box::new(Square(3))];
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for i in 0..n {
        let s: u64 = scorers.iter().map(|f| f.score(i)).sum();
        *counts.entry(s % 13).or_insert(0) += 1;
    }
    let floats: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let total: f32 = floats.iter().zip(floats.iter().rev()).map(|(a, b)| a * b).sum();
    let caught = std::panic::catch_unwind(|| { if n > 0 { panic!("expected") } }).is_err();
    let mut keys: Vec<_> = counts.into_iter().collect();
    keys.sort();
    println!("{:?} {} {}", keys, total, caught);
}
