//! The `berth` command: serve, call, inspect, new, build. Thin: parses flags, sets up
//! logging, and hands over to the library.

use anyhow::{Context, Result, bail};
use berth::Host;
use berth::auth::Principal;
use berth::config::{Config, Overrides, RawConfig};
use berth::internals::{DirGrant, HostPattern, Plugin, SandboxPolicy};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

// Every call allocates and frees many small objects on several threads;
// mimalloc does that markedly cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// berth: serve MCP tools from sandboxed WebAssembly plugins.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (default: ./berth.toml if it exists).
    #[arg(long, global = true, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
    /// Log filter for the host's own log on stderr (e.g. `info`, `berth=debug`).
    #[arg(long, global = true, env = "BERTH_LOG", default_value = "info")]
    log: String,
    /// Directory for compiled plugin code.
    #[arg(long, global = true, env = "BERTH_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Export spans to this OTLP/HTTP collector (e.g.
    /// http://127.0.0.1:4318); replaces `[telemetry] otlp_endpoint`.
    #[arg(long, global = true, env = "BERTH_OTLP_ENDPOINT", value_name = "URL")]
    otlp_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the plugins in the given directories over stdio (one client)
    /// or HTTP (many clients and sessions).
    Serve {
        /// Speak MCP on stdin/stdout (the default).
        #[arg(long, conflicts_with = "http")]
        stdio: bool,
        /// Serve HTTP on this address instead (e.g. 127.0.0.1:8080): `/mcp`,
        /// `/sse` + `/messages`, `/healthz`, `/readyz`, `/metrics`.
        #[arg(long, env = "BERTH_HTTP", value_name = "ADDR")]
        http: Option<String>,
        /// Plugin directory; repeat for several (replaces the config's list).
        #[arg(long = "plugins", env = "BERTH_PLUGINS", value_delimiter = ':')]
        plugins: Vec<PathBuf>,
    },
    /// Call one tool of one plugin file and print the result.
    Call {
        /// The plugin (`.wasm`; its `.toml` manifest is read from beside it).
        plugin: PathBuf,
        /// The tool: its name as clients see it (e.g. `counter_increment`)
        /// or the plugin's own (`increment`).
        tool: String,
        /// Arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Print the whole MCP result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the SHA-256 of an API key (read from stdin), the form
    /// `[[auth.api_keys]]` takes in berth.toml.
    HashKey,
    /// Show a plugin's exports, tools, schemas, limits and grants.
    Inspect {
        /// The plugin file.
        plugin: PathBuf,
    },
    /// Start a plugin project in a new directory NAME.
    New {
        /// The plugin's name (its directory, its `.wasm`, its tools' prefix).
        name: String,
        /// The language (see `berth new --help` for the list).
        #[arg(long, short, default_value = "rust", value_parser = languages())]
        lang: String,
    },
    /// Build the plugin project in DIR into `DIR/<name>.wasm`, fetching its
    /// toolchain into ~/.cache/berth/toolchains on first use.
    Build {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

fn languages() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        berth::project::LANGUAGES
            .iter()
            .flat_map(|l| std::iter::once(l.name).chain(l.aliases.iter().copied())),
    )
}

/// Exit codes: 0 success, 1 the tool reported an error, 2 berth failed.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            let outcome = start(&rt, cli);
            // Serving has drained by now. Do not wait for the blocking
            // read of stdin, which only more input would end.
            rt.shutdown_background();
            outcome
        });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", berth::logging::report(e.as_ref()));
            ExitCode::from(2)
        }
    }
}

/// Reads the configuration, sets up the log (and span export, when
/// configured) and runs the command; span export ends, flushed, while the
/// runtime still runs.
fn start(rt: &tokio::runtime::Runtime, cli: Cli) -> Result<ExitCode> {
    let config = match &cli.command {
        Command::Serve { http, plugins, .. } => config(&cli, plugins.clone(), http.clone())?,
        Command::Call { .. } | Command::Inspect { .. } | Command::Build { .. } => {
            config(&cli, Vec::new(), None)?
        }
        // These read no configuration file.
        Command::HashKey | Command::New { .. } => {
            RawConfig::default().resolve(Overrides::default())?
        }
    };
    let telemetry = berth::telemetry::TelemetryConfig {
        log_filter: cli.log.clone(),
        ..config.telemetry.clone()
    };
    let guard = {
        let _runtime = rt.enter();
        berth::telemetry::init(&telemetry)?
    };
    let outcome = rt.block_on(run(cli, config));
    guard.shutdown();
    outcome
}

