//! The release: one version number for both crates and the wheel, a CHANGELOG section for it,
//! and `.github/workflows/release.yml`, read as GitHub reads it. The steps that need no build
//! run here from the file; the ignored test runs its build and check steps too (CI runs it:
//! `cargo test --test release -- --ignored`), with `--dry-run` where a step publishes.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn toml_of(path: &str) -> toml::Table {
    read(path).parse().unwrap()
}

/// The one version: `[workspace.package] version`.
fn version() -> String {
    toml_of("Cargo.toml")["workspace"]["package"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn workflow() -> Yaml {
    YamlLoader::load_from_str(&read(".github/workflows/release.yml"))
        .unwrap()
        .remove(0)
}

/// The `run:` of the step of `job` named `name`.
fn step(doc: &Yaml, job: &str, name: &str) -> String {
    doc["jobs"][job]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("job {job} has no step {name:?} with a run"))
        .to_owned()
}

/// The actions a job uses.
fn uses(doc: &Yaml, job: &str) -> Vec<String> {
    doc["jobs"][job]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["uses"].as_str().map(str::to_owned))
        .collect()
}

/// Runs a step's script with bash from the repository's root, as the runner does.
fn run_step(script: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(root())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = root()
        .join("target/tmp")
        .join(format!("release-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn one_version_number_for_both_crates_the_wheel_and_the_changelog() {
    let v = version();
    let check = toml_of("Cargo.toml");
    let server = toml_of("reference-server/Cargo.toml");
    for (name, package) in [("srpc-check", &check), ("srpc-reference-server", &server)] {
        assert_eq!(
            package["package"]["version"]["workspace"].as_bool(),
            Some(true),
            "{name} takes the workspace's version"
        );
    }
    assert_eq!(
        check["dependencies"]["reference-server"]["version"].as_str(),
        Some(format!("={v}").as_str()),
        "srpc-check depends on the reference server of its own version"
    );
    let pyproject = toml_of("pyproject.toml");
    assert!(pyproject["project"].get("version").is_none());
    assert_eq!(
        pyproject["project"]["dynamic"].as_array().unwrap(),
        &vec![toml::Value::from("version")],
        "the wheel's version is the crate's (maturin reads it)"
    );
    assert!(
        read("CHANGELOG.md")
            .lines()
            .any(|l| l.starts_with(&format!("## [{v}]"))),
        "CHANGELOG.md has a section for {v}"
    );
}

#[test]
fn the_release_workflow_builds_with_cis_scripts_and_publishes_without_a_token() {
    let doc = workflow();
    let text = read(".github/workflows/release.yml");
    let tags = doc["on"]["push"]["tags"].as_vec().unwrap();
    assert_eq!(tags.len(), 1);
    let tag = tags[0].as_str().unwrap();
    assert!(tag.starts_with("v[0-9]"), "{tag}");
    // Nothing is allowed unless a job asks for it.
    assert!(doc["permissions"].as_hash().unwrap().is_empty());
    // The same scripts CI runs (.ci/run runs this file's steps).
    assert_eq!(
        step(&doc, "wheels", "Build the wheels"),
        "scripts/build-wheels.sh dist"
    );
    assert_eq!(
        step(&doc, "wheels", "Check the wheels"),
        "scripts/check-wheels.sh dist"
    );
    assert!(read(".ci/run").contains("cargo test --locked --test release -- --ignored"));
    // Trusted publishing: an OIDC token, never a secret of the repository.
    assert!(!text.contains("secrets."), "no secret is read");
    for job in ["pypi", "crates"] {
        assert_eq!(
            doc["jobs"][job]["permissions"]["id-token"].as_str(),
            Some("write"),
            "{job}"
        );
        assert_eq!(
            doc["jobs"][job]["needs"].as_str(),
            Some("wheels"),
            "{job} waits for checked wheels"
        );
    }
    assert!(uses(&doc, "pypi").contains(&"pypa/gh-action-pypi-publish@release/v1".to_owned()));
    assert!(uses(&doc, "crates").contains(&"rust-lang/crates-io-auth-action@v1".to_owned()));
    let publish = step(
        &doc,
        "crates",
        "Publish (the reference server first, then srpc-check)",
    );
    assert!(
        publish.starts_with("cargo publish --workspace"),
        "{publish}"
    );
    assert_eq!(
        doc["jobs"]["github-release"]["permissions"]["contents"].as_str(),
        Some("write")
    );
    let release = step(&doc, "github-release", "Create the release with the wheels");
    assert!(release.contains("gh release create") && release.contains("dist/*.whl"));
}

#[test]
fn the_tag_must_be_the_version() {
    let doc = workflow();
    let script = step(&doc, "wheels", "The tag is the version");
    let tag = format!("v{}", version());
    let ok = run_step(&script, &[("GITHUB_REF_NAME", &tag)]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let wrong = run_step(&script, &[("GITHUB_REF_NAME", "v99.0.0")]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("tag v99.0.0, version"));
}

#[test]
fn the_release_notes_are_the_changelogs_section() {
    let doc = workflow();
    let script = step(&doc, "wheels", "Release notes");
    let dir = scratch("notes");
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::copy(root().join("CHANGELOG.md"), dir.join("CHANGELOG.md")).unwrap();
    let tag = format!("v{}", version());
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &script])
        .current_dir(&dir)
        .env("GITHUB_REF_NAME", &tag)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let notes = std::fs::read_to_string(dir.join("dist/NOTES.md")).unwrap();
    let changelog = read("CHANGELOG.md");
    let section = changelog
        .split_once(&format!("## [{}]", version()))
        .unwrap()
        .1;
    let section = section.split_once('\n').unwrap().1;
    let section = section.split("\n## [").next().unwrap();
    assert_eq!(notes.trim(), section.trim());
    assert!(!notes.contains("## ["), "one section only");
    // A tag without a section gives no notes, and the step fails.
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &script])
        .current_dir(&dir)
        .env("GITHUB_REF_NAME", "v99.0.0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cargo publish --workspace` verifies srpc-check against the reference server it has just
/// packaged, through a registry it writes under `target/package/tmp-registry`. Cargo unpacks
/// that crate into `$CARGO_HOME/registry/src/<hash of that path>/` and, when a directory of
/// that name and version is already there, reuses it unread. On a machine whose cargo home
/// outlives the checkout (the same path cloned again), the verify build then compiles against
/// an earlier commit's reference server and fails on code that is fine. Neither crate is
/// ever unpacked there from crates.io at this version, so removing their unpacked copies
/// loses nothing; a release runner starts with an empty cargo home anyway.
fn forget_unpacked_workspace_crates() {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return;
    };
    let ours = [
        format!("srpc-reference-server-{}", version()),
        format!("srpc-check-{}", version()),
    ];
    for registry in registries.flatten() {
        for name in &ours {
            let stale = registry.path().join(name);
            if stale.is_dir() {
                eprintln!(
                    "== removing {} (cargo would reuse it unread)",
                    stale.display()
                );
                std::fs::remove_dir_all(&stale).unwrap();
            }
        }
    }
}

