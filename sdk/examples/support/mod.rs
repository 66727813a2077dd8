//! What the examples share: deciding whether to talk to Atlas or to a local mock, and the mock
//! itself, which answers with the recorded exchanges of `fixtures/`.
//!
//! Not an example of its own (cargo only builds `examples/*.rs` and `examples/*/main.rs`);
//! each example includes it with `mod support;`.

// Each example uses only part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer};
use serde_json::{Map, Value};

/// The error type of the examples' own functions.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the recorded exchanges live; read at run time, so a new fixture needs no rebuild.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// The imaginary project every recorded exchange belongs to.
pub const RECORDED_PROJECT: &str = "6f1c2a9e4b7d3e0a1c5f8b21";

/// The variable the examples read the project id from (the sdk itself takes it per call).
pub const GROUP_ID_VAR: &str = "MONGODB_ATLAS_GROUP_ID";

/// A client, the project to work on, and the local mock when there is one.
pub struct Session {
    /// The client, for Atlas or for the local mock.
    pub client: atlas_network_peering::Client,
    /// The project (Atlas calls it a group).
    pub group_id: String,
    /// The base URL the client talks to.
    pub base_url: String,
    /// The local mock; `None` against Atlas. Kept here so that it lives as long as the client.
    pub mock: Option<MockServer>,
}

impl Session {
    /// Whether the client talks to the local mock.
    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    /// The closing line every example prints, so that nobody mistakes a mock run for a real one.
    pub fn finish(&self) {
        if self.is_mock() {
            println!(
                "\nRan against the local mock at {} with the recorded exchanges of fixtures/; \
                 nothing left this machine.\nSet MONGODB_ATLAS_* credentials and {GROUP_ID_VAR} \
                 to run against Atlas.",
                self.base_url
            );
        } else {
            println!("\nRan against Atlas at {}.", self.base_url);
        }
    }
}

/// Atlas, when the environment has credentials (`atlas_network_peering::Config::from_env` succeeds) and
/// `MONGODB_ATLAS_GROUP_ID`; otherwise the reason why not.
pub fn atlas_from_env() -> Result<Session, String> {
    let config = match atlas_network_peering::Config::from_env() {
        Ok(config) => config,
        Err(atlas_network_peering::config::ConfigError::MissingCredentials { .. }) => {
            return Err("no MONGODB_ATLAS_* credentials in the environment".to_owned());
        }
        Err(e) => {
            return Err(format!(
                "the Atlas settings in the environment are unusable: {e}"
            ));
        }
    };
    let group_id = std::env::var(GROUP_ID_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("credentials are set but {GROUP_ID_VAR} is not"))?;
    let base_url = config.base_url().to_owned();
    let client = atlas_network_peering::Client::from_config(config).map_err(|e| e.to_string())?;
    println!("Running against Atlas at {base_url}, project {group_id}.\n");
    Ok(Session {
        client,
        group_id: group_id.trim().to_owned(),
        base_url,
        mock: None,
    })
}

/// Atlas if the environment allows it (see [`atlas_from_env`]), else a local mock serving the
/// named recorded exchanges (`"<operation>/<name>"`, as under `fixtures/`).
pub async fn connect(recorded: &[&str]) -> Result<Session, BoxError> {
    match atlas_from_env() {
        Ok(session) => Ok(session),
        Err(why) => local(recorded, &why).await,
    }
}

/// A local mock serving the named recorded exchanges, whatever the environment says.
pub async fn local(recorded: &[&str], why: &str) -> Result<Session, BoxError> {
    let mock = LocalMock::start().await;
    for name in recorded {
        mock.replay(name).await?;
    }
    mock.into_session(why).await
}

/// One recorded exchange of `fixtures/`.
pub struct Fixture {
    /// `<operation>/<name>`.
    pub name: String,
    /// The request: `method`, `path`, `query`, `headers`, `body`.
    pub request: Map<String, Value>,
    /// The response: `status`, `headers`, `body` or `body_text`.
    pub response: Map<String, Value>,
}

impl Fixture {
    /// Reads `fixtures/<name>.json`.
    pub fn load(name: &str) -> Result<Self, BoxError> {
        let path = PathBuf::from(FIXTURES).join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut value: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a fixture: {e}", path.display()))?;
        let mut part = |key: &str| match value.remove(key) {
            Some(Value::Object(map)) => Ok(map),
            _ => Err(format!("{} has no `{key}` object", path.display())),
        };
        Ok(Self {
            name: name.to_owned(),
            request: part("request")?,
            response: part("response")?,
        })
    }

    /// The recorded response body, decoded as `T`.
    pub fn response_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, BoxError> {
        let body = self
            .response
            .get("body")
            .cloned()
            .ok_or_else(|| format!("{} records no response body", self.name))?;
        serde_json::from_value(body)
            .map_err(|e| format!("the response body of {} does not decode: {e}", self.name).into())
    }