fn config(cli: &Cli, plugin_dirs: Vec<PathBuf>, http_listen: Option<String>) -> Result<Config> {
    let mut raw = match &cli.config {
        Some(path) => RawConfig::from_file(path)?,
        None if Path::new("berth.toml").exists() => RawConfig::from_file(Path::new("berth.toml"))?,
        None => RawConfig::default(),
    };
    if let Some(endpoint) = &cli.otlp_endpoint {
        raw.telemetry.otlp_endpoint = Some(endpoint.clone());
    }
    Ok(raw.resolve(Overrides {
        plugin_dirs,
        cache_dir: cli.cache_dir.clone(),
        http_listen,
    })?)
}

async fn run(cli: Cli, config: Config) -> Result<ExitCode> {
    match &cli.command {
        Command::Serve { .. } => serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Call {
            plugin,
            tool,
            args,
            json,
        } => call(config, plugin, tool, args, *json).await,
        Command::HashKey => {
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            let key = key.trim_end_matches(['\r', '\n']);
            if key.is_empty() {
                bail!("give the key on stdin, e.g. `echo -n \"$KEY\" | berth hash-key`");
            }
            print_line(&berth::auth::hash_key(key))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { plugin } => inspect(config, plugin).await.map(|()| ExitCode::SUCCESS),
        Command::New { name, lang } => {
            let dir = berth::project::create(lang, name, Path::new("."))?;
            print_line(&format!(
                "created {}: build it with `cd {} && berth build`",
                dir.display(),
                dir.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Build { dir } => build(config, dir).await,
    }
}

async fn serve(config: Config) -> Result<()> {
    if config.plugin_dirs.is_empty() {
        bail!("no plugin directories: pass --plugins DIR or set [plugins] dirs in berth.toml");
    }
    let started = std::time::Instant::now();
    let host = Host::builder().config(config.clone()).build().await?;
    for e in host.load_errors() {
        tracing::error!("{e}");
    }
    let shutdown = CancellationToken::new();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signals.cancel();
    });
    let (plugins, tools) = (host.plugin_count(), host.tool_count());
    let ms = started.elapsed().as_millis() as u64;
    if tools == 0 {
        let dirs: Vec<String> = config
            .plugin_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        tracing::warn!(
            "no tools to serve: no plugin in {} loaded one (plugins are `.wasm` components \
             built for wasm32-wasip2; is the directory right?)",
            dirs.join(", ")
        );
    }
    if let Some(addr) = config.http_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(plugins, tools, ms, "listening on http://{local}");
        host.serve_http(listener, shutdown).await?;
    } else {
        tracing::info!(plugins, tools, ms, "serving on stdio");
        host.serve_stdio(tokio::io::stdin(), tokio::io::stdout(), shutdown)
            .await?;
    }
    tracing::info!(uptime_s = started.elapsed().as_secs(), "berth stopped");
    Ok(())
}

/// Writes a line to stdout. A reader that has gone (`berth inspect x |
/// head`) ends the output quietly instead of failing.
fn print_line(line: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// A host serving no directory and not watching, for one plugin file.
async fn bare_host(mut config: Config) -> Result<Host> {
    config.watch = None;
    Ok(Host::builder()
        .config(config)
        .plugins(Vec::<PathBuf>::new())
        .build()
        .await?)
}

async fn call(
    config: Config,
    path: &Path,
    tool: &str,
    args: &str,
    as_json: bool,
) -> Result<ExitCode> {
    let arguments: Value = serde_json::from_str(args).context("--args is not JSON")?;
    let Value::Object(arguments) = arguments else {
        bail!("--args must be a JSON object");
    };
    let host = bare_host(config).await?;
    let plugin = host.load_plugin(path).await?;
    // The exposed name (`hello_greet`) or the plugin's own (`greet`).
    let Some((exposed, _)) = plugin
        .tools
        .iter()
        .find(|(exposed, own)| own == tool || exposed == tool)
    else {
        let names: Vec<String> = plugin
            .tools
            .iter()
            .map(|(exposed, own)| format!("{exposed} ({own})"))
            .collect();
        bail!(
            "{} has no tool {tool:?}; it has: {}",
            plugin.name,
            names.join(", ")
        );
    };
    // At the most verbose log level, with progress: everything the plugin
    // reports goes to stderr.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Value>(256);
    let printer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            let p = &msg["params"];
            match msg["method"].as_str() {
                Some("notifications/message") => {
                    eprintln!(
                        "[{}] {}: {}",
                        p["level"].as_str().unwrap_or("?"),
                        p["logger"].as_str().unwrap_or("?"),
                        p["data"]
                    );
                }
                Some("notifications/progress") => {
                    eprintln!(
                        "[progress] {}/{} {}",
                        p["progress"],
                        p["total"],
                        p["message"].as_str().unwrap_or("")
                    );
                }
                _ => eprintln!("{msg}"),
            }
        }
    });
    let result = host
        .call_tool_observed(exposed, arguments, Principal::anonymous(), tx)
        .await;
    host.shutdown().await;
    let _ = printer.await;
    let result = serde_json::to_value(result?)?;
    if as_json {
        print_line(&serde_json::to_string_pretty(&result)?)?;
    } else {
        for block in result["content"].as_array().into_iter().flatten() {
            match block["type"].as_str() {
                Some("text") => print_line(block["text"].as_str().unwrap_or_default())?,
                _ => print_line(&block.to_string())?,
            }
        }
    }
    Ok(if result["isError"] == json!(true) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Builds a project, then loads the component as `serve` would (which also
/// fills the compiled-code cache) and says what it serves.
async fn build(config: Config, dir: &Path) -> Result<ExitCode> {
    let dir = dir.to_path_buf();
    let toolchains = berth::project::Toolchains::from_env();
    let built =
        tokio::task::spawn_blocking(move || berth::project::build(&dir, &toolchains)).await??;
    let plugin = load_one(&config, &built.wasm)
        .await
        .with_context(|| format!("built {}, but berth cannot serve it", built.wasm.display()))?;
    let tools: Vec<String> = plugin
        .tools()
        .iter()
        .map(|t| plugin.exposed_name(&t.name))
        .collect();
    let size = if built.bytes >= 1_000_000 {
        format!("{:.1} MB", built.bytes as f64 / 1e6)
    } else {
        format!("{:.0} KB", built.bytes as f64 / 1e3)
    };
    print_line(&format!(
        "built {} ({size} in {:.1} s); tools: {}",
        built.wasm.display(),
        built.took.as_secs_f64(),
        if tools.is_empty() {
            "none".to_owned()
        } else {
            tools.join(", ")
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the plugin at `path` alone, as `serve` would.
async fn load_one(config: &Config, path: &Path) -> Result<Arc<Plugin>> {
    let host = bare_host(config.clone()).await?;
    Ok(host.server().plugins().load_file(path).await?)
}

async fn inspect(config: Config, path: &Path) -> Result<()> {
    let plugin = load_one(&config, path).await?;
    let m = plugin.manifest();
    let g = plugin.granted();
    let e = plugin.exports();
    let exports: Vec<&str> = [
        (e.tools, "tools"),
        (e.resources, "resources"),
        (e.prompts, "prompts"),
        (e.completion, "completion"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let tools: Vec<Value> = plugin
        .tools()
        .iter()
        .map(|t| {
            json!({
                "name": plugin.exposed_name(&t.name),
                "pluginName": t.name,
                "title": t.title,
                "description": t.description,
                "stateful": t.stateful,
                "inputSchema": t.input_schema,
                "outputSchema": t.output_schema,
                "annotations": t.annotations,
            })
        })
        .collect();
    let report = json!({
        "plugin": plugin.name(),
        "path": plugin.path(),
        "exports": exports,
        "imports": import_groups(&plugin, &config.runtime.sandbox),
        "prefix": plugin.prefix(),
        "limits": {
            "memoryMb": m.limits.memory_bytes >> 20,
            "deadlineMs": m.limits.deadline.as_millis() as u64,
            "cpuFuel": m.limits.cpu_fuel,
        },
        "manifest": {
            "env": m.grants.env,
            "secrets": m.grants.secrets,
            "dirs": dirs(&m.grants.dirs),
            "http": hosts(&m.grants.http),
        },
        "granted": {
            "env": g.env_names(),
            "secrets": g.secret_names(),
            "dirs": dirs(g.dirs()),
            "http": hosts(g.http()),
        },
        "tools": tools,
    });
    print_line(&serde_json::to_string_pretty(&report)?)?;
    Ok(())
}

fn hosts(patterns: &[HostPattern]) -> Vec<String> {
    patterns.iter().map(ToString::to_string).collect()
}

fn dirs(dirs: &[DirGrant]) -> Vec<Value> {
    dirs.iter()
        .map(|d| json!({"host": d.host, "guest": d.guest, "writable": d.writable}))
        .collect()
}

/// The component's imports grouped by interface (WASI by package), each
/// group once, with what this berth gives it under the current berth.toml.
/// Names only: never a secret's value.
fn import_groups(plugin: &Plugin, sandbox: &SandboxPolicy) -> Vec<Value> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for import in plugin.imports() {
        let unversioned = import.split('@').next().unwrap_or(import);
        let group = match unversioned.split_once('/') {
            Some((package, _)) if package.starts_with("wasi:") => package,
            _ => unversioned,
        };
        match groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, members)) => members.push(import),
            None => groups.push((group.to_owned(), vec![import])),
        }
    }
    let granted = plugin.granted();
    groups
        .into_iter()
        .map(|(group, members)| {
            let access = match group.as_str() {
                "wasi:filesystem" if granted.dirs().is_empty() => {
                    "no directories granted: every open fails".to_owned()
                }
                "wasi:filesystem" => {
                    let dirs: Vec<String> = granted
                        .dirs()
                        .iter()
                        .map(|d| {
                            let mode = if d.writable { "writable" } else { "read-only" };
                            format!("{} = {} ({mode})", d.guest, d.host.display())
                        })
                        .collect();
                    format!("granted directories: {}", dirs.join(", "))
                }
                "wasi:cli" => {
                    let env = granted.env_names();
                    let secrets = granted.secret_names();
                    format!(
                        "environment: {} variable(s) [{}] and {} secret(s) [{}], nothing else; stdin empty; stdout and stderr go to berth's log",
                        env.len(),
                        env.join(", "),
                        secrets.len(),
                        secrets.join(", ")
                    )
                }
                "wasi:sockets" => "denied: berth grants no network access (every socket call fails)".to_owned(),
                "wasi:http" if granted.http().is_empty() => {
                    "no hosts granted: every request is refused".to_owned()
                }
                "wasi:http" => {
                    let scheme = if sandbox.allow_plain_http {
                        "https or plain http"
                    } else {
                        "https only"
                    };
                    let private = if sandbox.allow_private_hosts.is_empty() {
                        "no private addresses".to_owned()
                    } else {
                        let nets: Vec<String> =
                            sandbox.allow_private_hosts.iter().map(ToString::to_string).collect();
                        format!("private addresses only in {}", nets.join(", "))
                    };
                    format!(
                        "outgoing requests to granted hosts: {} ({scheme}; {private})",
                        hosts(granted.http()).join(", ")
                    )
                }
                "wasi:clocks" => "provided: wall and monotonic clocks".to_owned(),
                "wasi:random" => "provided: random numbers".to_owned(),
                "wasi:io" => "provided: streams and polling".to_owned(),
                "berth:plugin/context" => {
                    "provided: logging, progress, key-value state, caller identity".to_owned()
                }
                "berth:plugin/types" => "provided: types only".to_owned(),
                _ => "provided by berth".to_owned(),
            };
            json!({"interface": group, "imports": members, "access": access})
        })
        .collect()
}
