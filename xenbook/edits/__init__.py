"""Pure text edits: text in, text out, no I/O; one module per file format."""
