//! The compiled-code cache: a restart maps what an earlier run compiled,
//! copies of one plugin share one entry, a changed plugin file is compiled
//! again (never served stale), and a damaged entry is replaced rather than
//! trusted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{dist, run_berth, scratch};
use std::path::Path;

/// (key files, compiled entries) in the cache.
fn files(cache: &Path) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(cache.join("code"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let (keys, rest): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| n.ends_with(".key"));
    (
        keys,
        rest.into_iter().filter(|n| n.ends_with(".cwasm")).collect(),
    )
}

const COMPILED: &str = "compiled plugin code";
const HIT: &str = "compiled code from the cache";

#[tokio::test]
async fn compiled_code_is_reused_shared_by_copies_replaced_when_the_file_changes_and_never_trusted_broken()
 {
    let dir = scratch("cache");
    let cache = dir.join("cache");
    let (tool, copy) = (dir.join("tool.wasm"), dir.join("copy.wasm"));
    std::fs::copy(dist().join("hello.wasm"), &tool).unwrap();
    let cache_arg = cache.to_str().unwrap().to_owned();
    let call = |plugin: &Path, name: &str| {
        let args = [
            "--cache-dir".to_owned(),
            cache_arg.clone(),
            "call".to_owned(),
            plugin.to_str().unwrap().to_owned(),
            name.to_owned(),
        ];
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_berth(&args, &[("BERTH_LOG", "berth=debug")]).await
        }
    };

    let first = call(&tool, "greet").await;
    assert_eq!(
        first.code,
        Some(1),
        "greet without a name is a tool error: {}",
        first.all()
    );
    assert!(first.stderr.contains(COMPILED), "{}", first.all());
    let (keys, entries) = files(&cache);
    assert_eq!((keys.len(), entries.len()), (1, 1), "{keys:?} {entries:?}");

    let second = call(&tool, "greet").await;
    assert!(
        second.stderr.contains(HIT) && !second.stderr.contains(COMPILED),
        "{}",
        second.all()
    );

    // A copy under another name maps the same entry.
    std::fs::copy(&tool, &copy).unwrap();
    let copied = call(&copy, "greet").await;
    assert!(
        copied.stderr.contains(HIT) && !copied.stderr.contains(COMPILED),
        "{}",
        copied.all()
    );
    let (keys, shared) = files(&cache);
    assert_eq!((keys.len(), shared.len()), (2, 1), "{keys:?} {shared:?}");

    // Another plugin under the first name: compiled afresh and served as
    // itself; its old key is gone, the copy's entry stays.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(dist().join("counter.wasm"), &tool).unwrap();
    let changed = call(&tool, "increment").await;
    assert_eq!(changed.code, Some(0), "{}", changed.all());
    assert_eq!(changed.stdout.trim(), "1", "{}", changed.all());
    assert!(changed.stderr.contains(COMPILED), "{}", changed.all());
    let (keys, entries) = files(&cache);
    assert_eq!((keys.len(), entries.len()), (2, 2), "{keys:?} {entries:?}");
    let counter_entry = entries
        .iter()
        .find(|e| !shared.contains(e))
        .unwrap()
        .clone();

    // A damaged entry is reported, compiled again and replaced.
    let entry = cache.join("code").join(&counter_entry);
    std::fs::write(&entry, b"not compiled code").unwrap();
    let damaged = call(&tool, "increment").await;
    assert_eq!(damaged.code, Some(0), "{}", damaged.all());
    assert!(damaged.stderr.contains("unusable"), "{}", damaged.all());
    assert!(damaged.stderr.contains(COMPILED), "{}", damaged.all());
    assert!(std::fs::metadata(&entry).unwrap().len() > 1000);
    let healed = call(&tool, "increment").await;
    assert!(healed.stderr.contains(HIT), "{}", healed.all());
}
