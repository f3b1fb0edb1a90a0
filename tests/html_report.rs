//! The class report, opened in a real headless browser (Chromium from the system packages):
//! what is on the page, a failure opened from the matrix, and a screenshot.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn chromium() -> PathBuf {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("this test needs Chromium: apt-get install chromium (./test.sh installs it)")
}

/// Runs headless Chromium with `args` on `url`; its stdout. Killed (by PID) after a minute.
fn browse(profile: &Path, args: &[&str], url: &str) -> String {
    // A file, not a pipe: a large page would fill a pipe nobody reads while we wait.
    let stdout = profile.with_extension("stdout");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    String::from_utf8_lossy(&std::fs::read(&stdout).unwrap()).into_owned()
}

#[test]
fn the_class_report_shows_the_matrix_distribution_and_failures_in_a_browser() {
    let class = Class::new("html");
    let tok = format!("srpc-html-test-{}", std::process::id());
    class.add("alice-good", json!({"bug": "none"}));
    class.add("bob-crashes", json!({"bug": "broken-pipe"}));
    class.add("carol-be", json!({"bug": "be-error"}));
    class.grade(&tok, &[]).success();
    let html = class.out().join("report.html");

    // The failure to open: bob's first case whose server crashed.
    let report = class.json("bob-crashes", "report.json");
    let crashed = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t.get("server").is_some())
        .expect("bob's server crashed on some case")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let anchor = format!("s-bob-crashes--{}", crashed.replace('/', "-"));
    let url = format!("file://{}#{anchor}", html.display());
    let profile = class.root.join("chromium-profile");

    let dom = browse(&profile, &["--dump-dom"], &url);
    assert!(
        dom.contains("<h2 id=\"distribution\">Score distribution</h2>"),
        "{dom}"
    );
    // The page opens with the bugs in the class, one row per finding, with who has it.
    let bugs = &dom[dom.find("Bugs in this class").expect("the bugs section")..];
    let bugs = &bugs[..bugs.find("</table>").unwrap()];
    assert!(
        dom.find("Bugs in this class") < dom.find("Score distribution"),
        "the bugs come first"
    );
    assert_eq!(
        bugs.matches("<code>crash-when-client-leaves</code>")
            .count(),
        1,
        "{bugs}"
    );
    let row = &bugs[bugs.find("<code>crash-when-client-leaves</code>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(">bob-crashes</a>"), "{row}");
    assert!(!row.contains("alice-good"), "{row}");
    assert!(bugs.contains("<code>reply-big-endian</code>"), "{bugs}");
    // Matrix cells name their finding.
    assert!(dom.contains("data-finding=\"crash-when-client-leaves\""));
    for name in ["alice-good", "bob-crashes", "carol-be"] {
        assert!(
            dom.contains(&format!(">{name}</a>")),
            "{name} in the matrix"
        );
    }
    // 55 case columns in the matrix header.
    assert_eq!(dom.matches("<th class=\"v\"").count(), 55);
    // The script opened the student's section and the failure the link points at.
    let opened = format!("id=\"{anchor}\" open=\"\"");
    assert!(
        dom.contains(&opened),
        "the failure was not opened: {opened}"
    );
    assert!(dom.contains("id=\"s-bob-crashes\" open=\"\""));
    // The student's findings come before their cases.
    let student = &dom[dom.find("id=\"s-bob-crashes\" open=\"\"").unwrap()..];
    assert!(
        student.find("<ul class=\"findings\">") < student.find("<details class=\"failure\""),
        "findings first"
    );
    // Inside it: the cause, the bytes, the traceback and a reproducer.
    let section = &dom[dom.find(&opened).unwrap()..];
    let section = &section[..section.find("</details>").unwrap()];
    assert!(section.contains("likely cause:"), "{section}");
    assert!(section.contains("BrokenPipeError"), "{section}");
    assert!(section.contains("0000  "), "a hex dump: {section}");
    assert!(section.contains("reproducer:"), "{section}");
    // Closed sections stay closed.
    assert!(!dom.contains("id=\"s-alice-good\" open"));

    // The top of the page: the bugs in the class, the distribution and the matrix.
    let shot = class.root.join("report.png");
    browse(
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1600",
        ],
        &format!("file://{}", html.display()),
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1400, 1600));
    // Kept for a person to look at.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    std::fs::copy(&shot, keep).unwrap();
    // A blank page compresses to almost nothing; the report does not.
    assert!(png.len() > 40_000, "{} bytes", png.len());
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}
