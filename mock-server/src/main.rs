//! `jodo-mock`: run the mock Jodo backend, or list and check scenarios.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand};

/// Every frame allocates a few short-lived JSON values on whichever worker
/// thread runs its session; glibc's malloc serialises those threads on its
/// arena locks (they showed in the benchmark's profile), mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use jodo_contract::Contract;
use jodo_contract::dialect::{self, Dialect, DialectError};
use jodo_mock::WidgetBuild;
use jodo_mock::gateway::{Gateway, development_keys};
use jodo_mock::tls::TlsIdentity;
use jodo_mock::{MockConfig, MockServer, scenario};

/// A scriptable mock of the Jodo widget backend, over HTTPS and WSS.
///
/// Point a host page's `extdata.serverpath` at it, or open the page it
/// serves at `/`, and every situation of the widget API can be reproduced
/// from scenario files.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the mock until Ctrl-C.
    Serve(Box<ServeArgs>),
    /// Built-in scenarios and scenario files.
    #[command(subcommand)]
    Scenarios(ScenariosCommand),
    /// Wire dialects: the protocols the mock can speak (schemas/dialects/).
    #[command(subcommand)]
    Dialects(DialectsCommand),
    /// Turn a recorded session into a scenario that replays it offline.
    ///
    /// The recording is a case report's `cases/ID/wire.jsonl` (a live run's
    /// records the staging server's own frames) or a mock transcript
    /// (`serve --transcripts DIR`). The scenario answers the visitor's first
    /// frame, then each next one, with the server events that followed it in
    /// the recording; ids, sequence numbers and time stamps are the mock's
    /// own on replay, and values that repeated the visitor's message id, text
    /// or the session's systemcallid become templates of them.
    RecordToScenario(RecordArgs),
}

