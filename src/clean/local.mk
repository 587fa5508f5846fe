# src/clean
