//! The operations of the crash tests' workloads (`crash_loop`, `power_loss`): writes, and the
//! calls that move written documents or make them durable.

use ndb::Document;

#[derive(Clone, Debug)]
pub enum Op {
    Batch(Vec<Document>),
    Insert(Document),
    Delete(String),
    Flush,
    Compact,
    Sync,
}

impl Op {
    /// Whether the operation changes the documents.
    pub fn is_write(&self) -> bool {
        matches!(self, Op::Batch(_) | Op::Insert(_) | Op::Delete(_))
    }

    /// The operation as a call, for messages: `insert_batch["k1", "k2"]`, `delete(k3)`.
    pub fn short(&self) -> String {
        match self {
            Op::Batch(docs) => {
                let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
                format!("insert_batch{ids:?}")
            }
            Op::Insert(d) => format!("insert({})", d.id),
            Op::Delete(id) => format!("delete({id})"),
            Op::Flush => "flush()".into(),
            Op::Compact => "compact()".into(),
            Op::Sync => "sync()".into(),
        }
    }
}
