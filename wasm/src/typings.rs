//! TypeScript declarations of the plain objects that cross the boundary (see [`crate::dto`]).
//! wasm-bindgen copies them into the generated `.d.ts`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** The argument of `recommend()`. */
export interface RecommendRequest {
  userId: string;
  /** 1..=1000, default 10. */
  topN?: number;
  /** Leave out items the user rated in training (default true). */
  excludeRated?: boolean;
  excludeItems?: string[];
  /** Only these categories; `null` or absent means all. */
  categories?: string[] | null;
}

/** One rating or click of an anonymous visitor. */
export interface Interaction {
  itemId: string;
  /** A rating for rating models, a behaviour weight for ranking models. */
  rating: number;
}

/** The argument of `recommendFor()`. */
export interface RecommendForRequest {
  interactions: Interaction[];
  /** 1..=1000, default 10. */
  topN?: number;
  /** Leave out the items the visitor interacted with (default true). */
  excludeRated?: boolean;
  excludeItems?: string[];
  categories?: string[] | null;
}

/** How a list was produced. */
export type Source = "personalized" | "fold_in" | "popular";

export interface ScoredItem {
  itemId: string;
  index: number;
  /** Predicted rating, preference score, or cosine similarity for `similar()`. */
  score: number;
  category: string | null;
}

export interface Recommendations {
  /** Best first. */
  items: ScoredItem[];
  source: Source;
  /** Why the popular items were returned, when they were. */
  reason: string | null;
  /** Interaction item IDs the model does not know. */
  unknownItems: string[];
}

export interface ItemSummary {
  itemId: string;
  index: number;
  category: string | null;
}

export interface RatedItem {
  itemId: string;
  index: number;
  rating: number;
  category: string | null;
}

export interface MapPoint {
  itemId: string;
  index: number;
  x: number;
  y: number;
  category: string | null;
}

export interface ItemMap {
  categories: string[];
  /** One point per item, in index order. */
  points: MapPoint[];
}

export interface ModelInfo {
  formatVersion: number;
  kind: "rating" | "ranking";
  dim: number;
  numUsers: number;
  numItems: number;
  numInteractions: number;
  categories: string[];
  createdAt: string | null;
  ratingRange: [number, number] | null;
  hasProjection: boolean;
  modelBytes: number;
}
"#;
