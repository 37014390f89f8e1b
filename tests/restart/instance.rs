//! Private, throw-away server instances (PostgreSQL, MariaDB) that a test may restart
//! without disturbing the shared servers. Each lives in a temporary directory on a free
//! port of 127.0.0.1; dropping the guard stops the server and removes the directory, also
//! when the test panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server the restart test can drive.
pub trait Instance {
    /// `postgres` or `mysql`, for the report.
    fn name(&self) -> &'static str;
    /// A URL for the superuser.
    fn url(&self) -> String;
    /// Stops the server cleanly and starts it again on the same port (blocking).
    fn restart(&mut self);
}

/// Whether the test runs as root (servers must then be told which user to run as).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits (bounded) until something accepts TCP connections on `port`.
fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A private PostgreSQL cluster (`initdb`, `pg_ctl`).
pub struct PgInstance {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    root: bool,
}

impl PgInstance {
    /// The directory of PostgreSQL's server programs, if they are installed.
    pub fn bin_dir() -> Option<PathBuf> {
        let from_pg_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        from_pg_config
            .into_iter()
            .chain([PathBuf::from("/usr/lib/postgresql/15/bin")])
            .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    }

    /// Makes and starts a cluster (superuser `postgres`, trust authentication).
    pub fn start(bin: PathBuf) -> PgInstance {
        let dir = tempfile::tempdir().unwrap();
        let root = is_root();
        if root {
            // initdb and postgres refuse to run as root: the cluster belongs to postgres.
            run(
                Command::new("chown").arg("postgres:").arg(dir.path()),
                "chown",
            );
        }
        let inst = PgInstance {
            port: free_port(),
            dir,
            bin,
            root,
        };
        let data = inst.data();
        run(
            inst.pg("initdb")
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(&data),
            "initdb",
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            inst.port,
            inst.dir.path().display()
        );
        run(
            inst.pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &opts, "-l"])
                .arg(inst.log())
                .args(["-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
        inst
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }
}

impl Instance for PgInstance {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn restart(&mut self) {
        run(
            self.pg("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-l"])
                .arg(self.log())
                .args(["-w", "-t", "60", "restart"]),
            "pg_ctl restart",
        );
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The TempDir removes the directory.
    }
}

/// A private MariaDB server (`mariadb-install-db`, `mariadbd`), without grant tables.
pub struct MariaInstance {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// Server options beyond the usual ones, kept across restarts.
    extra: Vec<String>,
}

impl MariaInstance {
    /// Whether the MariaDB server programs are installed.
    pub fn available() -> bool {
        ["mariadbd", "mariadb-install-db", "mariadb-admin", "mariadb"]
            .iter()
            .all(|p| which(p).is_some())
    }

    /// Installs a data directory and starts the server.
    pub fn start() -> MariaInstance {
        Self::start_with(&[])
    }

    /// [`start`](Self::start), with `extra` server options (`--name=value`).
    pub fn start_with(extra: &[&str]) -> MariaInstance {
        let dir = tempfile::tempdir().unwrap();
        // Temporary tables of its own: two bootstraps sharing /tmp were seen to trip over
        // each other's (`Could not remove temporary table '/tmp/#sql-temptable-…'`).
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut install = program("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .env("TMPDIR", &tmp);
        if is_root() {
            install.arg("--user=root");
        }
        // One install at a time in this process, for the same reason.
        static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        {
            let _one = INSTALLING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            run(&mut install, "mariadb-install-db");
        }
        let mut inst = MariaInstance {
            dir,
            port: free_port(),
            child: None,
            extra: extra.iter().map(|o| (*o).to_owned()).collect(),
        };
        inst.spawn();
        run(
            program("mariadb")
                .arg("--no-defaults")
                .arg("-uroot")
                .arg(format!("--socket={}", inst.path("sock").display()))
                .args(["-e", "CREATE DATABASE faults"]),
            "CREATE DATABASE",
        );
        inst
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spawn(&mut self) {
        let mut cmd = program("mariadbd");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.path("data").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", self.path("sock").display()))
            .arg(format!("--pid-file={}", self.path("pid").display()))
            .arg(format!("--log-error={}", self.path("err.log").display()))
            .arg(format!("--tmpdir={}", self.path("tmp").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            cmd.arg("--user=root");
        }
        self.child = Some(cmd.spawn().expect("mariadbd"));
        wait_listening(self.port, "mariadbd");
    }
}

/// A command for `name`, found on PATH or in the usual system directories.
fn program(name: &str) -> Command {
    Command::new(which(name).unwrap_or_else(|| PathBuf::from(name)))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(program))
        .find(|p| Path::new(p).exists())
}

impl Instance for MariaInstance {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/faults", self.port)
    }

    fn restart(&mut self) {
        run(
            program("mariadb-admin")
                .arg("--no-defaults")
                .arg("-uroot")
                .arg(format!("--socket={}", self.path("sock").display()))
                .arg("shutdown"),
            "mariadb-admin shutdown",
        );
        if let Some(mut child) = self.child.take() {
            child.wait().unwrap();
        }
        self.spawn();
    }
}

impl Drop for MariaInstance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
