//! The `asyncsense` binary: `check` (command-line checker), `server` (stdio language server) and
//! `rule` (rule documentation).

mod check;
mod output;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Parsing and fact extraction allocate many small objects: with mimalloc (v2, which keeps peak
/// memory closer to the system allocator's than v3) the benchmark corpus takes a third fewer
/// instructions (callgrind: 1.78 G → 1.19 G).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "asyncsense", version, about = "Catches async protocol mismatches in Python code")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files or folders and report protocol mismatches.
    Check(CheckArgs),
    /// Run the language server over stdio.
    Server {
        /// Accepted for editor clients that append it (vscode-languageclient); stdio is the
        /// only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Print the documentation of a rule, by code (`APM101`) or name; `--all` lists them.
    Rule {
        rule: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(clap::Args)]
#[expect(clippy::struct_excessive_bools, reason = "command-line flags")]
pub struct CheckArgs {
    /// Files or folders to check (default: the current folder).
    paths: Vec<std::path::PathBuf>,
    /// Apply safe fixes in place, then report what is left.
    #[arg(long)]
    fix: bool,
    /// Show what `--fix` would change as a unified diff, without writing (exit 1 if anything).
    #[arg(long, conflicts_with = "fix")]
    diff: bool,
    /// Let `--fix` and `--diff` apply unsafe fixes too (the first fix of each finding).
    #[arg(long)]
    unsafe_fixes: bool,
    /// Exit with status 0 even when there are findings.
    #[arg(long)]
    exit_zero: bool,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
    /// Run only these rules (codes or names, comma-separated), instead of the default set.
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Run these rules in addition to the selected ones (e.g. the off-by-default APM302).
    #[arg(long, value_delimiter = ',')]
    extend_select: Vec<String>,
    /// Do not run these rules.
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Also ask the type layer (ty's inference over typeshed, installed packages and
    /// annotations) about operands asyncsense's own resolver does not know. Preview: slower.
    #[arg(long)]
    type_inference: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// Each finding with its source line, a caret and the fix.
    Text,
    /// One line per finding.
    Concise,
    Json,
    /// SARIF 2.1.0, for code-scanning services.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASYNCSENSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::log_writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Opts this process out of transparent huge pages (Linux).
///
/// Where the kernel's THP mode is `always`, the allocator's memory is backed by 2 MiB pages as
/// soon as one byte of them is touched: on the benchmark corpus that raised peak RSS from 40 to
/// 53 MiB, and the kernel's work to find and zero huge pages (compacting memory after another
/// program) made the CPU time of a check vary by a fifth from run to run. Small pages cost more
/// page faults, but on a machine whose memory other programs just used the mean CPU time was the
/// same or lower. Setting `MIMALLOC_ALLOW_THP=1` keeps huge pages.
fn opt_out_of_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none_or(|value| value != "1") {
        // Best effort: an old kernel without the setting simply keeps its behaviour.
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

fn main() -> ExitCode {
    opt_out_of_huge_pages();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let is_usage_error = error.use_stderr();
            let _ = error.print();
            return if is_usage_error { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Check(args) => {
            init_logging("warn");
            match check::run(&args) {
                Ok(true) if !args.exit_zero => ExitCode::from(1),
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("asyncsense: error: {error:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Server { stdio: _ } => {
            init_logging("info");
            match asyncsense_lsp::run_stdio() {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("asyncsense: server error: {error:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Rule { all: true, .. } => {
            for rule in asyncsense_analysis::Rule::ALL {
                let default = if rule.enabled_by_default() { "" } else { " (off by default)" };
                println!("{} {:<38} {}{default}", rule.code(), rule.name(), rule.summary());
            }
            ExitCode::SUCCESS
        }
        Command::Rule { rule: None, .. } => {
            eprintln!("asyncsense: error: name a rule (`asyncsense rule APM101`) or pass --all");
            ExitCode::from(2)
        }
        Command::Rule { rule: Some(rule), .. } => match asyncsense_analysis::Rule::from_code_or_name(&rule) {
            Some(rule) => {
                print!("{}", rule.documentation());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("asyncsense: error: unknown rule `{rule}` (try a code such as APM101, or --all)");
                ExitCode::from(2)
            }
        },
    }
}
