// placeholder: replaced by the package's implementation
export const packageName = '@tsvmm/guest-memory'
