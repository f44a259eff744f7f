//! A `berth serve --http` child process on a free loopback port, for the
//! runs that drive a real server (the conformance suite, PGO training).

use anyhow::{Context, Result, bail};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running berth; killed when dropped, whatever happened.
pub struct Served {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Served {
    /// Starts `berth serve --http ADDR --plugins DIR` with `env`, and
    /// waits until it listens.
    pub fn start(berth: &Path, plugins: &Path, env: &[(&str, &Path)]) -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut cmd = Command::new(berth);
        cmd.args(["serve", "--http", &addr.to_string(), "--plugins"])
            .arg(plugins)
            .env("BERTH_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", berth.display()))?;
        let mut served = Self { child, addr };
        served.wait_until_listening()?;
        Ok(served)
    }

    /// The Streamable HTTP endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    fn wait_until_listening(&mut self) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("berth exited before listening: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("berth did not listen on {} within 60 s", self.addr)
    }

    /// Asks berth to shut down as on SIGTERM (draining, then exiting
    /// normally) and waits for it.
    pub fn stop(mut self) -> Result<()> {
        super::run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]))?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("berth exited with {status} on SIGTERM");
        }
        Ok(())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
