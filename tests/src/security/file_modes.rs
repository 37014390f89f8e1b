//! A new SQLite database and its -wal and -shm files are mode 0600 under umask 022, for
//! txkit's SQLite backend and for `sea-orm+sqlite://` URLs. The umask is process-wide, so
//! the test re-runs itself (this one test, `--exact`) in a child process started through
//! `sh -c 'umask 022; exec …'`: no unsafe `umask` call in the test process, and the other
//! tests' files are unaffected. The child (marked by an environment variable) creates the
//! databases, writes so the WAL files exist, and prints each file's mode; the parent checks
//! them and prints the RELIABILITY line.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const CHILD_DIR: &str = "TXKIT_SECURITY_FILE_MODES_DIR";
const TEST_NAME: &str = "security::file_modes::sqlite_files_are_private_under_umask_022";

#[test]
fn sqlite_files_are_private_under_umask_022() {
    match std::env::var(CHILD_DIR) {
        Ok(dir) => child(std::path::Path::new(&dir)),
        Err(_) => parent(),
    }
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(&exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modes: Vec<(String, u32)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("MODE "))
        .map(|l| {
            let (file, mode) = l.rsplit_once(' ').unwrap();
            (file.to_owned(), u32::from_str_radix(mode, 8).unwrap())
        })
        .collect();
    let umask = stdout
        .lines()
        .find_map(|l| l.strip_prefix("UMASK "))
        .expect("child umask");
    assert_eq!(umask, "0022", "the child did not run under umask 022");
    assert_eq!(modes.len(), 6, "three files per URL: {stdout}");
    let wrong: Vec<_> = modes.iter().filter(|(_, m)| *m != 0o600).collect();
    println!(
        "RELIABILITY security sqlite-file-modes umask=0022 files={} private={} wrong={wrong:?}",
        modes.len(),
        modes.len() - wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "files not 0600 under umask 022: {wrong:?}"
    );
}

fn child(dir: &std::path::Path) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .unwrap()
        .trim()
        .to_owned();
    println!("\nUMASK {umask}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for (label, scheme) in [("txkit", "sqlite"), ("sea-orm", "sea-orm+sqlite")] {
            let file = dir.join(format!("{label}.db"));
            let url = format!("{scheme}://{}", file.display());
            let engine = txkit::Engine::connect(&url).await.unwrap();
            engine
                .execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", &[])
                .await
                .unwrap();
            engine
                .execute("INSERT INTO t (v) VALUES (1)", &[])
                .await
                .unwrap();
            // The engine is open: the -wal and -shm files exist now.
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", file.display());
                let mode = std::fs::metadata(&path)
                    .unwrap_or_else(|e| panic!("{path}: {e}"))
                    .permissions()
                    .mode()
                    & 0o777;
                println!("\nMODE {label}:{suffix} {mode:o}");
            }
            engine.close().await;
        }
    });
}
