//! The compiled-code cache: a restart maps what an earlier run compiled,
//! a changed plugin file is compiled again (never served stale), and a
//! damaged entry is replaced rather than trusted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use support::{dist, run_berth, scratch};

fn entries(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache.join("code"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn compiled_code_is_reused_replaced_when_the_file_changes_and_never_trusted_broken() {
    let dir = scratch("cache");
    let cache = dir.join("cache");
    let plugin = dir.join("tool.wasm");
    std::fs::copy(dist().join("hello.wasm"), &plugin).unwrap();
    let (plugin, cache_arg) = (plugin.to_str().unwrap(), cache.to_str().unwrap());
    let env = [("BERTH_LOG", "berth=debug")];
    let call = |tool: &'static str| {
        let args = ["--cache-dir", cache_arg, "call", plugin, tool];
        async move { run_berth(&args, &env).await }
    };

    let first = call("greet").await;
    assert_eq!(
        first.code,
        Some(1),
        "greet without a name is a tool error: {}",
        first.all()
    );
    assert!(first.stderr.contains("compiled"), "{}", first.all());
    let after_first = entries(&cache);
    assert_eq!(after_first.len(), 1, "{after_first:?}");

    let second = call("greet").await;
    assert!(
        second.stderr.contains("compiled code from the cache"),
        "{}",
        second.all()
    );
    assert_eq!(entries(&cache), after_first);

    // Another plugin under the same name: compiled afresh, served as
    // itself, and the old entry is gone.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(dist().join("counter.wasm"), plugin).unwrap();
    let changed = call("increment").await;
    assert_eq!(changed.code, Some(0), "{}", changed.all());
    assert_eq!(changed.stdout.trim(), "1", "{}", changed.all());
    assert!(
        !changed.stderr.contains("from the cache"),
        "{}",
        changed.all()
    );
    let after_change = entries(&cache);
    assert_eq!(after_change.len(), 1, "{after_change:?}");
    assert_ne!(after_change, after_first);

    // A damaged entry is reported, compiled again and replaced.
    let entry = cache.join("code").join(&after_change[0]);
    std::fs::write(&entry, b"not compiled code").unwrap();
    let damaged = call("increment").await;
    assert_eq!(damaged.code, Some(0), "{}", damaged.all());
    assert!(damaged.stderr.contains("unusable"), "{}", damaged.all());
    assert!(std::fs::metadata(&entry).unwrap().len() > 1000);
    let healed = call("increment").await;
    assert!(
        healed.stderr.contains("compiled code from the cache"),
        "{}",
        healed.all()
    );
}
