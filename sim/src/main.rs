//! `atlas-network-peering-sim`: the simulator as a server of its own, for any client.
//!
//! ```text
//! atlas-network-peering-sim [--port N] [--time-scale F] [--auto-accept SECS]
//!     [--credentials api-key|service-account] [--request-timeout SECS]
//!     [--max-connections N] [--max-peers N]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use atlas_network_peering_sim::{Simulator, Timings};

const USAGE: &str = "usage: atlas-network-peering-sim [options]

  --port N              listen on 127.0.0.1:N (default 0: a free port, printed)
  --time-scale F        the clock runs F simulated seconds per real second (default 1)
  --auto-accept SECS    the customer accepts a pending peering SECS simulated seconds after it
                        starts waiting (default: never; accept it with the HTTP controls)
  --credentials KIND    which credentials to print: api-key (default) or service-account
  --request-timeout S   a request's head and body must arrive within S seconds, and an idle
                        connection closes after S seconds (default 10)
  --max-connections N   connections served at once (default 256)
  --max-peers N         peerings one container may have (default 125)

It prints `export NAME=value` lines for a shell (MONGODB_ATLAS_BASE_URL, one credential set,
MONGODB_ATLAS_GROUP_ID last), then serves until Ctrl-C. Controls: /__sim/ (see the README).";

struct Options {
    port: u16,
    time_scale: f64,
    auto_accept: Option<Duration>,
    service_account: bool,
    request_timeout: Duration,
    max_connections: usize,
    max_peers: usize,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        time_scale: 1.0,
        auto_accept: None,
        service_account: false,
        request_timeout: Duration::from_secs(10),
        max_connections: 256,
        max_peers: 125,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let count = |name: &str, v: String| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}: `{v}` is not a positive whole number"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value("--port")?;
                options.port = v
                    .parse()
                    .map_err(|_| format!("--port: `{v}` is not a port"))?;
            }
            "--time-scale" => {
                let v = value("--time-scale")?;
                options.time_scale = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--time-scale: `{v}` is not a positive number"))?;
            }
            "--auto-accept" => {
                let v = value("--auto-accept")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--auto-accept: `{v}` is not a number of seconds"))?;
                options.auto_accept = Some(Duration::from_secs(secs));
            }
            "--credentials" => {
                options.service_account = match value("--credentials")?.as_str() {
                    "api-key" => false,
                    "service-account" => true,
                    other => {
                        return Err(format!(
                            "--credentials: `{other}` is not api-key or service-account"
                        ));
                    }
                };
            }
            "--request-timeout" => {
                let v = value("--request-timeout")?;
                let secs = count("--request-timeout", v)?;
                options.request_timeout = Duration::from_secs(secs as u64);
            }
            "--max-connections" => {
                options.max_connections = count("--max-connections", value("--max-connections")?)?;
            }
            "--max-peers" => options.max_peers = count("--max-peers", value("--max-peers")?)?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(why) if why.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("atlas-network-peering-sim: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Simulator::builder()
        .port(options.port)
        .time_scale(options.time_scale)
        .timings(Timings {
            auto_accept: options.auto_accept,
            ..Timings::default()
        })
        .request_timeout(options.request_timeout)
        .max_connections(options.max_connections)
        .max_peers(options.max_peers)
        .start()
        .await;
    let sim = match started {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "atlas-network-peering-sim: cannot listen on 127.0.0.1:{}: {e}",
                options.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "# A local Atlas for network peering; Ctrl-C stops it. Controls: {}/__sim/",
        sim.base_url()
    );
    println!("export MONGODB_ATLAS_BASE_URL={}", sim.base_url());
    if options.service_account {
        println!("export MONGODB_ATLAS_CLIENT_ID={}", sim.client_id());
        println!("export MONGODB_ATLAS_CLIENT_SECRET={}", sim.client_secret());
    } else {
        println!("export MONGODB_ATLAS_PUBLIC_API_KEY={}", sim.public_key());
        println!("export MONGODB_ATLAS_PRIVATE_API_KEY={}", sim.private_key());
    }
    println!("export MONGODB_ATLAS_GROUP_ID={}", sim.project_id());
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
