//! The topology printout of NCCL logs (GRAPH). Implemented by the topology work.
