//! The `rnatsd` binary: flags, config, logging, then the server.

use rnatsd::config::options::{Options, NATS_VERSION, RNATSD_VERSION};
use rnatsd::config::{self, flags};
use rnatsd::log;
use rnatsd::process::signals;
use std::process::ExitCode;

/// Pins glibc malloc's mmap threshold at its initial 128 KiB. By default
/// glibc raises the threshold each time a large mmapped block is freed, so
/// later large buffers (outbound bursts) come from the heap and their pages
/// stay with the process after the burst: RSS then climbs in steps under
/// bursty load. With the threshold fixed, large buffers are mmapped and
/// returned to the system when freed. glibc's own `MALLOC_MMAP_THRESHOLD_`
/// environment variable, when set, is left in charge.
fn pin_malloc_thresholds() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

fn main() -> ExitCode {
    pin_malloc_thresholds();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let f = match flags::parse(&args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{}", flags::USAGE);
            return ExitCode::from(2);
        }
    };
    if f.is_set("help") {
        println!("{}", flags::USAGE);
        return ExitCode::SUCCESS;
    }
    if f.is_set("version") {
        println!("nats-server: v{NATS_VERSION}");
        println!("rnatsd: v{RNATSD_VERSION}");
        return ExitCode::SUCCESS;
    }
    if f.is_set("healthcheck") {
        return rnatsd::process::health::run(f.rest.first().map(String::as_str));
    }
    let mut opts = match f.get("config") {
        Some(path) => match if f.is_set("test") {
            // `-t` rejects warnings and skips the start-up checks, as nats-server.
            config::load_checked(std::path::Path::new(path))
        } else {
            config::load(std::path::Path::new(path))
        } {
            Ok(o) => o,
            Err(e) => {
                eprintln!("rnatsd: {e}");
                return ExitCode::from(1);
            }
        },
        None => Options::default(),
    };
    if let Err(e) = opts.apply_flags(&f) {
        eprintln!("rnatsd: {e}");
        return ExitCode::from(1);
    }
    rnatsd::process::reload::set_cli_flags(f.clone());
    if let Some(cmd) = f.get("signal") {
        return match signals::send(cmd, opts.pid_file.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rnatsd: {e}");
                ExitCode::from(1)
            }
        };
    }
    if f.is_set("test") {
        match f.get("config") {
            Some(path) => eprintln!(
                "rnatsd: configuration file {path} is valid ({})",
                opts.config_digest
            ),
            None => {
                eprintln!(
                    "rnatsd: must specify [-c, --config] option to check configuration file syntax"
                );
                return ExitCode::from(1);
            }
        }
        return ExitCode::SUCCESS;
    }
    let log_cfg = log::LogConfig {
        debug: opts.debug,
        trace: opts.trace,
        logtime: opts.logtime,
        file: opts.log_file.clone(),
    };
    if let Err(e) = log::configure(&log_cfg) {
        eprintln!("rnatsd: cannot open log file: {e}");
        return ExitCode::from(1);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rnatsd: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(rnatsd::serve(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
