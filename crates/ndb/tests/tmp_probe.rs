#[test]
fn probe() {
    for (t, name, bytes) in ndb::testing::seeds() {
        let t0 = std::time::Instant::now();
        ndb::testing::harness(t).unwrap()(&bytes);
        eprintln!("{t} {name} {:?}", t0.elapsed());
    }
}
