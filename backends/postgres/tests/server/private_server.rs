//! A PostgreSQL server of the tests' own, for what the shared server cannot show without
//! a change to its configuration: password authentication (the shared server trusts its
//! clients). It is made with the machine's PostgreSQL binaries (`pg_config --bindir`) in a
//! fresh directory under the temp dir, listens on a free loopback port and on a socket in
//! that directory, and is stopped and removed when dropped. initdb refuses to run as root,
//! so under root its commands run as the `postgres` user.
//!
//! [`PrivateServer::start_with_own_ca`] gives it instead a certificate signed by a
//! certificate authority made (with `openssl`) for that server alone, so the `verify-*`
//! modes can be shown to succeed as well as to fail.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Who signs in how: trusted on the socket; over TCP `txkit_clear` with a cleartext
/// password, everyone else with MD5 — which PostgreSQL turns into SCRAM-SHA-256 for a
/// user whose password is stored as SCRAM.
/// `txkit_tls` is let in over TLS only (`hostssl`) and without a password.
const HBA: &str = "local all all trust\n\
                   hostssl all txkit_tls 127.0.0.1/32 trust\n\
                   host all txkit_clear 127.0.0.1/32 password\n\
                   host all all 127.0.0.1/32 md5\n";

/// A running private server; stopped and removed on drop.
pub(crate) struct PrivateServer {
    dir: PathBuf,
    bindir: PathBuf,
    as_postgres: bool,
    /// Its TCP port on 127.0.0.1 (and its socket's number in `dir`).
    pub(crate) port: u16,
    /// Whether it has TLS on: with the machine's self-signed "snakeoil" certificate, whose
    /// key the `postgres` user may read, or with a certificate of its own CA.
    pub(crate) tls: bool,
    /// With [`PrivateServer::start_with_own_ca`]: the CA's certificate (PEM), which signed
    /// the server's certificate for the name `localhost` (and no IP address).
    pub(crate) ca_cert: Option<PathBuf>,
}

const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SNAKEOIL_KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

fn run(as_postgres: bool, program: &std::path::Path, args: &[&str]) -> Result<(), String> {
    let mut command = if as_postgres {
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

impl PrivateServer {
    /// Makes and starts a server. Panics when this machine cannot (no PostgreSQL binaries,
    /// or root without a `postgres` user): the tests that need one assert what it shows.
    pub(crate) fn start() -> Self {
        Self::start_tls(false)
    }

    /// Makes and starts a server whose certificate (for `localhost`) is signed by a CA made
    /// for it alone; see [`PrivateServer::ca_cert`]. Needs `openssl` on the PATH.
    #[cfg(feature = "tls")]
    pub(crate) fn start_with_own_ca() -> Self {
        Self::start_tls(true)
    }

    fn start_tls(own_ca: bool) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .expect("pg_config --bindir names the PostgreSQL binaries (package postgresql)");
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = std::env::temp_dir().join(format!(
            "txkit-pg-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let tls = own_ca
            || (as_postgres
                && std::path::Path::new(SNAKEOIL_CERT).exists()
                && std::path::Path::new(SNAKEOIL_KEY).exists());
        let ca_cert = own_ca.then(|| dir.join("tls").join("ca.crt"));
        let server = Self {
            dir,
            bindir,
            as_postgres,
            port,
            tls,
            ca_cert,
        };
        server
            .make()
            .unwrap_or_else(|e| panic!("starting a private PostgreSQL: {e}"));
        server
    }

    fn make(&self) -> Result<(), String> {
        let data = self.dir.join("data");
        let dir = self.dir.to_string_lossy().into_owned();
        let data_arg = data.to_string_lossy().into_owned();
        run(
            self.as_postgres,
            std::path::Path::new("mkdir"),
            &["-p", &dir],
        )?;
        run(
            self.as_postgres,
            &self.bindir.join("initdb"),
            &["-D", &data_arg, "-U", "postgres", "-E", "UTF8", "--no-sync"],
        )?;
        // Rewritten in place, so it keeps initdb's owner.
        std::fs::write(data.join("pg_hba.conf"), HBA).map_err(|e| e.to_string())?;
        let mut options = format!(
            "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port
        );
        if self.ca_cert.is_some() {
            let tls = self.make_own_ca()?;
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={tls}/server.crt -c ssl_key_file={tls}/server.key"
            ));
        } else if self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={SNAKEOIL_CERT} -c ssl_key_file={SNAKEOIL_KEY}"
            ));
        }
        let log = self.dir.join("log").to_string_lossy().into_owned();
        run(
            self.as_postgres,
            &self.bindir.join("pg_ctl"),
            &[
                "-D", &data_arg, "-w", "-t", "60", "-l", &log, "-o", &options, "start",
            ],
        )
    }

    /// Makes `<dir>/tls`: a CA (`ca.crt`) and the server's key and certificate it signed
    /// (`server.key`, `server.crt`, for DNS name `localhost` only), owned by whoever runs
    /// the server, the key readable by it alone as PostgreSQL demands. Returns the folder.
    fn make_own_ca(&self) -> Result<String, String> {
        let tls = self.dir.join("tls").to_string_lossy().into_owned();
        let openssl = std::path::Path::new("openssl");
        let file = |name: &str| format!("{tls}/{name}");
        run(
            self.as_postgres,
            std::path::Path::new("mkdir"),
            &["-p", &tls],
        )?;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let (ca_key, ca_crt) = (file("ca.key"), file("ca.crt"));
        let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=txkit test CA"];
        ca.extend(ec);
        ca.extend(["-keyout", &ca_key, "-out", &ca_crt]);
        ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
        ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        run(self.as_postgres, openssl, &ca)?;
        let (key, csr, crt, ext) = (
            file("server.key"),
            file("server.csr"),
            file("server.crt"),
            file("server.ext"),
        );
        let mut request = vec!["req", "-subj", "/CN=localhost"];
        request.extend(ec);
        request.extend(["-keyout", &key, "-out", &csr]);
        run(self.as_postgres, openssl, &request)?;
        std::fs::write(
            &ext,
            "subjectAltName = DNS:localhost\nbasicConstraints = CA:FALSE\n\
             extendedKeyUsage = serverAuth\n",
        )
        .map_err(|e| e.to_string())?;
        run(
            self.as_postgres,
            openssl,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &csr,
                "-CA",
                &ca_crt,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        )?;
        run(
            self.as_postgres,
            std::path::Path::new("chmod"),
            &["600", &key, &ca_key],
        )?;
        Ok(tls)
    }

    /// The socket directory (trusted).
    pub(crate) fn socket_dir(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let stopped = run(
            self.as_postgres,
            &self.bindir.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
        if let Err(e) = stopped {
            eprintln!("stopping the private PostgreSQL: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
