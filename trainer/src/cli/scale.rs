//! `--quantize` and `--index`: how `trainer train` stores item factors for large catalogues.

use edgerec_core::{IndexParams, ModelBuilder, Quantization};

use crate::train::index::add_index;

/// How item factors are stored in the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuantizeArg {
    /// 32-bit floats.
    None,
    /// One byte per value and one f32 scale per item.
    Int8,
    /// Half precision.
    F16,
}

/// Whether the artifact gets an approximate index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexArg {
    /// An IVF index for catalogues of 50,000 items or more (about √items lists), none below.
    Auto,
    /// Exact search only.
    None,
}

/// `--quantize` and `--index`, flattened into `trainer train`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// How to store the item factors in the artifact.
    #[arg(long, value_enum, default_value = "none")]
    pub quantize: QuantizeArg,
    /// Whether to add an approximate (IVF) index for large catalogues.
    #[arg(long, value_enum, default_value = "auto")]
    pub index: IndexArg,
}

impl ScaleArgs {
    /// Sets the builder's item storage and, when chosen, builds and tunes the index.
    pub fn apply(&self, b: &mut ModelBuilder) -> anyhow::Result<()> {
        b.item_quantization = match self.quantize {
            QuantizeArg::None => Quantization::F32,
            QuantizeArg::Int8 => Quantization::Int8,
            QuantizeArg::F16 => Quantization::F16,
        };
        let params = match self.index {
            IndexArg::None => None,
            IndexArg::Auto => IndexParams::auto(b.item_ids.len()),
        };
        if let Some(params) = params {
            add_index(b, &params)?;
        }
        Ok(())
    }
}
