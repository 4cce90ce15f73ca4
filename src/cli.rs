//! The command line: `fasttrack` (API and workers, the embedded default),
//! `serve`, `work`, `migrate`, `rescore`, `retention`, `admin token create` and
//! `admin user create`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use fasttrack_core::settings::Settings;
use fasttrack_core::{Role, store};

use crate::startup::{self, API_ONLY, EMBEDDED, Parts, WORKERS_ONLY};

#[derive(Parser)]
#[command(name = "fasttrack", version, about = "Recruitment pipeline for graduate fast-track schemes")]
pub struct Cli {
    /// Deployment settings file layered over config/default.toml (also FASTTRACK_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP API only (at scale, beside any number of `work` processes).
    Serve,
    /// Run the background workers only.
    Work,
    /// Apply database migrations and exit.
    Migrate,
    /// Re-score every scored application of a scheme with its current keys and norms, and
    /// report who changed outcome (pass/fail). Deterministic: the same inputs give the same scores.
    Rescore {
        #[arg(long)]
        scheme: String,
        /// Report only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Erase the personal data the schemes' retention rules say is due (as the workers do
    /// daily; only one process runs it at a time), or with --dry-run list it and why.
    Retention {
        /// List what would be erased, and why; erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Staff accounts (people who sign in to the staff pages).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a staff account and print a one-time sign-in link for it (how the first admin
    /// gets in on a fresh install; later accounts are made on the admin pages).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: StaffRole,
        /// Their full name, as the pages show it.
        #[arg(long)]
        name: String,
        /// For `--role assessor`: `scheme:assessor`, who they are in that scheme's centres.
        #[arg(long)]
        assessor: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a staff token and print it once (only its hash is stored).
    Create {
        #[arg(long, value_enum)]
        role: StaffRole,
        /// Who the token is for, e.g. "Priya Shah, recruitment".
        #[arg(long)]
        name: String,
        /// For `--role assessor`: `scheme:assessor`, the assessor's id in that scheme's centres
        /// (e.g. london-imt-pilot:as-okafor); the token then sees and scores only the sessions
        /// that assessor sits on.
        #[arg(long)]
        assessor: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum StaffRole {
    Recruiter,
    Assessor,
    Hr,
    Admin,
}

impl From<StaffRole> for Role {
    fn from(r: StaffRole) -> Role {
        match r {
            StaffRole::Recruiter => Role::Recruiter,
            StaffRole::Assessor => Role::Assessor,
            StaffRole::Hr => Role::Hr,
            StaffRole::Admin => Role::Admin,
        }
    }
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env(cli.config.as_deref())?;
    crate::telemetry::init(&settings);
    match cli.command {
        None => serve(settings, EMBEDDED).await,
        Some(Command::Serve) => serve(settings, API_ONLY).await,
        Some(Command::Work) => serve(settings, WORKERS_ONLY).await,
        Some(Command::Migrate) => {
            let db = store::Db::connect(&settings).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::Rescore { scheme, dry_run }) => {
            let db = store::Db::connect(&settings).await?;
            db.migrate().await?;
            let report = crate::rescore::rescore(&db, &scheme, dry_run).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Some(Command::Retention { dry_run }) => {
            let (db, queue) = crate::startup::connect(&settings).await?;
            // The rules are the schemes': the files, as the service loads them at start.
            crate::startup::load_schemes(&db, &settings.schemes, settings.clock().now()).await?;
            let cx = fasttrack_workers::Ctx::new(db, queue, settings.clock(), &settings);
            if dry_run {
                let due = fasttrack_workers::retention::due(&cx, usize::MAX).await?;
                for (d, _) in &due {
                    println!(
                        "{}  {}  {}  {}  due since {}: {}",
                        d.application_id, d.scheme_id, d.status, d.rule, d.due_since, d.because
                    );
                }
                println!("{} application(s) would be erased", due.len());
            } else {
                let holder = format!("cli:{}", std::process::id());
                let erased = fasttrack_workers::retention::run_day(&cx, &holder).await?;
                println!("{erased} application(s) erased");
            }
            Ok(())
        }
        Some(Command::Admin {
            command: AdminCommand::User { command: UserCommand::Create { email, role, name, assessor } },
        }) => {
            let new = fasttrack_core::staff::check(
                &email,
                &name,
                Role::from(role).as_str(),
                assessor.as_deref().unwrap_or(""),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let db = store::Db::connect(&settings).await?;
            db.migrate().await?;
            if let Some((scheme, _)) = new.assessor_id.as_deref().and_then(fasttrack_core::centres::parse_assessor_key)
            {
                crate::startup::load_schemes(&db, &settings.schemes, settings.clock().now()).await?;
                anyhow::ensure!(
                    store::schemes::get(&db, scheme).await?.is_some(),
                    "--assessor names no known scheme ({scheme})"
                );
            }
            let now = settings.clock().now();
            let acc = store::staff::create(&db, &new, "cli", now).await?;
            let links = vec![(acc.id.clone(), "/staff".to_owned())];
            let secret = store::staff::mint_links(&db, &links, now, settings.pages.link_ttl()).await?.remove(0);
            eprintln!(
                "created {} account {} for {} <{}>; sign in once with this link (it works for {} hours):",
                acc.role.as_str(),
                acc.id,
                acc.name,
                acc.email,
                settings.pages.sign_in_link_hours
            );
            println!("{}/staff/sign-in/{secret}", settings.pages.public_url.trim_end_matches('/'));
            Ok(())
        }
        Some(Command::Admin {
            command: AdminCommand::Token { command: TokenCommand::Create { role, name, assessor } },
        }) => {
            let name = name.trim();
            anyhow::ensure!(!name.is_empty() && name.len() <= 200, "--name must be 1–200 characters");
            anyhow::ensure!(
                matches!(role, StaffRole::Assessor) == assessor.is_some(),
                "--assessor <scheme:id> is required for assessor tokens and only for them"
            );
            let db = store::Db::connect(&settings).await?;
            db.migrate().await?;
            if let Some(key) = &assessor {
                // The scheme files, as the service loads them at start, so a fresh install knows them.
                crate::startup::load_schemes(&db, &settings.schemes, settings.clock().now()).await?;
                let (scheme, _) = fasttrack_core::centres::parse_assessor_key(key).ok_or_else(|| {
                    anyhow::anyhow!("--assessor must be scheme:assessor, e.g. london-imt-pilot:as-okafor")
                })?;
                anyhow::ensure!(
                    store::schemes::get(&db, scheme).await?.is_some(),
                    "--assessor names no known scheme ({scheme})"
                );
            }
            let (id, token) = store::tokens::create_staff_token(&db, role.into(), name, assessor.as_deref()).await?;
            eprintln!("created {} token {id} for {name}; it is shown only now:", Role::from(role).as_str());
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings, parts: Parts) -> anyhow::Result<()> {
    let running = startup::launch(settings, parts).await?;
    startup::shutdown_signal().await;
    running.stop().await;
    Ok(())
}
