//! Peers a project with an AWS VPC, the whole flow: finds the project's AWS container in a
//! region (or creates one), requests a peering connection with the VPC, waits for the
//! customer's step and prints the `pcx-` request to accept in the VPC's AWS account, waits
//! until the connection is AVAILABLE, saying what each poll saw, and with `--delete` removes it
//! again (and the container, if it made it).
//!
//! ```sh
//! # Against the local Atlas (no credentials in the environment): the whole round trip.
//! cargo run -p atlas-network-peering --example create_aws_peering
//!
//! # Against Atlas: prints the plan and changes nothing ...
//! cargo run -p atlas-network-peering --example create_aws_peering -- \
//!     --atlas-region EU_CENTRAL_1 --atlas-cidr 10.12.0.0/21 \
//!     --aws-account-id 730418265093 --vpc-id vpc-0b7d19e4c2a86f351 \
//!     --vpc-region eu-west-1 --route-table-cidr 172.20.0.0/16
//! # ... until `--yes` is added. This creates real resources: a container (if the region has
//! # none) and a peering connection; `--delete` removes them at the end.
//! ```
//!
//! After the request, AWS shows the peering connection in the VPC's account as a request to
//! accept (VPC console, Peering connections); Atlas reports it `PENDING_ACCEPTANCE`, with the
//! request's `pcx-` id in `connectionId`, until someone does (AWS lets it expire after 7
//! days). Against the local Atlas, the example accepts it in-process, as the customer would.
//! `--vpc-region` takes AWS's spelling (`eu-west-1`), `--atlas-region` either spelling.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use atlas_network_peering::models::{Container, Peer};
use atlas_network_peering::pagination::{ClientPaginationExt, MAX_ITEMS_PER_PAGE, Paging};
use atlas_network_peering::types::{AwsContainer, AwsPeer, AwsRegion, CloudProvider};
use atlas_network_peering::waiter::{CustomerStep, Poll, WaitOptions, WaiterExt};
use futures_util::StreamExt;
use support::{BoxError, Session};

/// What to create, from the command line (defaults fit the local Atlas).
#[derive(Debug)]
struct Plan {
    atlas_region: AwsRegion,
    atlas_cidr: String,
    aws_account_id: String,
    vpc_id: String,
    /// The VPC's region in AWS's spelling (`eu-west-1`); `None` when it is the container's.
    vpc_region: Option<String>,
    route_table_cidr: String,
    yes: bool,
    delete: bool,
}

