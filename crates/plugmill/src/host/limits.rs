//! [`Limits`]: how far one store may grow its memories, tables and instances; growing past
//! them fails the call with [`MemoryLimitExceeded`].

use wasmtime::ResourceLimiter;

/// The error a call fails with when it grows memory, tables or instances past its limit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MemoryLimitExceeded(pub String);

/// The growth limits of one store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Bytes one linear memory may grow to.
    pub(crate) max_memory_bytes: usize,
    /// Elements one table may grow to.
    pub(crate) max_table_elements: usize,
    /// Core instances, tables and memories one component instance may create.
    pub(crate) max_instances: usize,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded(format!(
                "linear memory would grow from {current} to {desired} bytes, over the limit of {} bytes",
                self.max_memory_bytes
            ))));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            return Err(wasmtime::Error::new(MemoryLimitExceeded(format!(
                "a table would grow from {current} to {desired} elements, over the limit of {}",
                self.max_table_elements
            ))));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_instances
    }

    fn memories(&self) -> usize {
        self.max_instances
    }
}
