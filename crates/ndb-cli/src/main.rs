//! The `ndb` command-line tool.

fn main() {
    println!("ndb {}", env!("CARGO_PKG_VERSION"));
}
