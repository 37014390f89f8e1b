//! A PostgreSQL primary and a hot standby of the tests' own, streaming from it: made with
//! the machine's PostgreSQL binaries (`pg_config --bindir`) in a fresh directory under the
//! temp dir, on free loopback ports, both stopped (by `pg_ctl`, with their PIDs' files) and
//! removed when dropped. initdb refuses to run as root, so under root the commands run as
//! the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Trust on loopback, replication included: the servers live only as long as one test.
const HBA: &str = "local all all trust\n\
                   host all all 127.0.0.1/32 trust\n\
                   host replication all 127.0.0.1/32 trust\n";

/// A running primary and standby.
pub(crate) struct ReplicaSet {
    dir: PathBuf,
    bindir: PathBuf,
    as_postgres: bool,
    /// The primary's port on 127.0.0.1.
    pub(crate) primary: u16,
    /// The standby's port on 127.0.0.1.
    pub(crate) standby: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl ReplicaSet {
    /// Makes both servers and waits until the standby answers in recovery. Panics when
    /// this machine cannot (no PostgreSQL binaries): the tests that need it assert what it
    /// shows.
    pub(crate) fn start() -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .expect("pg_config --bindir names the PostgreSQL binaries (package postgresql)");
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let set = Self {
            dir: std::env::temp_dir().join(format!(
                "txkit-replicas-{}-{}",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::Relaxed)
            )),
            bindir,
            as_postgres: String::from_utf8_lossy(&uid.stdout).trim() == "0",
            primary: free_port(),
            standby: free_port(),
        };
        set.make()
            .unwrap_or_else(|e| panic!("starting a primary and a standby: {e}"));
        set
    }

    fn run(&self, program: &Path, args: &[&str]) -> Result<(), String> {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        let out = command
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} {args:?}: {}{}",
                program.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn data(&self, which: &str) -> String {
        self.dir.join(which).to_string_lossy().into_owned()
    }

    fn pg_ctl(&self, which: &str, args: &[&str]) -> Result<(), String> {
        let data = self.data(which);
        let mut all = vec!["-D", data.as_str()];
        all.extend(args);
        self.run(&self.bindir.join("pg_ctl"), &all)
    }

    fn start_server(&self, which: &str, port: u16) -> Result<(), String> {
        let dir = self.dir.to_string_lossy().into_owned();
        let options = format!("-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = self.dir.join(format!("{which}.log"));
        let log = log.to_string_lossy().into_owned();
        self.pg_ctl(
            which,
            &["-w", "-t", "60", "-l", &log, "-o", &options, "start"],
        )
    }

    fn make(&self) -> Result<(), String> {
        let dir = self.dir.to_string_lossy().into_owned();
        self.run(Path::new("mkdir"), &["-p", &dir])?;
        let primary = self.data("primary");
        self.run(
            &self.bindir.join("initdb"),
            &["-D", &primary, "-U", "postgres", "-E", "UTF8", "--no-sync"],
        )?;
        // Rewritten in place, so it keeps initdb's owner.
        std::fs::write(Path::new(&primary).join("pg_hba.conf"), HBA).map_err(|e| e.to_string())?;
        self.start_server("primary", self.primary)?;
        let port = self.primary.to_string();
        self.run(
            &self.bindir.join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &self.data("standby"),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        )?;
        self.start_server("standby", self.standby)?;
        Ok(())
    }

    /// The URL of the server on `port`, database `postgres`.
    pub(crate) fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    /// Stops the primary at once (`pg_ctl stop -m immediate`: a crash, as a killed
    /// postmaster) and promotes the standby, waiting until it takes writes.
    pub(crate) fn fail_over(&self) {
        self.pg_ctl("primary", &["-m", "immediate", "-w", "stop"])
            .expect("stopping the primary");
        self.pg_ctl("standby", &["-w", "-t", "60", "promote"])
            .expect("promoting the standby");
    }
}

impl Drop for ReplicaSet {
    fn drop(&mut self) {
        for which in ["standby", "primary"] {
            // The primary may be down already (fail_over).
            let _ = self.pg_ctl(which, &["-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
