//! The conformance suite on [`MemoryStore`].

use parley_store::MemoryStore;

crate::conformance_suite!((MemoryStore::new(), ()));
