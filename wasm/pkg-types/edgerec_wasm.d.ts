/* tslint:disable */
/* eslint-disable */

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



/**
 * A model loaded from artifact bytes, answering queries in the caller's thread.
 *
 * In JavaScript: `new Recommender(bytes)` with a `Uint8Array`; call `free()` when done.
 */
export class Recommender {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * For each listed item, up to three of the user's (or the session's) items behind its
     * score, largest share first: see `edgerec_core::Model::explain`.
     */
    explain(request: ExplainRequest): Because[][];
    /**
     * Facts about the loaded model.
     */
    info(): ModelInfo;
    /**
     * The 2-D item map: the artifact's, or computed from the item factors when it has none.
     */
    itemMap(): ItemMap;
    /**
     * Up to `limit` items from position `offset`, in ID order, with their categories.
     */
    items(offset: number, limit: number): ItemSummary[];
    /**
     * Loads a model from the bytes of a `.safetensors` artifact. Throws an `Error` that says
     * what is wrong with a missing, truncated or corrupt file.
     */
    constructor(bytes: Uint8Array | number[]);
    /**
     * The items a known user rated in training, in index order. Throws for an unknown user.
     */
    rated(userId: string): RatedItem[];
    /**
     * Top-N items for an anonymous visitor, folded in from their interactions with no
     * retraining. With no known items it returns the popular items and says why.
     */
    recommendFor(request: RecommendForRequest): Recommendations;
    /**
     * Top-N items for a known user. An unknown user gets the popular items, with
     * `source: "popular"` and a `reason`.
     *
     * With `interactions` (what the user just did in this session, oldest first), a known
     * user's list is shifted by them at once, with no retraining, and their items are left
     * out (`source: "session"`); an unknown user is folded in like an anonymous visitor.
     */
    recommend(request: RecommendRequest): Recommendations;
    /**
     * The `n` items most similar to `itemId` (cosine similarity of item factors).
     */
    similar(itemId: string, n: number): ScoredItem[];
    /**
     * Up to `limit` user IDs from position `offset`, in ID order.
     */
    users(offset: number, limit: number): string[];
}

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_recommender_free: (a: number, b: number) => void;
    readonly recommender_explain: (a: number, b: any) => [number, number, number];
    readonly recommender_info: (a: number) => [number, number, number];
    readonly recommender_itemMap: (a: number) => [number, number, number];
    readonly recommender_items: (a: number, b: number, c: number) => [number, number, number];
    readonly recommender_new: (a: number, b: number) => [number, number, number];
    readonly recommender_rated: (a: number, b: number, c: number) => [number, number, number];
    readonly recommender_recommend: (a: number, b: any) => [number, number, number];
    readonly recommender_recommendFor: (a: number, b: any) => [number, number, number];
    readonly recommender_similar: (a: number, b: number, c: number, d: number) => [number, number, number];
    readonly recommender_users: (a: number, b: number, c: number) => [number, number, number];
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
