//! EdgeRec wasm bindings.
