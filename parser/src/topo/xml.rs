//! NCCL topology / graph XML (quick-xml, streaming, iterative). Implemented by the topology work.
