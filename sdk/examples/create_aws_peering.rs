//! Peers a project with an AWS VPC: finds the project's AWS container in a region (or creates
//! one), requests a peering connection with the VPC, and waits until it is AVAILABLE.
//!
//! ```sh
//! # Against the local mock (no credentials in the environment):
//! cargo run -p atlas-network-peering --example create_aws_peering
//!
//! # Against Atlas: prints the plan and changes nothing ...
//! cargo run -p atlas-network-peering --example create_aws_peering -- \
//!     --atlas-region EU_CENTRAL_1 --atlas-cidr 10.12.0.0/21 \
//!     --aws-account-id 730418265093 --vpc-id vpc-0b7d19e4c2a86f351 \
//!     --vpc-region eu-west-1 --route-table-cidr 172.20.0.0/16
//! # ... until `--yes` is added (or ATLAS_EXAMPLE_CONFIRM=yes is set). This creates real
//! # resources: a container (if the region has none) and a peering connection.
//! ```
//!
//! With `MONGODB_ATLAS_*` credentials and `MONGODB_ATLAS_GROUP_ID` in the environment it works
//! on that project. Otherwise it starts a local mock that answers with the recorded exchanges
//! of `fixtures/`, using the values recorded there.
//!
//! After the request, AWS shows the peering connection in the VPC's account as a request to
//! accept (VPC console, Peering connections); Atlas reports it `PENDING_ACCEPTANCE` (the sdk's
//! `PeerStatus::WaitingForUser`) until someone does, and the wait times out if nobody does.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use atlas_network_peering::models::{Container, Peer, PeerStatus};
use atlas_network_peering::pagination::{ClientPaginationExt, MAX_ITEMS_PER_PAGE, Paging};
use atlas_network_peering::types::{
    ApiErrorCode, AwsContainer, AwsContainerProviderName, AwsPeer, AwsPeerProviderName, AwsRegion,
    CloudProvider,
};
use atlas_network_peering::waiter::{WaitError, WaitOptions, WaiterExt};
use futures_util::StreamExt;
use serde_json::Value;
use support::{BoxError, Fixture, LocalMock, Session};

/// What to create. Against the mock, the values of the recorded exchanges.
#[derive(Debug)]
struct Plan {
    /// The Atlas region of the container (Atlas's spelling: `EU_CENTRAL_1`).
    atlas_region: AwsRegion,
    /// The container's address block, used only when the region has no container yet.
    atlas_cidr: String,
    /// The 12-digit account that owns the VPC.
    aws_account_id: String,
    /// The VPC to peer with.
    vpc_id: String,
    /// The VPC's region in AWS's spelling (`eu-west-1`); `None` when it is the container's.
    vpc_region: Option<String>,
    /// The VPC's address block (or the subnet of it that should reach Atlas).
    route_table_cidr: String,
}

impl Plan {
    /// The plan of the recorded exchanges: the Frankfurt container of the imaginary project,
    /// peered with a VPC in eu-west-1.
    fn recorded() -> Self {
        Self {
            atlas_region: AwsRegion::EuCentral1,
            atlas_cidr: "10.12.0.0/21".into(),
            aws_account_id: "730418265093".into(),
            vpc_id: "vpc-0b7d19e4c2a86f351".into(),
            vpc_region: Some("eu-west-1".into()),
            route_table_cidr: "172.20.0.0/16".into(),
        }
    }

    fn print(&self, project: &str) {
        println!("Plan for project {project}:");
        println!(
            "  1. use the project's AWS container in {}, or create one with {}",
            self.atlas_region, self.atlas_cidr
        );
        println!(
            "  2. request a peering connection with {} of AWS account {} ({}), \
             route table {}",
            self.vpc_id,
            self.aws_account_id,
            self.vpc_region
                .as_deref()
                .unwrap_or("the container's region"),
            self.route_table_cidr
        );
        println!("  3. wait until Atlas reports it AVAILABLE\n");
    }
}

/// The command line: `--yes` and `--name value` pairs.
struct Args {
    yes: bool,
    values: Vec<(String, String)>,
}

impl Args {
    fn parse() -> Result<Self, BoxError> {
        let mut yes = std::env::var("ATLAS_EXAMPLE_CONFIRM").is_ok_and(|v| v == "yes");
        let mut values = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--yes" => yes = true,
                "--help" | "-h" => return Err(USAGE.into()),
                name if name.starts_with("--") => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))?;
                    values.push((name.trim_start_matches("--").to_owned(), value));
                }
                other => return Err(format!("unexpected argument {other:?}\n\n{USAGE}").into()),
            }
        }
        Ok(Self { yes, values })
    }

    fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// The plan the arguments describe; the recorded values fill in what is not given when
    /// `defaults` is set (the mock), otherwise every value but `--vpc-region` is required.
    fn plan(&self, defaults: bool) -> Result<Plan, BoxError> {
        let recorded = Plan::recorded();
        let required = |name: &str, fallback: String| -> Result<String, BoxError> {
            match self.get(name) {
                Some(value) => Ok(value),
                None if defaults => Ok(fallback),
                None => Err(format!("--{name} is required against Atlas\n\n{USAGE}").into()),
            }
        };
        let region = required("atlas-region", recorded.atlas_region.to_string())?;
        Ok(Plan {
            // An open enum: a region this sdk does not list is still sent as given.
            atlas_region: AwsRegion::from(region.as_str()),
            atlas_cidr: required("atlas-cidr", recorded.atlas_cidr)?,
            aws_account_id: required("aws-account-id", recorded.aws_account_id)?,
            vpc_id: required("vpc-id", recorded.vpc_id)?,
            vpc_region: match self.get("vpc-region") {
                Some(region) => Some(region),
                None if defaults => recorded.vpc_region,
                None => None,
            },
            route_table_cidr: required("route-table-cidr", recorded.route_table_cidr)?,
        })
    }
}

