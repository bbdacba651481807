"""`crossgate run`: run a Zuul job on local (or listed) nodes with Zuul's semantics."""
