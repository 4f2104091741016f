// Filled in by its own issue; re-exported from the package root.
export {};
