//! `trainer generate`: realistic demo behaviour data. (Skeleton: the Data issue fills it in.)

/// Arguments of `trainer generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Number of users.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
}

/// Runs `trainer generate`.
pub fn run(_args: &GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!("generate is not implemented yet")
}
