use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-project-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn names_are_checked() {
    for good in ["weather", "a", "my-tool_2"] {
        check_name(good).unwrap();
    }
    for bad in ["", "Weather", "2fast", "-x", "a b", "a.b", &"x".repeat(65)] {
        assert!(check_name(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn every_language_has_a_template_whose_manifest_names_it() {
    let dirs = embedded::template_dirs();
    for language in LANGUAGES {
        assert!(
            dirs.contains(&language.template.to_owned()),
            "{}",
            language.name
        );
        let files = embedded::template(language.template, "demo");
        let manifest = files
            .iter()
            .find(|(p, _)| p == Path::new("demo.toml"))
            .unwrap_or_else(|| panic!("{} template has demo.toml", language.name));
        let spec: ManifestBuild = toml::from_slice(&manifest.1).unwrap();
        assert_eq!(spec.build.unwrap().language, language.name);
        assert!(files.iter().all(|(p, b)| {
            !p.to_string_lossy().contains("{{") && !String::from_utf8_lossy(b).contains("{{name}}")
        }));
    }
}

#[test]
fn new_writes_a_project_that_opens() {
    let parent = scratch("new");
    let dir = create("rust", "demo", &parent).unwrap();
    let project = Project::open(&dir).unwrap();
    assert_eq!(project.name, "demo");
    assert_eq!(project.build.language, "rust");
    assert_eq!(project.build.world, "tools-plugin");
    assert!(project.wasm().ends_with("demo/demo.wasm"));
    let again = create("rust", "demo", &parent).unwrap_err();
    assert!(matches!(again, ProjectError::Exists(_)), "{again}");
    let unknown = create("cobol", "other", &parent).unwrap_err().to_string();
    assert!(
        unknown.contains("\"cobol\"") && unknown.contains("rust"),
        "{unknown}"
    );
    std::fs::remove_dir_all(&parent).unwrap();
}

#[test]
fn a_directory_without_one_build_manifest_is_refused() {
    let dir = scratch("open");
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::write(dir.join("plain.toml"), "[limits]\nmemory_mb = 8\n").unwrap();
    let e = Project::open(&dir).unwrap_err();
    assert!(matches!(e, ProjectError::NotAProject(_)), "{e}");
    std::fs::write(dir.join("a.toml"), "[build]\nlanguage = \"rust\"\n").unwrap();
    std::fs::write(dir.join("b.toml"), "[build]\nlanguage = \"rust\"\n").unwrap();
    let e = Project::open(&dir).unwrap_err().to_string();
    assert!(e.contains("a.toml") && e.contains("b.toml"), "{e}");
    std::fs::remove_file(dir.join("b.toml")).unwrap();
    std::fs::write(
        dir.join("a.toml"),
        "[build]\nlanguage = \"rust\"\nworld = \"x\"\n",
    )
    .unwrap();
    let e = Project::open(&dir).unwrap_err().to_string();
    assert!(e.contains("world \"x\""), "{e}");
    std::fs::write(dir.join("a.toml"), "[build]\nlanguag = \"rust\"\n").unwrap();
    let e = Project::open(&dir).unwrap_err().to_string();
    assert!(e.contains("languag"), "{e}");
    std::fs::write(dir.join("a.toml"), "[build]\nlanguage = \"cobol\"\n").unwrap();
    let e = Project::open(&dir).unwrap_err().to_string();
    assert!(e.contains("cobol"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sdk_is_written_once_with_the_wit_beside_it() {
    let root = scratch("sdk");
    let first = embedded::materialize(&root).unwrap();
    assert!(first.join("wit/tools.wit").is_file());
    assert!(first.join("plugins/sdk/src/lib.rs").is_file());
    assert!(first.join("plugins/sdk/Cargo.toml").is_file());
    let marker = first.join("wit/tools.wit");
    std::fs::write(&marker, "changed").unwrap();
    assert_eq!(embedded::materialize(&root).unwrap(), first);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "changed");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn system_packages_that_are_there_are_not_installed() {
    let root = scratch("apt");
    let toolchains = Toolchains::new(root.clone());
    toolchains
        .system("C", &[("coreutils", "/"), ("other", "/")])
        .unwrap();
    assert!(!root.join("toolchains").exists(), "no install was tried");
    let advice = toolchain::cannot_install("C++", &["libc++-19-dev-wasm32", "lld-19"]).to_string();
    assert!(
        advice.contains(
            "run `sudo apt-get install -y --no-install-recommends libc++-19-dev-wasm32 lld-19`"
        ),
        "{advice}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn native_languages_refuse_worlds_their_helpers_do_not_serve() {
    let parent = scratch("world");
    for language in ["c", "cpp", "zig"] {
        let dir = create(language, &format!("w{language}"), &parent).unwrap();
        let manifest = dir.join(format!("w{language}.toml"));
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, format!("{text}world = \"plugin\"\n")).unwrap();
        // An empty toolchain root: the refusal comes before any install.
        let toolchains = Toolchains::new(parent.join("cache"));
        let e = build(&dir, &toolchains).unwrap_err().to_string();
        assert!(e.contains("serve tools only"), "{language}: {e}");
        assert!(!parent.join("cache/toolchains").exists(), "{language}");
    }
    std::fs::remove_dir_all(&parent).unwrap();
}
