//! `--quantize`, `--index` and `--item-map`: how `trainer train` stores item factors for large
//! catalogues.

use edgerec_core::{AUTO_INDEX_MIN_ITEMS, IndexParams, ModelBuilder, Quantization};

use crate::train::index::add_index;

/// How item factors are stored in the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuantizeArg {
    /// 32-bit floats.
    None,
    /// One byte per value and one f16 scale per item.
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

/// Whether the artifact carries the 2-D item map (`item_projection`, 8 bytes per item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ItemMapArg {
    /// Stored for catalogues below 50,000 items, left out from there on (where `--index auto`
    /// starts too): at a million items it is 8 of about 100 bytes per item, and a page computes
    /// the map from the factors instead (`Model::item_map`).
    Auto,
    /// Always stored.
    On,
    /// Never stored.
    Off,
}

impl ItemMapArg {
    /// Whether a catalogue of `num_items` items gets the stored map.
    pub fn stored(self, num_items: usize) -> bool {
        match self {
            Self::Auto => num_items < AUTO_INDEX_MIN_ITEMS,
            Self::On => true,
            Self::Off => false,
        }
    }
}

/// `--quantize`, `--index` and `--item-map`, flattened into `trainer train`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// How to store the item factors in the artifact. `int8` and `f16` store the other
    /// per-item tables compactly too (format v5: categories in one or two bytes, no all-zero
    /// item biases).
    #[arg(long, value_enum, default_value = "none")]
    pub quantize: QuantizeArg,
    /// Whether to add an approximate (IVF) index for large catalogues.
    #[arg(long, value_enum, default_value = "auto")]
    pub index: IndexArg,
    /// Whether to store the 2-D item map (a PCA of the item factors) in the artifact.
    #[arg(long, value_enum, default_value = "auto")]
    pub item_map: ItemMapArg,
}

impl ScaleArgs {
    /// Sets the builder's item storage and, when chosen, the item map and the index (built
    /// and tuned here).
    pub fn apply(&self, b: &mut ModelBuilder) -> anyhow::Result<()> {
        let items = b.item_ids.len();
        b.item_projection =
            self.item_map.stored(items).then(|| edgerec_core::pca2(&b.item_factors, items, b.dim));
        b.item_quantization = match self.quantize {
            QuantizeArg::None => Quantization::F32,
            QuantizeArg::Int8 => Quantization::Int8,
            QuantizeArg::F16 => Quantization::F16,
        };
        // Whoever asks for compact factors is sizing a catalogue; plain f32 artifacts keep the
        // version older readers know.
        b.compact_item_tables = self.quantize != QuantizeArg::None;
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
