/* tslint:disable */
/* eslint-disable */
export const memory: WebAssembly.Memory;
export const __wbg_recommender_free: (a: number, b: number) => void;
export const recommender_explain: (a: number, b: any) => [number, number, number];
export const recommender_info: (a: number) => [number, number, number];
export const recommender_itemMap: (a: number) => [number, number, number];
export const recommender_items: (a: number, b: number, c: number) => [number, number, number];
export const recommender_new: (a: number, b: number) => [number, number, number];
export const recommender_rated: (a: number, b: number, c: number) => [number, number, number];
export const recommender_recommend: (a: number, b: any) => [number, number, number];
export const recommender_recommendFor: (a: number, b: any) => [number, number, number];
export const recommender_similar: (a: number, b: number, c: number, d: number) => [number, number, number];
export const recommender_users: (a: number, b: number, c: number) => [number, number, number];
export const __wbindgen_malloc: (a: number, b: number) => number;
export const __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
export const __wbindgen_free: (a: number, b: number, c: number) => void;
export const __wbindgen_exn_store: (a: number) => void;
export const __externref_table_alloc: () => number;
export const __wbindgen_externrefs: WebAssembly.Table;
export const __externref_table_dealloc: (a: number) => void;
export const __wbindgen_start: () => void;
