//! The binary's user-facing behaviour: subcommands, errors and exit codes.

use std::process::Command;

fn osecwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_osecwatch"))
}

#[test]
fn simulate_writes_the_world_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--customers", "800", "--months", "2", "--quiet", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("payments") && stdout.contains("OSEC"), "{stdout}");
    for f in ["transactions.csv", "txn_labels.csv", "entity_labels.csv", "scenario.toml", "summary.json"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    // The written scenario reproduces the world.
    let sc = dir.path().join("scenario.toml");
    let again = tempfile::tempdir().unwrap();
    let out2 = osecwatch()
        .args(["simulate", "--quiet", "--scenario"])
        .arg(&sc)
        .arg("--out")
        .arg(again.path())
        .output()
        .unwrap();
    assert!(out2.status.success(), "{}", String::from_utf8_lossy(&out2.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("transactions.csv")).unwrap(),
        std::fs::read(again.path().join("transactions.csv")).unwrap()
    );
}

#[test]
fn bad_scenarios_and_flags_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "extends = \"small\"\n[buyers]\nnight_share = 2.0\n").unwrap();
    let out = osecwatch()
        .args(["simulate", "--quiet", "--scenario"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("buyers.night_share") && err.contains("between 0 and 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = osecwatch().args(["simulate", "--scenario", "no-such-preset", "--out"]).arg(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("no-such-preset") && err.contains("small"), "{err}");

    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--format", "xlsx", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("parquet"));

    let out = osecwatch()
        .args(["simulate", "--scenario", "small", "--months", "0", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("institution.months"));
}

#[test]
fn scenarios_lists_the_presets() {
    let out = osecwatch().arg("scenarios").output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for p in ["default", "small", "mimic", "diaspora-heavy"] {
        assert!(s.contains(p), "{s}");
    }
}
