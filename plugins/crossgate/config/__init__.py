"""crossgate's one model of Zuul configuration, shared by `check` and `run`.

repositories (repo.py: files Zuul reads, parsed by Zuul's own configloader)
  -> one index (index.py: jobs, nodesets, semaphores, templates, projects by
     Zuul's project-name rule)
  -> a frozen job (freeze.py: parent chain, variants, variable precedence).

`crossgate check` turns what the index cannot resolve into findings;
`crossgate run` executes the frozen job.
"""