fn parse(args: &[String]) -> Result<Plan, BoxError> {
    let mut plan = Plan {
        atlas_region: AwsRegion::EuCentral1,
        atlas_cidr: "10.12.0.0/21".into(),
        aws_account_id: "730418265093".into(),
        vpc_id: "vpc-0b7d19e4c2a86f351".into(),
        vpc_region: Some("eu-west-1".into()),
        route_table_cidr: "172.20.0.0/16".into(),
        yes: false,
        delete: false,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--atlas-region" => plan.atlas_region = atlas_region(&value()?)?,
            "--atlas-cidr" => plan.atlas_cidr = value()?,
            "--aws-account-id" => plan.aws_account_id = value()?,
            "--vpc-id" => plan.vpc_id = value()?,
            "--vpc-region" => plan.vpc_region = Some(value()?),
            "--route-table-cidr" => plan.route_table_cidr = value()?,
            "--yes" => plan.yes = true,
            "--delete" => plan.delete = true,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    Ok(plan)
}

/// A container region in AWS's spelling (`eu-central-1`) or Atlas's (`EU_CENTRAL_1`).
fn atlas_region(name: &str) -> Result<AwsRegion, BoxError> {
    let atlas = AwsRegion::from(name);
    Ok(if atlas.is_known() {
        atlas
    } else {
        AwsRegion::from_provider_name(name)?
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = async {
        let mut plan = parse(&args)?;
        let session = support::connect().await?;
        if session.is_local() {
            // The whole round trip, on the local Atlas.
            plan.yes = true;
            plan.delete = true;
        }
        create_aws_peering(&session, &plan).await?;
        session.finish();
        Ok::<_, BoxError>(())
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn create_aws_peering(session: &Session, plan: &Plan) -> Result<(), BoxError> {
    let client = &session.client;
    let project = session.group_id.as_str();
    let existing = find_container(session, &plan.atlas_region).await?;
    if !plan.yes {
        println!("Plan for project {project}: {plan:?}");
        match &existing {
            Some(id) => println!("Step 1 would reuse container {id}."),
            None => println!("Step 1 would create a container: the region has none."),
        }
        println!("Nothing was changed. Run again with --yes to create these resources on Atlas.");
        return Ok(());
    }

    // 1. A project has at most one AWS container per region: reuse it, or create it.
    let (container_id, created) = match existing {
        Some(id) => {
            println!("1. Reusing AWS container {id} in {}.", plan.atlas_region);
            (id, false)
        }
        None => {
            let container = client
                .create_container()
                .group_id(project)
                .body(AwsContainer::new(
                    &plan.atlas_cidr,
                    plan.atlas_region.clone(),
                ))
                .send()
                .await?;
            let id = container.id().ok_or("no container id")?.to_owned();
            println!("1. Created AWS container {id} with {}.", plan.atlas_cidr);
            (id, true)
        }
    };

    // 2. Request the peering. If this VPC is already peered, carry on with that one.
    let request = AwsPeer::new(
        &container_id,
        &plan.aws_account_id,
        &plan.vpc_id,
        &plan.route_table_cidr,
        plan.vpc_region.as_deref(),
    )?;
    let peer = match client
        .create_peer()
        .group_id(project)
        .body(request)
        .send()
        .await
    {
        Ok(peer) => peer,
        Err(e) if e.is_already_exists() => find_peer(session, &plan.vpc_id)
            .await?
            .ok_or("Atlas says the peering exists, but it is not in the listing")?,
        Err(e) => return Err(e.into()),
    };
    let peer_id = peer.id().ok_or("no peering id")?.to_owned();
    println!(
        "2. Peering connection {peer_id}: {}.",
        peer.raw_status().unwrap_or("?")
    );

    // 3. Wait for the customer's step: Atlas asks AWS for a VPC peering request (`pcx-...`)
    //    that the VPC's account must accept. Each poll says what it saw, in Atlas's words.
    let local = session.is_local();
    let delay = Duration::from_secs(if local { 1 } else { 5 });
    let progress = |poll: &Poll<'_>| match (poll.seen, poll.error) {
        (Some(seen), _) => println!("   {seen} after {} s", poll.elapsed.as_secs()),
        (None, error) => println!("   poll {} failed: {error:?}", poll.number),
    };
    let options = WaitOptions::new()
        .with_initial_delay(delay)
        .on_poll(progress);
    match client
        .wait_for_customer_step(project, &peer_id, options.clone())
        .await?
    {
        CustomerStep::AcceptAwsPeering { connection_id, .. } => {
            println!(
                "3. Accept {connection_id} in AWS account {} (VPC console, Peering connections),",
                plan.aws_account_id
            );
            println!(
                "   or: aws ec2 accept-vpc-peering-connection --vpc-peering-connection-id {connection_id}"
            );
            if let Some(sim) = &session.sim {
                // The local Atlas's AWS: accept as the customer would.
                sim.accept_peer(&connection_id);
                println!("   The local Atlas accepted {connection_id}, as the customer would.");
            }
        }
        CustomerStep::AlreadyAvailable(_) => println!("3. Already accepted."),
        other => return Err(format!("not an AWS step: {other:?}").into()),
    }

    // 4. Wait until it carries traffic (up to an hour, as Terraform does).
    let peer = client
        .wait_peer_available(project, &peer_id, options)
        .await?;
    println!(
        "4. {peer_id} is {}.",
        peer.raw_status().unwrap_or("without a status")
    );

    // 5. Tear down: the peering, then the container if this run made it. "Already gone" is done.
    if plan.delete {
        match client
            .delete_peer()
            .group_id(project)
            .peer_id(&peer_id)
            .send()
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_gone() => {}
            Err(e) => return Err(e.into()),
        }
        let options = WaitOptions::new().with_initial_delay(delay);
        client.wait_peer_deleted(project, &peer_id, options).await?;
        println!("5. Deleted peering connection {peer_id}.");
        if created {
            client
                .delete_container()
                .group_id(project)
                .container_id(&container_id)
                .send()
                .await?;
            println!("   Deleted container {container_id}.");
        }
    }
    Ok(())
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
        if let Peer::Aws(aws) = peer?
            && aws.vpc_id == vpc_id
        {
            return Ok(Some(Peer::Aws(aws)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use atlas_network_peering::pagination::ClientPaginationExt;

    #[tokio::test(start_paused = true)]
    async fn the_whole_round_trip_runs_against_the_local_atlas() {
        let session = super::support::local("test").await.unwrap();
        let mut plan = super::parse(&[]).unwrap();
        plan.yes = true;
        plan.delete = true;
        super::create_aws_peering(&session, &plan).await.unwrap();
        let sim = session.sim.as_ref().unwrap();
        // Container created, peering created, polled, deleted, container deleted: nothing left.
        let left = session
            .client
            .all_containers(&session.group_id, Default::default());
        assert_eq!(futures_util::StreamExt::count(left).await, 0);
        assert!(sim.requests() >= 8, "{}", sim.requests());
    }
}
