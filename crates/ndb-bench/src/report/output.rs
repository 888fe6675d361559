//! Where reports go: markdown and JSON on stdout, and files written whole or not at all.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::Res;

/// Write a report file the safe way: into a new temporary file beside `path`, synced, then
/// renamed over it, so a failure leaves the previous file as it was; a target that exists and
/// is not a regular file (a FIFO, `/dev/stdout`) is written in place, never replaced.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(bytes);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Create the folder `path` is to be written in, if it names one that is missing.
pub fn create_parent(path: &Path) -> Res<()> {
    if let Some(d) = path.parent() {
        if !d.as_os_str().is_empty() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
    }
    Ok(())
}

/// Write `text` to the report file `path`, if one was asked for (its folder created), with
/// [`write_file`]; an error names the file.
pub fn write_report(path: Option<&Path>, text: &str) -> Res<()> {
    let Some(path) = path else { return Ok(()) };
    create_parent(path)?;
    write_file(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

/// The JSON report as text (pretty-printed, no final newline).
pub fn json_text(report: &Value) -> Res<String> {
    Ok(serde_json::to_string_pretty(report)?)
}

/// Print the markdown report, then the JSON figures in a fenced block after it.
pub fn print_markdown_and_json(md: &str, json_text: &str) {
    print!("{md}");
    println!("\n```json\n{json_text}\n```");
}

/// The command line this process was started with, as the reports quote it.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_replace_files_whole_and_write_fifos_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        std::fs::write(&path, "old").unwrap();
        write_file(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        // A failed write (the target is a directory) leaves nothing behind.
        assert!(write_file(dir.path(), b"x").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.md")]);
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        write_file(&fifo, b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn report_files_get_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/report.json");
        write_report(Some(&path), "{}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        write_report(None, "ignored").unwrap();
    }
}
