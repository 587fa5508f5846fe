# src/data core: Fashion-MNIST IDX source, prefetching loader