#[derive(Debug, clap::Args)]
struct RecordArgs {
    /// The recording (JSON lines).
    file: PathBuf,
    /// The dialect its frames were written in (a live run's wire is in the
    /// build's own protocol; the mock's records are in jodo-kit-1).
    #[arg(long, value_name = "NAME|FILE", default_value = jodo_contract::dialect::DEFAULT)]
    dialect: String,
    /// The scenario's name; the file's stem when absent.
    #[arg(long)]
    name: Option<String>,
    /// Where to write the scenario; standard output when absent.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum DialectsCommand {
    /// List the built-in dialects.
    List,
    /// Check a dialect file: its schema, the kinds and fields it names, the
    /// places it gives them, and its own frame schema; every problem with its
    /// line and field. Exits 1 when there is one.
    Check {
        /// The file to check.
        file: PathBuf,
    },
    /// Write the reference widget build made to speak a dialect (the
    /// dialect file is written into the build's one slot), for pages that
    /// load the build from elsewhere than the mock.
    Widget {
        /// A built-in dialect or a dialect file.
        dialect: String,
        /// Where to write it; standard output when absent.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Scenario for new sessions: a built-in name or a YAML file.
    #[arg(long, default_value = "allocated")]
    scenario: String,
    /// Wire protocol to speak: a built-in dialect (`jodo-mock dialects list`)
    /// or a dialect file. The session API's path and bodies, the channel's
    /// URL and every frame follow it.
    #[arg(long, value_name = "NAME|FILE", default_value = jodo_contract::dialect::DEFAULT)]
    dialect: String,
    /// TCP port; 0 picks a free one.
    #[arg(long, default_value_t = 8443)]
    port: u16,
    /// Address to listen on. Loopback by default: the mock is a test tool.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Widget build to serve instead of the reference build (which is made
    /// to speak --dialect; this one is served as it is).
    #[arg(long, value_name = "PATH")]
    widget: Option<PathBuf>,
    /// Key file (`keys: [{akey: .., skey: ..}]`); development keys when absent.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Extra page origin allowed to create sessions (repeatable), e.g. https://localhost:3000.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Write each session's frames to DIR/<session id>.jsonl as they flow.
    #[arg(long, value_name = "DIR")]
    transcripts: Option<PathBuf>,
    /// Sessions remembered for the control API besides the live ones: the
    /// oldest beyond it are forgotten (with unused tokens and resume
    /// secrets), so a mock left running keeps a bounded memory. Their
    /// transcript files stay.
    #[arg(long, value_name = "N", default_value_t = jodo_mock::DEFAULT_SESSIONS_KEPT)]
    keep_sessions: usize,
    /// Milliseconds a client may take to finish a request's headers once it
    /// has started them: one that trickles them is disconnected after it.
    #[arg(long, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    header_timeout_ms: u64,
    /// Milliseconds a connection may stay silent after its TLS handshake:
    /// one that sends nothing is disconnected after it (longer than a
    /// browser keeps an unused preconnected socket).
    #[arg(long, value_name = "MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    silent_timeout_ms: u64,
    /// Sessions open at once (a channel live, or a token not yet spent): a
    /// new one beyond it is refused with 503 too_many_sessions.
    #[arg(long, value_name = "N", default_value_t = jodo_mock::DEFAULT_OPEN_SESSIONS.total)]
    max_sessions: usize,
    /// The same, for the sessions of one akey.
    #[arg(long, value_name = "N", default_value_t = jodo_mock::DEFAULT_OPEN_SESSIONS.per_key)]
    max_sessions_per_key: usize,
    /// Largest WebSocket message (and frame) a widget may send, in bytes: a
    /// larger one closes its channel with 1009.
    #[arg(long, value_name = "BYTES", default_value_t = jodo_mock::ChannelLimits::DEFAULT.message_bytes,
          value_parser = clap::value_parser!(u64).range(1024..=16 * 1024 * 1024).map(|v| v as usize))]
    max_message_bytes: usize,
    /// Most fragments one WebSocket message may arrive in: one more closes
    /// its channel with 1009.
    #[arg(long, value_name = "N", default_value_t = jodo_mock::ChannelLimits::DEFAULT.max_fragments,
          value_parser = clap::value_parser!(u64).range(1..=65_536).map(|v| v as usize))]
    max_fragments: usize,
    /// Bytes the mock queues for a widget before its writes wait on it.
    #[arg(long, value_name = "BYTES", default_value_t = jodo_mock::ChannelLimits::DEFAULT.write_queue_bytes,
          value_parser = clap::value_parser!(u64).range(4096..=64 * 1024 * 1024).map(|v| v as usize))]
    write_queue_bytes: usize,
    /// Milliseconds a write may wait on a widget that reads nothing: then
    /// its channel is dropped (the transcript says `slow reader`).
    #[arg(long, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    write_timeout_ms: u64,
    /// Largest control-API request body, in bytes: a larger one gets 413
    /// too_large.
    #[arg(long, value_name = "BYTES", default_value_t = jodo_mock::DEFAULT_CONTROL_BODY_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=256 * 1024 * 1024).map(|v| v as usize))]
    max_control_body_bytes: usize,
    /// Token the control API requires on every request, as `Authorization:
    /// Bearer TOKEN`. Without it, a mock on a loopback address answers local
    /// scripts without one, and a mock bound to any other address makes one
    /// up and prints it.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "JODO_CONTROL_TOKEN",
        hide_env_values = true
    )]
    control_token: Option<String>,
    /// PEM certificate chain; a self-signed certificate is made when absent.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key for --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ScenariosCommand {
    /// List the built-in scenarios.
    List,
    /// Check a scenario file against the scenario schema and the catalogue.
    Check {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "jodo_mock=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let schemas = Arc::new(Contract::embedded()?);
    match cli.command {
        Command::Scenarios(ScenariosCommand::List) => {
            for name in scenario::builtin_names() {
                let sc = scenario::load(&name, &schemas)?;
                println!("{:<24} {}", sc.name, sc.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scenarios(ScenariosCommand::Check { file }) => {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?;
            match scenario::parse(&text, &shown, &schemas) {
                Ok(sc) => {
                    println!("{shown}: ok ({} states)", sc.states.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(scenario::ScenarioError::Invalid { origin, problems }) => {
                    for p in &problems {
                        eprintln!("{origin}: {p}");
                    }
                    eprintln!("{origin}: {} problem(s)", problems.len());
                    Ok(ExitCode::from(1))
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Dialects(DialectsCommand::List) => {
            for name in dialect::builtin_names() {
                let d = Dialect::load(&name, &schemas)?;
                println!("{:<24} {}", d.name(), d.file.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dialects(DialectsCommand::Check { file }) => {
            let shown = file.display().to_string();
            match Dialect::load(&shown, &schemas) {
                Ok(d) => {
                    println!(
                        "{shown}: ok (dialect {}, {} frame kinds)",
                        d.name(),
                        d.kind_count()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    report_dialect_error(&e);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Dialects(DialectsCommand::Widget { dialect, out }) => {
            let dialect = match load_dialect(&dialect, &schemas) {
                Ok(d) => d,
                Err(code) => return Ok(code),
            };
            let build = WidgetBuild::reference().speaking(&dialect)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &build.script)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    eprintln!("{}: {}", path.display(), build.name);
                }
                None => std::io::stdout().write_all(&build.script)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::RecordToScenario(args) => record_to_scenario(&args, &schemas),
        Command::Serve(args) => serve(*args, schemas).await,
    }
}

/// `record-to-scenario`: 0 written, 1 not a recording, 2 bad arguments.
fn record_to_scenario(args: &RecordArgs, schemas: &Contract) -> anyhow::Result<ExitCode> {
    let dialect = match load_dialect(&args.dialect, schemas) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let shown = args.file.display().to_string();
    let text = jodo_contract::yaml::read_data_file(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {shown}: {e}"))?;
    let recording = match jodo_mock::recording::Recording::read(&text, &dialect) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{shown}: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let name = args.name.clone().unwrap_or_else(|| {
        // A case report's cases/ID/wire.jsonl is named for its case.
        let named = match args.file.file_stem() {
            Some(stem) if stem == "wire" => args.file.parent().and_then(|p| p.file_name()),
            other => other,
        };
        let stem = named
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let clean: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("recorded-{}", clean.trim_matches('-'))
    });
    let (client, events) = recording.counts();
    let summary = format!(
        "Replays a session recorded in {}: {client} visitor frame(s) answered with {events} server event(s).",
        args.file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let document = recording.to_scenario(&name, &summary);
    let yaml = format!(
        "# yaml-language-server: $schema=https://jodo-kit.example/schemas/scenario.schema.json\n# Made by `jodo-mock record-to-scenario` from {shown} (dialect {}); edit freely.\n{}",
        dialect.name(),
        jodo_contract::yaml::to_text(&document).trim_start_matches("---\n")
    );
    // What is written must load as any scenario does.
    if let Err(e) = scenario::parse(&yaml, &name, schemas) {
        anyhow::bail!("the scenario made from {shown} does not load: {e}");
    }
    match &args.out {
        Some(path) => std::fs::write(path, &yaml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        None => std::io::stdout().write_all(yaml.as_bytes())?,
    }
    let mut skipped = String::new();
    if recording.skipped > 0 {
        skipped.push_str(&format!(
            "; {} frame(s) that are not {}'s were left out",
            recording.skipped,
            dialect.name()
        ));
    }
    if recording.outside > 0 {
        skipped.push_str(&format!(
            "; {} frame(s) outside the session (before its welcome, or of a later session) were left out",
            recording.outside
        ));
    }
    eprintln!(
        "scenario {name}: {client} visitor frame(s), {events} server event(s){skipped}{}",
        args.out
            .as_ref()
            .map(|p| format!(" -> {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// A dialect's problems, one per line, then their count.
fn report_dialect_error(e: &DialectError) {
    for line in e.lines() {
        eprintln!("{line}");
    }
}

/// The dialect `--dialect` names; a bad one is reported, and is exit 2.
fn load_dialect(name: &str, schemas: &Contract) -> Result<Dialect, ExitCode> {
    Dialect::load(name, schemas).map_err(|e| {
        report_dialect_error(&e);
        ExitCode::from(2)
    })
}

async fn serve(args: ServeArgs, schemas: Arc<Contract>) -> anyhow::Result<ExitCode> {
    let scenario = scenario::load(&args.scenario, &schemas)?;
    let dialect = match load_dialect(&args.dialect, &schemas) {
        Ok(d) => Arc::new(d),
        Err(code) => return Ok(code),
    };
    let widget = match &args.widget {
        Some(path) => WidgetBuild::from_file(path)
            .map_err(|e| anyhow::anyhow!("cannot read widget build {}: {e}", path.display()))?,
        // The reference build, made to speak the mock's dialect; a build of
        // one's own is served as it is.
        None => WidgetBuild::reference().speaking(&dialect)?,
    };
    let keys = match &args.keys {
        Some(path) => Gateway::read_key_file(path)?,
        None => vec![development_keys()],
    };
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => TlsIdentity::from_pem_files(cert, key)?,
        _ => TlsIdentity::self_signed()?,
    };
    if let Some(dir) = &args.transcripts {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create transcript folder {}: {e}", dir.display())
        })?;
    }
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        anyhow::anyhow!("cannot listen on {addr}: {e} (try --port 0 for a free port)")
    })?;
    let widget_name = widget.name.clone();
    let using_dev_keys = args.keys.is_none();
    let mock = MockServer::start(
        MockConfig {
            schemas,
            scenario: scenario.clone(),
            widget,
            preload: None,
            gateway: Gateway::new(keys.clone(), args.allow_origin.clone()),
            tls,
            transcripts: args.transcripts.clone(),
            sessions_kept: args.keep_sessions,
            header_timeout: std::time::Duration::from_millis(args.header_timeout_ms),
            silent_timeout: std::time::Duration::from_millis(args.silent_timeout_ms),
            open_sessions: jodo_mock::OpenSessions {
                total: args.max_sessions,
                per_key: args.max_sessions_per_key,
            },
            channel: jodo_mock::ChannelLimits {
                message_bytes: args.max_message_bytes,
                max_fragments: args.max_fragments,
                write_queue_bytes: args.write_queue_bytes,
                write_timeout: std::time::Duration::from_millis(args.write_timeout_ms),
            },
            control_body_bytes: args.max_control_body_bytes,
            control_token: args.control_token.clone(),
            dialect: dialect.clone(),
        },
        listener,
    )
    .await?;
    let origin = mock.origin();
    // The banner is best effort: a closed stdout (`| head -1`) must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "jodo-mock {} listening on {origin}",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "  host page      {origin}/");
    let _ = writeln!(
        out,
        "  widget         {origin}{}  ({widget_name})",
        jodo_mock::WIDGET_PATH
    );
    let session_api = &dialect.file.session;
    let _ = writeln!(
        out,
        "  session API    {} {origin}{}",
        session_api.method, session_api.path
    );
    let _ = writeln!(
        out,
        "  dialect        {} — {}",
        dialect.name(),
        dialect.file.summary
    );
    let _ = writeln!(out, "  control API    {origin}/control/v1/sessions");
    match mock.control_token() {
        // Printed only when made up: a token the user chose stays off screen.
        Some(token) if args.control_token.is_none() => {
            let _ = writeln!(
                out,
                "  agent console  {origin}{}#token={token}",
                jodo_mock::CONSOLE_PATH
            );
            let _ = writeln!(
                out,
                "  control token  {token}  (send Authorization: Bearer <token>; --control-token to choose one)"
            );
        }
        Some(_) => {
            let _ = writeln!(
                out,
                "  agent console  {origin}{}#token=<the token given with --control-token>",
                jodo_mock::CONSOLE_PATH
            );
            let _ = writeln!(
                out,
                "  control token  required (the one given with --control-token)"
            );
        }
        None => {
            let hint = if scenario.name == "agent" {
                "sessions wait there for you to pick them up"
            } else {
                "with --scenario agent, sessions wait there for you to pick them up"
            };
            let _ = writeln!(
                out,
                "  agent console  {origin}{}  ({hint})",
                jodo_mock::CONSOLE_PATH
            );
        }
    }

    let _ = writeln!(
        out,
        "  scenario       {} — {}",
        scenario.name, scenario.summary
    );
    if using_dev_keys {
        let k = &keys[0];
        let _ = writeln!(
            out,
            "  dev keys       akey={} skey={}  (pass --keys FILE for your own)",
            k.akey, k.skey
        );
    } else {
        let _ = writeln!(
            out,
            "  keys           {} pair(s) from {}",
            keys.len(),
            args.keys
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "  origins        {}", mock.origins().join(", "));
    let _ = writeln!(out, "  certificate    SHA-256 {}", mock.fingerprint());
    if let Some(dir) = &args.transcripts {
        let _ = writeln!(out, "  transcripts    {}/<session>.jsonl", dir.display());
    }
    let _ = writeln!(out, "Ctrl-C or SIGTERM stops.");
    drop(out);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    eprintln!("stopping");
    mock.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
