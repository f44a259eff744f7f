//! Unit tests of the configuration.

use super::*;

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let err = RawConfig::from_toml("[limits]\nmemroy_mb = 3").unwrap_err();
    assert!(err.to_string().contains("memroy_mb"), "{err}");
    let err = RawConfig::from_toml("[plugin]\ndirs = []").unwrap_err();
    assert!(err.to_string().contains("plugin"), "{err}");
}

#[test]
fn a_file_that_does_not_parse_keeps_the_parser_error() {
    let dir = std::env::temp_dir().join(format!("berth-config-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("berth.toml");
    std::fs::write(&path, "[limits]\nmemroy_mb = 3\n").unwrap();
    let err = RawConfig::from_file(&path).unwrap_err();
    let parser = RawConfig::from_toml("[limits]\nmemroy_mb = 3\n").unwrap_err();
    assert_eq!(err.to_string(), format!("{}: {parser}", path.display()));
    assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<toml::de::Error>()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_os_randomness_berth_does_not_start_even_with_a_state_key() {
    let with_key = || {
        let key = "ab".repeat(32);
        RawConfig::from_toml(&format!("[protocol]\nstate_key = \"{key}\"")).unwrap()
    };
    let failing = crate::session::failing_randomness::Guard::new();
    for raw in [RawConfig::default(), with_key()] {
        let err = raw.resolve(Overrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Randomness(_)), "{err:?}");
        assert!(err.to_string().contains("OS randomness"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
    drop(failing);
    let cfg = with_key().resolve(Overrides::default()).unwrap();
    assert_eq!(cfg.server.input_key, SealKey::from_bytes([0xab; 32]));
    let random = RawConfig::default().resolve(Overrides::default()).unwrap();
    assert_ne!(random.server.input_key, cfg.server.input_key);
}

#[test]
fn refused_api_keys_name_the_setting_and_keep_the_cause() {
    let raw =
        RawConfig::from_toml("[[auth.api_keys]]\nsubject = \"alice\"\nsha256 = \"abc\"").unwrap();
    let err = raw.resolve(Overrides::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid setting auth.api_keys: the key of alice must be given as 64 hex digits of its SHA-256"
    );
    assert_eq!(err.key(), Some("auth.api_keys"));
    assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<crate::auth::KeyConfigError>()));
}

#[test]
fn the_state_key_and_input_times_are_read_and_checked() {
    let key = "00".repeat(31) + "ff";
    let raw = RawConfig::from_toml(&format!(
        "[protocol]\nstate_key = \"{key}\"\ninput_ttl_secs = 60"
    ))
    .unwrap();
    let cfg = raw.resolve(Overrides::default()).unwrap();
    let mut expected = [0u8; 32];
    expected[31] = 0xff;
    assert_eq!(cfg.server.input_key, SealKey::from_bytes(expected));
    assert_eq!(cfg.server.input_ttl.as_secs(), 60);
    for bad in ["state_key = \"abc\"", "input_timeout_secs = 0"] {
        let raw = RawConfig::from_toml(&format!("[protocol]\n{bad}")).unwrap();
        assert!(raw.resolve(Overrides::default()).is_err(), "{bad}");
    }
}

#[test]
fn connection_settings_are_read_and_checked() {
    let raw = RawConfig::from_toml(
        "[http]\nheader_read_timeout_secs = 2\nidle_timeout_secs = 3\nmax_connections = 5",
    )
    .unwrap();
    let http = raw.resolve(Overrides::default()).unwrap().http;
    assert_eq!(http.header_read_timeout.as_secs(), 2);
    assert_eq!(http.idle_timeout.as_secs(), 3);
    assert_eq!(http.max_connections, 5);
    let too_many = crate::transport::http::connection_room().unwrap_or(1_000_000) + 1;
    for (bad, key) in [
        (
            "header_read_timeout_secs = 0",
            "http.header_read_timeout_secs",
        ),
        ("idle_timeout_secs = 0", "http.idle_timeout_secs"),
        ("max_connections = 0", "http.max_connections"),
        (
            &format!("max_connections = {too_many}"),
            "http.max_connections",
        ),
    ] {
        let raw = RawConfig::from_toml(&format!("[http]\n{bad}")).unwrap();
        match raw.resolve(Overrides::default()) {
            Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn call_admission_and_resume_grace_are_read_and_checked() {
    let cfg = RawConfig::default().resolve(Overrides::default()).unwrap();
    assert_eq!(cfg.runtime.max_calls_per_user, 256);
    assert_eq!(cfg.sessions.resume_grace, Duration::from_secs(5));
    let raw =
        RawConfig::from_toml("[limits]\nmax_calls_per_user = 3\n[sessions]\nresume_grace_secs = 0")
            .unwrap();
    let cfg = raw.resolve(Overrides::default()).unwrap();
    assert_eq!(cfg.runtime.max_calls_per_user, 3);
    assert!(cfg.sessions.resume_grace.is_zero());
    for (bad, key) in [
        (
            "[limits]\nmax_calls_per_user = 0",
            "limits.max_calls_per_user",
        ),
        (
            "[sessions]\nresume_grace_secs = 3601",
            "sessions.resume_grace_secs",
        ),
    ] {
        let raw = RawConfig::from_toml(bad).unwrap();
        assert!(
            matches!(raw.resolve(Overrides::default()), Err(ConfigError::Invalid { key: k, .. }) if k == key),
            "{bad}"
        );
    }
}

#[test]
fn flags_override_the_file_and_values_are_validated() {
    let raw = RawConfig::from_toml(
        "[plugins]\ndirs = [\"a\"]\n[limits]\nmemory_mb = 16\ndeadline_ms = 1000",
    )
    .unwrap();
    let cfg = raw
        .resolve(Overrides {
            plugin_dirs: vec![PathBuf::from("b")],
            cache_dir: Some(PathBuf::from("/c")),
            http_listen: Some("0.0.0.0:9000".to_owned()),
        })
        .unwrap();
    assert_eq!(cfg.plugin_dirs, vec![PathBuf::from("b")]);
    assert_eq!(cfg.runtime.default_limits.memory_bytes, 16 << 20);
    assert_eq!(cfg.runtime.cache_dir, Some(PathBuf::from("/c")));
    assert_eq!(cfg.http_listen.map(|a| a.port()), Some(9000));
    assert!(
        !cfg.http.loopback_only,
        "a public bind is not loopback-only"
    );
    let bad = RawConfig::from_toml("[http]\nlisten = \"localhost\"").unwrap();
    assert!(matches!(
        bad.resolve(Overrides::default()),
        Err(ConfigError::Invalid {
            key: "http.listen",
            ..
        })
    ));
    let bad = RawConfig::from_toml("[limits]\nmemory_mb = 0").unwrap();
    assert!(matches!(
        bad.resolve(Overrides::default()),
        Err(ConfigError::Invalid {
            key: "limits.memory_mb",
            ..
        })
    ));
}

#[test]
fn telemetry_is_off_by_default_and_its_endpoint_is_checked_at_startup() {
    let cfg = RawConfig::default().resolve(Overrides::default()).unwrap();
    assert_eq!(cfg.telemetry.otlp_endpoint, None);
    assert_eq!(cfg.telemetry.service_name, "berth");
    let raw = RawConfig::from_toml(
        "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nservice_name = \"edge\"",
    )
    .unwrap();
    let telemetry = raw.resolve(Overrides::default()).unwrap().telemetry;
    assert_eq!(
        telemetry.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    assert_eq!(telemetry.service_name, "edge");
    for bad in [
        "otlp_endpoint = \"127.0.0.1:4318\"",
        "otlp_endpoint = \"https://collector:4318\"",
        "otlp_endpoint = \"not a url\"",
        "service_name = \"\"",
    ] {
        let raw = RawConfig::from_toml(&format!("[telemetry]\n{bad}")).unwrap();
        match raw.resolve(Overrides::default()) {
            Err(ConfigError::Invalid { key, reason }) => {
                assert!(key.starts_with("telemetry."), "{bad}: {key}: {reason}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let err = RawConfig::from_toml("[telemetry]\nendpoint = \"x\"").unwrap_err();
    assert!(err.to_string().contains("endpoint"), "{err}");
}
