//! MySQL/MariaDB connections shared by the MySQL source, the synthetic data's bulk writer and
//! `trainer ingest`: errors that name host and port (never the password), validated and quoted
//! identifiers, and a small runtime to block on; the tables they share are in [`schema`].
//!
//! Every session runs with `time_zone = '+00:00'`, so DATETIME columns round-trip Unix seconds
//! exactly.

use anyhow::Context as _;
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, Opts, OptsBuilder};

pub(crate) mod infile;
pub mod schema;

pub use schema::{CURSOR_TABLE, ERASURE_CURSOR_TABLE};

/// A parsed database URL with what error messages may show.
#[derive(Debug, Clone)]
pub struct Target {
    opts: Opts,
    /// `host:port`.
    pub address: String,
    /// The user name.
    pub user: String,
    /// The database the URL selects.
    pub database: Option<String>,
}

impl Target {
    /// Parses a `mysql://user:password@host:port/database` URL. Errors show it without the
    /// password.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let opts = Opts::from_url(url)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("invalid database URL {}", redact(url)))?;
        Ok(Self {
            address: format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port()),
            user: opts.user().unwrap_or("").to_owned(),
            database: opts.db_name().map(str::to_owned),
            opts,
        })
    }

    /// Connects and sets the session time zone to UTC.
    pub async fn connect(&self) -> anyhow::Result<Conn> {
        let opts = OptsBuilder::from_opts(self.opts.clone()).prefer_socket(false);
        let connect = async {
            let mut conn = Conn::new(opts).await?;
            conn.query_drop("SET time_zone = '+00:00'").await?;
            Ok::<_, mysql_async::Error>(conn)
        };
        match tokio::time::timeout(std::time::Duration::from_secs(30), connect).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(mysql_async::Error::Io(mysql_async::IoError::Io(io)))) => {
                Err(anyhow::anyhow!("{}", one_line(&io.to_string())))
                    .with_context(|| self.describe("connecting to"))
            }
            Ok(Err(err)) => Err(db_error(err)).with_context(|| self.describe("connecting to")),
            Err(_) => {
                Err(anyhow::anyhow!("timed out after 30 s")).with_context(|| self.describe("connecting to"))
            }
        }
    }

    /// `"{verb} MySQL at host:port as user `u`"`.
    pub fn describe(&self, verb: &str) -> String {
        format!("{verb} MySQL at {} as user `{}`", self.address, self.user)
    }

    /// The database name, or an error saying the URL lacks one.
    pub fn require_database(&self) -> anyhow::Result<&str> {
        self.database
            .as_deref()
            .with_context(|| format!("the database URL for {} names no database (…/DATABASE)", self.address))
    }
}

/// A driver error as one plain message (its own text only, so the chain does not repeat it).
pub fn db_error(err: mysql_async::Error) -> anyhow::Error {
    #[allow(unreachable_patterns, reason = "IoError has a TLS variant only with TLS features")]
    match err {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            anyhow::anyhow!("connection lost: {}", one_line(&io.to_string()))
        }
        mysql_async::Error::Server(server) => anyhow::anyhow!("{}", one_line(&server.to_string())),
        other => anyhow::anyhow!("{}", one_line(&other.to_string())),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return "(unparsable URL)".to_owned() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.to_owned() };
    format!("{}{masked}{}", &url[..scheme_end + 3], &rest[at..])
}

/// A validated identifier: 1–64 characters of ASCII letters, digits, `_` and `$`, not all
/// digits. Returns it backtick-quoted.
pub fn quote_ident(name: &str) -> anyhow::Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        && !name.bytes().all(|b| b.is_ascii_digit());
    anyhow::ensure!(ok, "invalid identifier {name:?}: use 1-64 ASCII letters, digits, `_` or `$`");
    Ok(format!("`{name}`"))
}

/// A table name, `table` or `database.table`, resolved against the URL's database.
#[derive(Debug, Clone)]
pub struct TableName {
    /// Database (schema).
    pub schema: String,
    /// Table.
    pub table: String,
}

impl TableName {
    /// Validates `name` (`table` or `database.table`).
    pub fn parse(name: &str, target: &Target) -> anyhow::Result<Self> {
        let (schema, table) = match name.split_once('.') {
            Some((s, t)) => (s.to_owned(), t.to_owned()),
            None => (target.require_database()?.to_owned(), name.to_owned()),
        };
        quote_ident(&schema)?;
        quote_ident(&table)?;
        Ok(Self { schema, table })
    }

    /// The quoted `` `schema`.`table` ``.
    pub fn quoted(&self) -> String {
        format!("`{}`.`{}`", self.schema, self.table)
    }

    /// Like `quoted`, with a suffix on the table name (for staging tables).
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self { schema: self.schema.clone(), table: format!("{}{suffix}", self.table) }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`.`{}`", self.schema, self.table)
    }
}

/// The columns of `table`, or `None` when it does not exist.
pub async fn table_columns(conn: &mut Conn, table: &TableName) -> anyhow::Result<Option<Vec<String>>> {
    let cols: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&table.schema, &table.table),
        )
        .await
        .with_context(|| format!("looking up the columns of {table}"))?;
    Ok((!cols.is_empty()).then_some(cols))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// Runs `fut` on a fresh single-threaded runtime.
pub fn block_on<T>(fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    runtime()?.block_on(fut)
}
