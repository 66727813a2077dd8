//! `atlas-network-peering-sim`: the simulator as a server of its own, for any client.
//!
//! ```text
//! cargo run -p atlas-network-peering-sim -- [--port N] [--time-scale F] [--auto-accept SECS]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use atlas_network_peering_sim::{Simulator, Timings};

const USAGE: &str =
    "usage: atlas-network-peering-sim [--port N] [--time-scale F] [--auto-accept SECS]

  --port N            listen on 127.0.0.1:N (default: a free port)
  --time-scale F      the clock runs F simulated seconds per real second (default 1)
  --auto-accept SECS  the customer accepts a pending peering SECS simulated seconds after it
                      starts waiting (default: never; the peering stays pending)";

struct Options {
    port: u16,
    time_scale: f64,
    auto_accept: Option<Duration>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        time_scale: 1.0,
        auto_accept: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
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
    println!("# A local Atlas for network peering. Use these settings; Ctrl-C stops it.");
    print!("{}", sim.env());
    println!("MONGODB_ATLAS_CLIENT_ID={}", sim.client_id());
    println!("MONGODB_ATLAS_CLIENT_SECRET={}", sim.client_secret());
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
