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
#[command(
    name = "asyncsense",
    version,
    about = "Catches async protocol mismatches in Python and Rust code: command-line checker and language server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once per process; boxing buys nothing")]
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
    /// Files or folders to check (default: the current folder); `-` reads one file's source
    /// from standard input (name it with `--stdin-filename`).
    paths: Vec<std::path::PathBuf>,
    /// Apply safe fixes in place, then report what is left.
    #[arg(long)]
    fix: bool,
    /// Show what `--fix` would change as a unified diff, without writing (exit 1 if anything);
    /// `--fix --diff` is the same.
    #[arg(long)]
    diff: bool,
    /// Let `--fix` and `--diff` apply unsafe fixes too (the first fix of each finding).
    #[arg(long)]
    unsafe_fixes: bool,
    /// Exit with status 0 even when there are findings.
    #[arg(long)]
    exit_zero: bool,
    /// With `--fix`: exit with status 1 when anything was fixed, even if no finding is left.
    #[arg(long)]
    exit_non_zero_on_fix: bool,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "PATH")]
    output_file: Option<std::path::PathBuf>,
    /// Colour the text report: `auto` (default) colours on a terminal unless `NO_COLOR` is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Run only these rules (codes, code prefixes such as `APM1`, names, or `ALL`;
    /// comma-separated), instead of the default set.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Vec<String>,
    /// Run these rules in addition to the selected ones (e.g. the off-by-default APM302).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    extend_select: Vec<String>,
    /// Do not run these rules.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// Use this configuration file (`asyncsense.toml`, or a `pyproject.toml` with a
    /// `[tool.asyncsense]` table) instead of looking for one.
    #[arg(long, value_name = "PATH")]
    config: Option<std::path::PathBuf>,
    /// Exclude these files or folders too (globs, comma-separated, relative to the
    /// configuration's folder), on top of `exclude` (default: `.git`, `.venv`, `venv`, `dist`,
    /// `node_modules`, `site-packages`, `target` and the other folders ruff skips).
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    extend_exclude: Vec<String>,
    /// Walk into what `.gitignore`, `.ignore`, `.git/info/exclude` and the global git excludes
    /// list (by default those files are skipped, as `respect-gitignore = true`).
    #[arg(long)]
    no_respect_gitignore: bool,
    /// Parse and check on this many threads (default: `ASYNCSENSE_NUM_THREADS`, else one per
    /// core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    threads: Option<usize>,
    /// Apply `exclude` to files named on the command line too (as pre-commit passes them).
    #[arg(long)]
    force_exclude: bool,
    /// The oldest Python the project supports (`py39`): version-dependent knowledge applies to
    /// it. Default: the virtual environment's Python, else the lowest `requires-python`.
    #[arg(long, value_name = "VERSION", value_parser = parse_target_version)]
    target_version: Option<(u32, u32)>,
    /// The path of the file whose source is read from standard input (with `-`): it decides
    /// the project, the configuration and the name in the report.
    #[arg(long, value_name = "PATH")]
    stdin_filename: Option<std::path::PathBuf>,
    /// Also ask the type layer (ty's inference over typeshed, installed packages and
    /// annotations) about operands asyncsense's own resolver does not know. Preview: slower.
    #[arg(long)]
    type_inference: bool,
    /// Print the number of findings per rule instead of the findings.
    #[arg(long)]
    statistics: bool,
    /// Print the settings that apply to the given paths (configuration, rules, environment,
    /// target Python) and exit.
    #[arg(long)]
    show_settings: bool,
    /// Print the files that would be checked and exit.
    #[arg(long)]
    show_files: bool,
    /// Print the findings and nothing else: no summary line, and only errors in the log.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    quiet: bool,
    /// Log what is done (the environment and configuration chosen) on standard error.
    #[arg(long, short = 'v')]
    verbose: bool,
}

fn parse_target_version(text: &str) -> Result<(u32, u32), String> {
    asyncsense_analysis::config::parse_target_version(text)
        .ok_or_else(|| format!("expected a version such as py39 or py312, not `{text}`"))
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// Each finding with its source line, a caret and the fix.
    Text,
    /// One line per finding.
    Concise,
    /// An array of findings, each with its code, name, message, help, severity, file name,
    /// start and end location (rows and columns 1-based) and fix.
    Json,
    /// SARIF 2.1.0, for code-scanning services.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
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
            init_logging(if args.verbose {
                "info"
            } else if args.quiet {
                "error"
            } else {
                "warn"
            });
            asyncsense_analysis::threads::configure_pool(args.threads);
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
            asyncsense_analysis::threads::configure_pool(None);
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
