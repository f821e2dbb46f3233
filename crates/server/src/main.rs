//! The `rnatsd` binary: flags, config, logging, then the server.

use rnatsd::options::{Options, NATS_VERSION, RNATSD_VERSION};
use rnatsd::{config, flags, log, signals};
use std::process::ExitCode;

fn main() -> ExitCode {
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
        return rnatsd::health::run(f.rest.first().map(String::as_str));
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
    rnatsd::reload::set_cli_flags(f.clone());
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
            Some(path) => println!("rnatsd: configuration file {path} is valid"),
            None => println!("rnatsd: no configuration file given; defaults are valid"),
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
