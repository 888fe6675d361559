//! Everything the benchmark binaries share to tell what they measured: progress lines on
//! stderr, number and table formats, the machine description, and the report files (markdown,
//! JSON, the recall–QPS plot).

pub mod fmt;
pub mod machine;
pub mod output;
pub mod plot;
pub mod table;

pub use machine::{load_average, Filesystem, Machine};
pub use output::{
    command_line, create_parent, json_text, print_markdown_and_json, write_file, write_report,
};
pub use table::{Align, Table};

use crate::Res;

/// A benchmark binary as its output names it.
#[derive(Clone, Copy, Debug)]
pub struct Bench {
    /// The binary (`ndb-search-bench`): starts its error messages.
    pub name: &'static str,
    /// The tag in brackets that starts its progress lines on stderr.
    pub tag: &'static str,
}

impl Bench {
    /// A binary whose progress lines are tagged with its name.
    pub const fn new(name: &'static str) -> Bench {
        Bench { name, tag: name }
    }

    /// The same binary with another progress tag.
    pub const fn with_tag(self, tag: &'static str) -> Bench {
        Bench { tag, ..self }
    }

    /// One progress line on stderr: `[tag] msg`.
    pub fn progress(&self, msg: impl AsRef<str>) {
        eprintln!("[{}] {}", self.tag, msg.as_ref());
    }

    /// Run the binary's body; on an error print `name: error: ...` and exit with status 1.
    pub fn run(&self, body: impl FnOnce() -> Res<()>) {
        if let Err(e) = body() {
            eprintln!("{}: error: {e}", self.name);
            std::process::exit(1);
        }
    }
}
