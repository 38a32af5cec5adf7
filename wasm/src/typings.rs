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
  /** At most this many items of any one category (1 or more); `null` or absent: no cap. */
  maxPerCategory?: number | null;
  /** Rank only these items (e.g. search results); unknown IDs come back in `unknownItems`. */
  candidates?: string[] | null;
  /** Skip this many of the best items: the next page, without repeats (`offset + topN` <= 1000). An offset over 0 with no item left at or after it throws ("offset N is past the end"). */
  offset?: number;
  /**
   * What the user just did in this session, oldest first; `null` or absent means nothing.
   * A known user's list is shifted by them at once (`source: "session"`) and their items are
   * left out (with `excludeRated`); an unknown user is folded in like an anonymous visitor.
   */
  interactions?: Interaction[] | null;
}

/** One rating or click: of an anonymous visitor, or of a known user in this session. */
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
  /** At most this many items of any one category (1 or more); `null` or absent: no cap. */
  maxPerCategory?: number | null;
  /** Rank only these items (e.g. search results); unknown IDs come back in `unknownItems`. */
  candidates?: string[] | null;
  /** Skip this many of the best items: the next page, without repeats (`offset + topN` <= 1000). An offset over 0 with no item left at or after it throws ("offset N is past the end"). */
  offset?: number;
}

/** The argument of `explain()`: a list's items, and whom the list was for. */
export interface ExplainRequest {
  /** The user the list was for; absent or `null` for a visitor. */
  userId?: string | null;
  /** The session's or the visitor's interactions, oldest first, as given to the list. */
  interactions?: Interaction[] | null;
  itemIds: string[];
}

/** One of the user's items behind a listed item's score. */
export interface Because {
  itemId: string;
  /** Its share of the positive contributions to the listed item's score, in (0, 1]. */
  share: number;
}

/** How a list was produced. */
export type Source = "personalized" | "fold_in" | "popular" | "session";

export interface ScoredItem {
  itemId: string;
  index: number;
  /** Predicted rating, preference score, or cosine similarity for `similar()`. */
  score: number;
  /**
   * The predicted rating on the rating scale: the score of a rating model, the rating head's
   * prediction of a ranking model that has one; `null` otherwise and for `similar()`.
   */
  predictedRating: number | null;
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
  /** Whether the points are the artifact's stored projection; false when they were computed
   * from the item factors (the artifact leaves the map out, as large catalogues do). */
  stored: boolean;
}

export interface RecencyInfo {
  /** The weight of the recency component (0 turns it off). */
  weight: number;
  /** The decay per position, in (0, 1]. */
  decay: number;
  /** How many of the latest items are read. */
  window: number;
}

export interface SequenceInfo {
  /** How many of the latest items the network reads. */
  maxLen: number;
  /** Transformer blocks. */
  blocks: number;
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
  /** The recency component that shifts a known user's list by their latest items, if any. */
  recency: RecencyInfo | null;
  /** The factor dimension of a ranking model's rating head, if it has one. */
  ratingHeadDim: number | null;
  /**
   * The sequence network (self-attention over a user's latest items) that sessions and
   * anonymous visitors run, if the model has one (format version 4).
   */
  sequence: SequenceInfo | null;
  modelBytes: number;
}
"#;