const USAGE: &str = "usage: cargo run -p atlas-network-peering --example create_aws_peering -- [--yes] \
--atlas-region EU_CENTRAL_1 --atlas-cidr 10.12.0.0/21 --aws-account-id 123456789012 \
--vpc-id vpc-... [--vpc-region eu-west-1] --route-table-cidr 172.20.0.0/16";

/// The recorded peering connection, `66011a4c...` of the imaginary project.
const RECORDED_PEER_PATH: &str =
    "/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/peers/66011a4c8e3b7d2f5a9c0e61";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let args = Args::parse()?;
    let session = match support::atlas_from_env() {
        Ok(session) => session,
        Err(why) => local_mock(&why).await?,
    };
    let plan = args.plan(session.is_mock())?;
    plan.print(&session.group_id);

    if !session.is_mock() && !args.yes {
        let existing = find_container(&session, &plan.atlas_region).await?;
        match existing {
            Some(id) => println!("Step 1 would reuse container {id}."),
            None => println!("Step 1 would create a container: the region has none."),
        }
        println!(
            "Nothing was changed. Run again with --yes (or ATLAS_EXAMPLE_CONFIRM=yes) to \
             create these resources on Atlas."
        );
        return Ok(());
    }

    let wait = if session.is_mock() {
        // The mock answers at once; no need for Atlas's pace.
        WaitOptions::new()
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(400))
            .with_timeout(Duration::from_secs(10))
    } else {
        // Polls after 5 s, then 10, 20, 40, 60, 60, ... for at most 30 minutes.
        WaitOptions::new()
    };
    create_aws_peering(&session, &plan, wait).await?;
    session.finish();
    Ok(())
}

