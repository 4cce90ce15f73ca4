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