    fn text(&self, part: &Map<String, Value>, key: &str) -> Result<String, BoxError> {
        part.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{} has no `{key}` string", self.name).into())
    }
}

/// A fixture value that should be a string (query and header values).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether the query of a request is the recorded one. The pagination streams add paging
/// parameters that a recording may leave out; they match when they ask for what leaving them
/// out asks for: `pageNum=1`, any `includeCount` (it only adds `totalCount`), and an
/// `itemsPerPage` that holds the whole recorded page.
fn query_matches(
    recorded: &Map<String, Value>,
    page_len: usize,
    sent: &[(String, String)],
) -> bool {
    let recorded_ok = recorded
        .iter()
        .all(|(name, value)| sent.iter().any(|(n, v)| n == name && *v == as_text(value)));
    let extra_ok = sent
        .iter()
        .filter(|(name, _)| !recorded.contains_key(name))
        .all(|(name, value)| match name.as_str() {
            "pageNum" => value == "1",
            "includeCount" => true,
            "itemsPerPage" => value.parse::<usize>().is_ok_and(|n| n >= page_len),
            _ => false,
        });
    recorded_ok && extra_ok
}

/// A mock server on 127.0.0.1, started by the example itself.
pub struct LocalMock {
    /// The httpmock server.
    pub server: MockServer,
}

impl LocalMock {
    /// Starts the server.
    pub async fn start() -> Self {
        Self {
            server: MockServer::start_async().await,
        }
    }

    /// Serves the recorded response of `fixtures/<name>.json` to a request equal to the
    /// recorded one: method, path, query (see [`query_matches`]), recorded headers and JSON
    /// body (or no body). When two fixtures record the same request, the first served wins.
    pub async fn replay(&self, name: &str) -> Result<Mock<'_>, BoxError> {
        let fixture = Fixture::load(name)?;
        let method = fixture.text(&fixture.request, "method")?;
        let path = fixture.text(&fixture.request, "path")?;
        let status = fixture
            .response
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("{name} has no response status"))?;
        let query = match fixture.request.get("query") {
            Some(Value::Object(query)) => query.clone(),
            _ => Map::new(),
        };
        let page_len = fixture
            .response
            .get("body")
            .and_then(|b| b.get("results"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let body = match (
            fixture.response.get("body"),
            fixture.response.get("body_text"),
        ) {
            (Some(body), _) => Some(serde_json::to_string(body)?),
            (None, Some(Value::String(text))) => Some(text.clone()),
            _ => None,
        };
        let mock = self
            .server
            .mock_async(|when, then| {
                let mut when = when.method(method.as_str()).path(path.as_str());
                if let Some(Value::Object(headers)) = fixture.request.get("headers") {
                    for (header, value) in headers {
                        when = when.header(header.as_str(), as_text(value));
                    }
                }
                when = match fixture.request.get("body") {
                    Some(body) => when.json_body(body.clone()),
                    None => when.is_true(|r: &HttpMockRequest| r.body_ref().is_empty()),
                };
                when.is_true(move |r: &HttpMockRequest| {
                    query_matches(&query, page_len, &r.query_params())
                });

                let mut then = then.status(status);
                if let Some(Value::Object(headers)) = fixture.response.get("headers") {
                    for (header, value) in headers {
                        then = then.header(header.as_str(), as_text(value));
                    }
                }
                if let Some(body) = body {
                    then.body(body);
                }
            })
            .await;
        Ok(mock)
    }

    /// Answers every request no mock took with 501 and a sentence naming it, so that it
    /// cannot pass for an Atlas answer (httpmock's own answer would be a 404), then builds the
    /// session. Call it after the last mock is registered: httpmock tries mocks in the order
    /// they were made.
    pub async fn into_session(self, why: &str) -> Result<Session, BoxError> {
        self.server
            .mock_async(|when, then| {
                when.any_request();
                then.respond_with(|r: &HttpMockRequest| {
                    let text = format!(
                        "the local mock has no recorded exchange for {} {}",
                        r.method(),
                        r.uri()
                    );
                    HttpMockResponse::builder()
                        .status(501)
                        .header("content-type", "text/plain")
                        .body(text)
                        .build()
                });
            })
            .await;
        let base_url = self.server.base_url();
        let client = atlas_network_peering::Client::from_config(
            atlas_network_peering::Config::new().with_base_url(&base_url)?,
        )?;
        println!(
            "Running against a local mock server at {base_url} that answers with recorded \
             exchanges from fixtures/ ({why}).\n"
        );
        Ok(Session {
            client,
            group_id: RECORDED_PROJECT.to_owned(),
            base_url,
            mock: Some(self.server),
        })
    }
}