/// A local mock for this example: the recorded listing of AWS containers and the recorded
/// peering request. The fixtures hold no poll of the new connection, but they record its two
/// states, `INITIATING` (the answer to the request) and `AVAILABLE` (in the listing of AWS
/// peers), so the mock answers the waiter's polls with those two bodies, in that order.
async fn local_mock(why: &str) -> Result<Session, BoxError> {
    let mock = LocalMock::start().await;
    mock.replay("list_containers/aws_200").await?;
    mock.replay("create_container/aws_200").await?;
    mock.replay("create_peer/aws_200").await?;

    let initiating: Value = Fixture::load("create_peer/aws_200")?.response_body()?;
    let listing: Value = Fixture::load("list_peers/aws_200")?.response_body()?;
    let available = listing["results"]
        .as_array()
        .and_then(|peers| {
            peers
                .iter()
                .find(|p| RECORDED_PEER_PATH.ends_with(p["id"].as_str().unwrap_or("-")))
        })
        .cloned()
        .ok_or("list_peers/aws_200 no longer holds the recorded connection")?;
    mock.server
        .mock_async(|when, then| {
            when.method("GET").path(RECORDED_PEER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(initiating)
                .up_to_n_times(1);
        })
        .await;
    mock.server
        .mock_async(|when, then| {
            when.method("GET").path(RECORDED_PEER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(available);
        })
        .await;
    mock.into_session(why).await
}

async fn create_aws_peering(
    session: &Session,
    plan: &Plan,
    wait: WaitOptions,
) -> Result<(), BoxError> {
    let client = &session.client;
    let project = session.group_id.as_str();

    // 1. A project has at most one AWS container per region: reuse it, or create it.
    let container_id = match find_container(session, &plan.atlas_region).await? {
        Some(id) => {
            println!("1. Reusing AWS container {id} in {}.", plan.atlas_region);
            id
        }
        None => {
            let request = Container::Aws(AwsContainer {
                atlas_cidr_block: plan.atlas_cidr.clone(),
                region_name: plan.atlas_region.clone(),
                provider_name: Some(AwsContainerProviderName::Aws),
                // Read-only fields: Atlas fills them in.
                id: None,
                provisioned: None,
                vpc_id: None,
            });
            let created = client
                .create_container()
                .group_id(project)
                .body(request)
                .send()
                .await?;
            let id = created
                .id()
                .ok_or("Atlas answered without the container's id")?
                .to_owned();
            println!(
                "1. Created AWS container {id} in {} with {}.",
                plan.atlas_region, plan.atlas_cidr
            );
            id
        }
    };

    // 2. Request the peering connection. If this VPC is already peered, carry on with that one.
    let request = Peer::Aws(AwsPeer {
        container_id: container_id.parse()?,
        aws_account_id: plan.aws_account_id.parse()?,
        vpc_id: plan.vpc_id.clone(),
        accepter_region_name: plan.vpc_region.clone(),
        route_table_cidr_block: plan.route_table_cidr.clone(),
        provider_name: Some(AwsPeerProviderName::Aws),
        // Read-only fields: Atlas fills them in.
        id: None,
        connection_id: None,
        status_name: None,
        error_state_name: None,
    });
    let sent = client
        .create_peer()
        .group_id(project)
        .body(request)
        .send()
        .await;
    let peer = match sent {
        Ok(peer) => {
            println!(
                "2. Requested peering connection {}: {}.",
                peer.id().unwrap_or("?"),
                peer.raw_status().unwrap_or("no status yet")
            );
            peer
        }
        Err(e) if e.error_code() == Some(&ApiErrorCode::PeerAlreadyExists) => {
            let peer = find_peer(session, &plan.vpc_id)
                .await?
                .ok_or("Atlas says the peering exists, but it is not in the listing")?;
            println!(
                "2. {} is already peered: connection {}.",
                plan.vpc_id,
                peer.id().unwrap_or("?")
            );
            peer
        }
        Err(e) => return Err(e.into()),
    };
    let peer_id = peer
        .id()
        .ok_or("Atlas answered without the connection's id")?
        .to_owned();

    // 3. Wait. Nothing happens on AWS's side until the request is accepted there.
    println!(
        "3. Waiting for AVAILABLE (at most {:?}). If AWS account {} has not accepted the request \
         yet, accept it in the VPC console under Peering connections.",
        wait.timeout(),
        plan.aws_account_id
    );
    match client.wait_peer_available(project, &peer_id, wait).await {
        Ok(peer) => {
            let pcx = match &peer {
                Peer::Aws(aws) => aws.connection_id.clone().flatten(),
                _ => None,
            };
            println!(
                "   {peer_id} is AVAILABLE (AWS connection {}).",
                pcx.as_deref().unwrap_or("not reported")
            );
            Ok(())
        }
        // Nobody accepted the request on AWS's side in time: nothing is wrong, but nothing
        // happens until someone does. Run the example again afterwards to see it AVAILABLE.
        Err(e)
            if e.wait_error().is_some_and(|w| {
                w.is_timeout() && w.last_status() == Some(&PeerStatus::WaitingForUser)
            }) =>
        {
            Err(format!(
                "{peer_id} still waits for AWS account {} to accept the request ({e})",
                plan.aws_account_id
            )
            .into())
        }
        // The connection failed (AWS's reason: REJECTED, EXPIRED, INVALID_ARGUMENT, ...).
        Err(atlas_network_peering::Error::Wait(failed))
            if matches!(*failed, WaitError::Failed { .. }) =>
        {
            let WaitError::Failed { status, detail } = *failed else {
                unreachable!("matched above")
            };
            Err(format!(
                "{peer_id} failed with status {}: {}",
                status.map_or_else(|| "none".to_owned(), |s| s.to_string()),
                detail.as_deref().unwrap_or("no reason given")
            )
            .into())
        }
        Err(e) => Err(format!("{peer_id} did not become available: {e}").into()),
    }
}

/// The project's AWS container in `region`, if there is one.
async fn find_container(session: &Session, region: &AwsRegion) -> Result<Option<String>, BoxError> {
    let paging = Paging::new()
        .items_per_page(MAX_ITEMS_PER_PAGE)
        .provider(CloudProvider::Aws);
    let mut containers = session.client.containers(&session.group_id, paging);
    while let Some(container) = containers.next().await {
        if let Container::Aws(aws) = container?
            && aws.region_name == *region
        {
            return Ok(aws.id.map(String::from));
        }
    }
    Ok(None)
}

/// The project's AWS peering connection with `vpc_id`, if there is one.
async fn find_peer(session: &Session, vpc_id: &str) -> Result<Option<Peer>, BoxError> {
    let paging = Paging::new()
        .items_per_page(MAX_ITEMS_PER_PAGE)
        .provider(CloudProvider::Aws);
    let mut peers = session.client.peers(&session.group_id, paging);
    while let Some(peer) = peers.next().await {
        let peer = peer?;
        if matches!(&peer, Peer::Aws(aws) if aws.vpc_id == vpc_id) {
            return Ok(Some(peer));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    /// The example, run against the recorded exchanges whatever the environment holds.
    #[tokio::test]
    async fn runs_against_the_recorded_exchanges() {
        let session = super::local_mock("test")
            .await
            .expect("the local mock starts");
        let wait = atlas_network_peering::waiter::WaitOptions::new()
            .with_initial_delay(std::time::Duration::from_millis(10))
            .with_timeout(std::time::Duration::from_secs(10));
        super::create_aws_peering(&session, &super::Plan::recorded(), wait)
            .await
            .expect("the example succeeds");
    }
}
