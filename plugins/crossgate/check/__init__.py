"""`crossgate check`: validate a Zuul config tree with Zuul's own parser, then
resolve the references the parser leaves open and apply the library's rules."""
