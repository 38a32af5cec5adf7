//! EdgeRec worker.