/// The wheels job's build and check steps and the crates job's publish, from the file, the
/// publish with `--dry-run`. Minutes: CI runs it (`-- --ignored`).
#[test]
#[ignore = "builds every wheel; CI runs it"]
fn the_release_builds_and_checks_every_wheel_from_the_file() {
    let doc = workflow();
    let temp = scratch("runner");
    let temp = temp.to_str().unwrap();
    for name in [
        "Build the wheels",
        "Check the wheels",
        "Check the metadata PyPI reads",
    ] {
        let script = step(&doc, "wheels", name);
        eprintln!("== {name}: {script}");
        let status = Command::new("bash")
            .args(["-eo", "pipefail", "-c", &script])
            .current_dir(root())
            .env("RUNNER_TEMP", temp)
            .status()
            .unwrap();
        assert!(status.success(), "{name}");
    }
    let wheels: Vec<String> = std::fs::read_dir(root().join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl"))
        .collect();
    assert_eq!(wheels.len(), 3, "{wheels:?}");
    let publish = step(
        &doc,
        "crates",
        "Publish (the reference server first, then srpc-check)",
    );
    // Its own target directory: the verify build compiles the packaged reference server as a
    // registry crate, which cargo never rebuilds for changed contents in a target directory
    // that already holds it.
    forget_unpacked_workspace_crates();
    let status = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &format!("{publish} --dry-run")])
        .current_dir(root())
        .env("CARGO_TARGET_DIR", format!("{temp}/publish-target"))
        .status()
        .unwrap();
    forget_unpacked_workspace_crates();
    let _ = std::fs::remove_dir_all(format!("{temp}/publish-target"));
    assert!(status.success(), "{publish} --dry-run");
}
