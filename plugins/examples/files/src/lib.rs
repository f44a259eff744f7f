//! `files`: lists and reads files under the directory its manifest grants
//! as `/data`. The sandbox, not this code, keeps it inside that directory:
//! paths are passed to WASI as given, and `..` or a symlink out of the
//! grant fails there.

use berth_plugin::prelude::*;
use std::io::Read;

/// Where the granted directory appears inside the sandbox.
const ROOT: &str = "/data";
/// Largest read, bytes.
const MAX_READ: u64 = 1 << 20;

#[derive(Deserialize, JsonSchema)]
struct ListArgs {
    /// A directory relative to the granted one (default: its top).
    #[serde(default)]
    path: String,
}

#[derive(Deserialize, JsonSchema)]
struct ReadArgs {
    /// A file relative to the granted directory.
    path: String,
    /// Most bytes to return (default and at most 1 MiB).
    max_bytes: Option<u64>,
}

fn guest_path(path: &str) -> String {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        ROOT.to_owned()
    } else {
        format!("{ROOT}/{rel}")
    }
}

fn io_error(path: &str, e: &std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!("{path}: no such file")),
        std::io::ErrorKind::PermissionDenied => Error::Denied(format!(
            "{path}: outside the granted directory or not permitted"
        )),
        _ => Error::Failed(format!("{path}: {e}")),
    }
}

fn list(args: ListArgs) -> ToolResult {
    let dir = guest_path(&args.path);
    let read = std::fs::read_dir(&dir).map_err(|e| io_error(&args.path, &e))?;
    let mut lines = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| io_error(&args.path, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let line = match entry.metadata() {
            Ok(m) if m.is_dir() => format!("{name}/"),
            Ok(m) => format!("{name}\t{} bytes", m.len()),
            Err(_) => name,
        };
        lines.push(line);
    }
    lines.sort();
    Ok(text(lines.join("\n")))
}

fn read(args: ReadArgs) -> ToolResult {
    let cap = args.max_bytes.unwrap_or(MAX_READ).min(MAX_READ);
    let file = std::fs::File::open(guest_path(&args.path)).map_err(|e| io_error(&args.path, &e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > cap {
        return Err(Error::InvalidParams(format!(
            "{} is {size} bytes, over the {cap}-byte read limit",
            args.path
        )));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&args.path, &e))?;
    if bytes.len() as u64 > cap {
        return Err(Error::InvalidParams(format!(
            "{} is over the {cap}-byte read limit",
            args.path
        )));
    }
    let body = String::from_utf8(bytes)
        .map_err(|_| Error::InvalidParams(format!("{} is not UTF-8 text", args.path)))?;
    Ok(text(body))
}

berth_plugin::tools![
    tool("list", "Lists a directory under the granted one", list).read_only(),
    tool(
        "read",
        "Reads a text file under the granted directory (at most 1 MiB)",
        read
    )
    .read_only(),
];
