//! `nvidia-smi topo -m` matrices. Implemented by the topology work.
