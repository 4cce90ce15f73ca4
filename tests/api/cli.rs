//! The command line, run as a user would.

use std::process::Command;

fn fasttrack(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fasttrack"));
    cmd.env("FASTTRACK__DATA_DIR", data_dir).env("FASTTRACK__LOG__LEVEL", "warn");
    cmd
}

#[test]
fn admin_token_create_prints_a_token_once_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = fasttrack(dir.path())
        .args(["admin", "token", "create", "--role", "hr", "--name", "Equality lead"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("ft_") && token.len() > 40, "{token}");
    let db = std::fs::read(dir.path().join("fasttrack.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()), "the secret must not be stored");
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = fasttrack(dir.path()).env("FASTTRACK__SERVER__ADDR", "nowhere").arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.addr"), "{err}");
}

#[test]
fn an_unknown_role_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = fasttrack(dir.path())
        .args(["admin", "token", "create", "--role", "applicant", "--name", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn assessor_tokens_name_an_assessor_of_a_known_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let run = |assessor: &str| {
        fasttrack(dir.path())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["admin", "token", "create", "--role", "assessor", "--name", "Dr Ada Okafor", "--assessor", assessor])
            .output()
            .unwrap()
    };
    let ok = run("london-imt-pilot:as-okafor");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    for bad in ["as-okafor", "no-such-scheme:as-okafor"] {
        let out = run(bad);
        assert!(!out.status.success(), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--assessor"), "{bad}");
    }
}

/// The shipped schemes are compiled in: run from any other folder, the service knows them.
#[test]
fn the_shipped_schemes_are_known_from_any_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = fasttrack(dir.path())
        .current_dir(dir.path())
        .args(["admin", "token", "create", "--role", "assessor", "--name", "Dr Okafor"])
        .args(["--assessor", "london-imt-pilot:as-okafor"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn shipped_schemes_are_every_file_in_config_schemes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/schemes");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    let shipped: Vec<(String, String)> =
        fasttrack::startup::SHIPPED_SCHEMES.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    assert_eq!(shipped, files, "add the new file to startup::SHIPPED_SCHEMES");
}

/// `fasttrack retention --dry-run` lists what the rules would erase and why, erasing nothing;
/// `fasttrack retention` erases it (once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_lists_what_is_due_in_a_dry_run_and_then_erases_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = fasttrack(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&["retention", "--dry-run"]).contains("0 application(s) would be erased"));
    // An application withdrawn long ago, as the service would have stored it.
    let scheme = fasttrack_core::scheme::SchemeDefinition::parse_toml(include_str!(
        "../../config/schemes/london-imt-pilot.toml"
    ))
    .unwrap();
    let form = fasttrack_core::ApplicationForm::parse(&crate::helpers::application("old@example.ac.uk"), &scheme, 2026)
        .unwrap();
    let details = serde_json::to_string(&form.details()).unwrap();
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.path().join("fasttrack.db").display());
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let long_ago = jiff::Timestamp::now().as_millisecond() - 400 * 24 * 3600 * 1000;
    sqlx::query(
        "INSERT INTO applications (id, scheme_id, email_norm, status, details, first_stream, disability_confident, created_at, updated_at)
         VALUES ($1, 'london-imt-pilot', 'old@example.ac.uk', 'withdrawn', $2, 'acute-trusts', 0, $3, $3)",
    )
    .bind(&id)
    .bind(&details)
    .bind(long_ago)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO application_events (application_id, from_status, to_status, actor, at) VALUES ($1, 'submitted', 'withdrawn', 'test', $2)",
    )
    .bind(&id)
    .bind(long_ago)
    .execute(&db)
    .await
    .unwrap();
    let dry = run(&["retention", "--dry-run"]);
    assert!(dry.contains(&id) && dry.contains("retention:withdrawn") && dry.contains("6 months"), "{dry}");
    assert!(dry.contains("1 application(s) would be erased"), "{dry}");
    assert!(run(&["retention"]).contains("1 application(s) erased"));
    let erased: Option<i64> =
        sqlx::query_scalar("SELECT erased_at FROM applications WHERE id = $1").bind(&id).fetch_one(&db).await.unwrap();
    assert!(erased.is_some());
    assert!(run(&["retention", "--dry-run"]).contains("0 application(s) would be erased"));
}
