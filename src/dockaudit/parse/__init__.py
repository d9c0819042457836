"""Pure parsers: text and JSON in, typed facts out; no engine, no UI."""
